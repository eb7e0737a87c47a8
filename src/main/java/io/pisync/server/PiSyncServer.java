package io.pisync.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.javalin.plugin.bundled.CorsPlugin;
import io.javalin.router.Endpoint;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pisync.auth.Guard;
import io.pisync.compat.CompatRoutes;
import io.pisync.device.DeviceRoutes;
import io.pisync.device.DeviceStore;
import io.pisync.http.ApiProblem;
import io.pisync.http.ClientAddress;
import io.pisync.http.Json;
import io.pisync.http.JsonBody;
import io.pisync.http.Routes;
import io.pisync.sync.RecordSync;
import io.pisync.telemetry.EventParser;
import io.pisync.telemetry.EventStore;
import io.pisync.telemetry.EventWriter;
import io.pisync.telemetry.IngestMetrics;
import io.pisync.telemetry.Ingestion;
import io.pisync.telemetry.PartitionMaintenance;
import io.pisync.telemetry.TelemetryRoutes;
import java.sql.SQLException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the features onto one Javalin server over one database. */
public final class PiSyncServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PiSyncServer.class);

  private final Database database;
  private final EventWriter writer;
  private final PartitionMaintenance partitions;
  private final RecordSync sync;
  private final io.pisync.auth.Security security;
  private final Javalin app;
  private final Routes routes;

  private PiSyncServer(
      Database database,
      EventWriter writer,
      PartitionMaintenance partitions,
      RecordSync sync,
      io.pisync.auth.Security security,
      Javalin app,
      Routes routes) {
    this.database = database;
    this.writer = writer;
    this.partitions = partitions;
    this.sync = sync;
    this.security = security;
    this.app = app;
    this.routes = routes;
  }

  /** Opens the database, migrates it and starts serving HTTP. */
  public static PiSyncServer start(Config config, InstantSource clock) {
    var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    bindJvmMetrics(registry);
    Database database = Database.open(config, registry);
    EventWriter writer = null;
    PartitionMaintenance partitions = null;
    RecordSync sync = null;
    io.pisync.auth.Security security = null;
    try {
      partitions = new PartitionMaintenance(database.dataSource(), clock);
      partitions.start();
      ObjectMapper mapper =
          Json.newMapper(config.security().jsonMaxDepth(), config.security().jsonMaxTokens());
      mapper.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
      security =
          io.pisync.auth.Security.start(
              config, database.dataSource(), database::openDedicated, mapper, clock);
      var store = new EventStore(database.dataSource());
      var ingestMetrics = new IngestMetrics(registry);
      writer =
          new EventWriter(
              store,
              ingestMetrics,
              registry,
              config.writerQueueCapacity(),
              config.writerMaxBatch(),
              config.writerThreads(),
              Duration.ofSeconds(config.writerCommitTimeoutSeconds()));
      var ingestion = new Ingestion(writer, store, ingestMetrics, clock);
      var devices = new DeviceStore(database.dataSource(), clock);
      Duration skew = Duration.ofHours(config.clockSkewHours());

      var routes = new Routes();
      security.register(routes);
      new DeviceRoutes(devices).register(routes);
      new TelemetryRoutes(
              ingestion,
              store,
              new EventParser(EventParser.Mode.STRICT, clock, skew),
              mapper,
              config.maxBatchEvents(),
              devices::missing)
          .register(routes);
      new CompatRoutes(
              ingestion,
              database.dataSource(),
              devices,
              new EventParser(EventParser.Mode.FIELD, clock, skew),
              mapper,
              clock)
          .register(routes);
      sync =
          new RecordSync(
              database.dataSource(), database::openDedicated, mapper, clock, config.sync());
      sync.register(routes);
      bindSyncMetrics(registry, sync);
      new OperationsRoutes(database, registry).register(routes);

      Javalin app = createApp(config, mapper, registry, routes, security.guard());
      sync.start();
      app.start(config.host(), config.port());
      for (var connector : app.jettyServer().server().getConnectors()) {
        if (connector instanceof org.eclipse.jetty.server.AbstractConnector c) {
          c.setIdleTimeout(config.security().idleTimeout().toMillis());
        }
      }
      log.info("PiSync listening on http://{}:{}", config.host(), app.port());
      return new PiSyncServer(database, writer, partitions, sync, security, app, routes);
    } catch (RuntimeException | SQLException e) {
      if (sync != null) sync.close();
      if (security != null) security.close();
      if (writer != null) writer.close();
      if (partitions != null) partitions.close();
      database.close();
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
  }

  private static void bindJvmMetrics(PrometheusMeterRegistry registry) {
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  private static void bindSyncMetrics(PrometheusMeterRegistry registry, RecordSync sync) {
    io.micrometer.core.instrument.Gauge.builder(
            "pisync.sync.streams", sync.streams(), s -> s.open())
        .description("sync streams open")
        .register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder(
            "pisync.sync.pokes", sync.streams(), s -> s.pokes())
        .description("pokes sent on sync streams")
        .register(registry);
  }

  /** Connections waiting to be accepted (the kernel caps it at net.core.somaxconn). */
  private static final int ACCEPT_QUEUE = 1024;

  private static Javalin createApp(
      Config config,
      ObjectMapper mapper,
      PrometheusMeterRegistry registry,
      Routes routes,
      Guard guard) {
    var problems = new Problems(mapper, routes);
    var accessLog = new AccessLog(registry);
    return Javalin.create(cfg -> {
      cfg.concurrency.useVirtualThreads = true;
      cfg.http.maxRequestSize = config.maxBodyBytes();
      // Javalin copies every response through a buffer of this size, allocated per request; its
      // default (Jetty's 32 KiB output buffer) was a tenth of the JVM's time on small answers.
      cfg.http.responseBufferSize = 8192;
      cfg.http.prefer405over404 = true;
      var clientAddress = new ClientAddress(config.security().trustedProxies());
      cfg.contextResolver.ip = clientAddress::of;
      cfg.http.defaultContentType = "application/json";
      cfg.startup.showJavalinBanner = false;
      cfg.jsonMapper(new JavalinJackson(mapper, true));
      cfg.jetty.modifyServer(server -> {
        server.setStopTimeout(5_000);
        server.setErrorHandler(new JettyProblemHandler());
        server.addEventListener(
            new LifeCycle.Listener() {
              @Override
              public void lifeCycleStarting(LifeCycle event) {
                // Before the connectors bind. Jetty's default backlog is the JDK's 50: when a
                // classroom's devices reconnect at once, the kernel drops (or resets) the rest.
                for (var connector : server.getConnectors()) {
                  if (connector instanceof ServerConnector c) c.setAcceptQueueSize(ACCEPT_QUEUE);
                }
              }
            });
      });
      cfg.jetty.modifyHttpConfiguration(http -> {
        http.setSendServerVersion(false);
        http.setIdleTimeout(config.security().idleTimeout().toMillis());
      });
      if (!config.security().corsOrigins().isEmpty()) {
        List<String> origins = config.security().corsOrigins();
        cfg.registerPlugin(
            new CorsPlugin(cors ->
                cors.addRule(rule -> {
                  rule.allowHost(
                      origins.getFirst(),
                      origins.subList(1, origins.size()).toArray(String[]::new));
                  rule.exposeHeader("RateLimit-Limit");
                  rule.exposeHeader("RateLimit-Remaining");
                  rule.exposeHeader("RateLimit-Reset");
                  rule.exposeHeader("Retry-After");
                  rule.exposeHeader("X-Request-Id");
                })));
      }
      cfg.requestLogger.http(accessLog::log);
      cfg.routes.before(ctx -> {
        RequestIds.assign(ctx);
        SecurityHeaders.apply(ctx);
        ctx.attribute(JsonBody.MAX_BODY_BYTES, config.maxBodyBytes());
      });
      for (Routes.Route route : routes.all()) {
        var handler = guard.protect(route);
        Handler endpoint =
            ctx -> {
              handler.handle(ctx);
              // a 204 has no body, so no body type either (Javalin gives every answer one);
              // here, not in an after-handler, which would take the route's name in logs
              if (ctx.status().getCode() == 204) ctx.res().setContentType(null);
            };
        cfg.routes.addEndpoint(new Endpoint(route.method(), route.path(), endpoint));
        // Javalin answers HEAD for a GET route with an empty 200 of its own, skipping the guard
        // and the handler; HEAD runs as GET does (Jetty drops the body), so it is answered with
        // the GET's status and headers, and needs the same credentials
        if (route.method() == HandlerType.GET) {
          cfg.routes.addEndpoint(new Endpoint(HandlerType.HEAD, route.path(), endpoint));
        }
      }
      cfg.routes.exception(ApiProblem.class, problems::render);
      cfg.routes.exception(
          HttpResponseException.class,
          (e, ctx) -> problems.render(problems.fromJavalin(e, ctx), ctx));
      cfg.routes.exception(
          SQLException.class, (e, ctx) -> problems.render(problems.fromSql(e, ctx), ctx));
      cfg.routes.exception(
          Exception.class, (e, ctx) -> problems.render(problems.unexpected(e, ctx), ctx));
      for (int status : new int[] {404, 405, 413}) {
        cfg.routes.error(
            status,
            ctx -> {
              if (!isProblem(ctx)) {
                problems.render(
                    problems.fromJavalin(new HttpResponseException(status, ""), ctx), ctx);
              }
            });
      }
    });
  }

  private static boolean isProblem(Context ctx) {
    String type = ctx.res().getContentType();
    return type != null && type.startsWith(Problems.CONTENT_TYPE);
  }

  public int port() {
    return app.port();
  }

  public Routes routes() {
    return routes;
  }

  /** Security: its clean-up of expired rows (tests run it on demand). */
  public io.pisync.auth.Security security() {
    return security;
  }

  /** Record sync: its purge job (tests run it on demand) and its streams. */
  public RecordSync sync() {
    return sync;
  }

  /** Ends sync streams, stops taking requests, commits queued events, then closes the database. */
  @Override
  public void close() {
    sync.close();
    app.stop();
    security.close();
    writer.close();
    partitions.close();
    database.close();
    log.info("PiSync stopped");
  }
}
