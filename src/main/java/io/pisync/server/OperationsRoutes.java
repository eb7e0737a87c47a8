package io.pisync.server;

import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pisync.auth.Access;
import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;
import io.pisync.http.Routes;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.regex.Pattern;

/** Probes, metrics and the API description, all served from the jar with no internet. */
final class OperationsRoutes {
  static final String SWAGGER_UI = "META-INF/resources/webjars/swagger-ui/5.34.1/";
  private static final Pattern ASSET = Pattern.compile("[A-Za-z0-9._-]{1,80}");
  private static final Map<String, String> TYPES =
      Map.of(
          "css", "text/css",
          "js", "text/javascript",
          "png", "image/png",
          "html", "text/html; charset=utf-8",
          "map", "application/json");

  private final Database database;
  private final PrometheusMeterRegistry registry;

  OperationsRoutes(Database database, PrometheusMeterRegistry registry) {
    this.database = database;
    this.registry = registry;
  }

  void register(Routes routes) {
    routes
        .get("/health/live", Access.PUBLIC, ctx -> ctx.json(Map.of("status", "up")))
        .get("/health/ready", Access.PUBLIC, this::ready)
        .get("/metrics", Access.METRICS, this::metrics)
        .get("/openapi.json", Access.PUBLIC, ctx -> serve(ctx, "openapi.json", "application/json"))
        .get("/docs", Access.PUBLIC, ctx -> serve(ctx, "docs.html", "text/html; charset=utf-8"))
        .get("/docs/assets/{file}", Access.PUBLIC, this::asset);
  }

  private void ready(Context ctx) {
    if (database.ready()) {
      ctx.json(Map.of("status", "ready", "database", "up"));
    } else {
      throw ApiProblem.retryLater(
          ProblemType.DATABASE_UNAVAILABLE, "the database does not answer", 5);
    }
  }

  private void metrics(Context ctx) {
    ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(registry.scrape());
  }

  private void asset(Context ctx) {
    String file = ctx.pathParam("file");
    if (!ASSET.matcher(file).matches()) {
      throw new ApiProblem(ProblemType.NOT_FOUND, "no asset " + file);
    }
    String extension = file.substring(file.lastIndexOf('.') + 1);
    serve(ctx, SWAGGER_UI + file, TYPES.getOrDefault(extension, "application/octet-stream"));
  }

  private static void serve(Context ctx, String resource, String contentType) {
    InputStream in = OperationsRoutes.class.getClassLoader().getResourceAsStream(resource);
    if (in == null) {
      throw new ApiProblem(ProblemType.NOT_FOUND, "no resource " + ctx.path());
    }
    try (in) {
      ctx.contentType(contentType).result(in.readAllBytes());
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource, e);
    }
  }
}
