package io.pisync.server;

import static net.logstash.logback.argument.StructuredArguments.kv;

import io.javalin.http.Context;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One JSON log line and one latency sample per request, tagged by route template and status. */
final class AccessLog {
  private static final Logger log = LoggerFactory.getLogger("pisync.access");

  private final MeterRegistry registry;

  AccessLog(MeterRegistry registry) {
    this.registry = registry;
  }

  void log(Context ctx, Float millis) {
    String route = route(ctx);
    String status = Integer.toString(ctx.statusCode());
    Timer.builder("http.server.requests")
        .description("HTTP request latency")
        .tags("method", ctx.method().name(), "route", route, "status", status)
        .publishPercentileHistogram()
        .register(registry)
        .record((long) (millis * 1_000_000L), TimeUnit.NANOSECONDS);
    log.info(
        "{} {} {}",
        kv("method", ctx.method().name()),
        kv("path", ctx.path()),
        kv("status", ctx.statusCode()),
        kv("route", route),
        kv("duration_ms", Math.round(millis * 100) / 100.0),
        kv("request_id", RequestIds.of(ctx)),
        kv("remote", ctx.ip()));
  }

  /** The matched route template (not the raw path, which would explode metric cardinality). */
  private static String route(Context ctx) {
    try {
      return ctx.endpoint().path;
    } catch (RuntimeException e) {
      return "unmatched";
    }
  }
}
