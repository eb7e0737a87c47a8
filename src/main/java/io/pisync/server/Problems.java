package io.pisync.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.io.EofException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Renders every error as RFC 9457 {@code application/problem+json}; never HTML or a stack. */
final class Problems {
  private static final Logger log = LoggerFactory.getLogger(Problems.class);
  static final String CONTENT_TYPE = "application/problem+json";
  private static final int DATABASE_RETRY_SECONDS = 5;

  private final ObjectMapper mapper;
  private final io.pisync.http.Routes routes;

  Problems(ObjectMapper mapper, io.pisync.http.Routes routes) {
    this.mapper = mapper;
    this.routes = routes;
  }

  void render(ApiProblem problem, Context ctx) {
    problem.headers().forEach(ctx::header);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", problem.type().uri());
    body.put("title", problem.type().title());
    body.put("status", problem.type().status());
    body.put("detail", problem.detail());
    body.put("instance", ctx.path());
    body.put("request_id", RequestIds.of(ctx));
    if (!problem.errors().isEmpty()) {
      body.put("errors", problem.errors());
    }
    problem.members().forEach(body::putIfAbsent);
    try {
      ctx.status(problem.type().status())
          .contentType(CONTENT_TYPE)
          .result(mapper.writeValueAsBytes(body));
    } catch (Exception e) {
      ctx.status(500).contentType(CONTENT_TYPE).result("{\"status\":500}");
    }
  }

  /** Javalin's own responses: unmatched routes, wrong methods, bodies over the limit. */
  ApiProblem fromJavalin(HttpResponseException e, Context ctx) {
    return switch (e.getStatus()) {
      case 404 ->
          new ApiProblem(ProblemType.NOT_FOUND, "no route " + answeredAs(ctx) + " " + ctx.path());
      case 405 -> {
        String allowed = String.join(", ", routes.methodsAt(ctx.path()));
        yield new ApiProblem(
                ProblemType.METHOD_NOT_ALLOWED,
                answeredAs(ctx) + " is not allowed on " + ctx.path() + "; allowed: " + allowed)
            .withHeader("Allow", allowed);
      }
      case 413 -> tooLarge(ctx);
      case 406 -> new ApiProblem(ProblemType.NOT_ACCEPTABLE, e.getMessage());
      default -> {
        if (e.getStatus() >= 400 && e.getStatus() < 500) {
          yield new ApiProblem(ProblemType.VALIDATION, e.getMessage());
        }
        log.error("unexpected Javalin response {}: {}", e.getStatus(), e.getMessage());
        yield new ApiProblem(ProblemType.INTERNAL, "unexpected error; see request id in logs");
      }
    };
  }

  /**
   * The method whose answer this is. HEAD gets the header fields a GET would (RFC 9110 9.3.2),
   * Content-Length included, so a problem about a HEAD is worded as the GET's.
   */
  private static String answeredAs(Context ctx) {
    return ctx.method() == HandlerType.HEAD ? "GET" : ctx.method().name();
  }

  private static ApiProblem tooLarge(Context ctx) {
    Long max = ctx.attribute(io.pisync.http.JsonBody.MAX_BODY_BYTES);
    var problem =
        new ApiProblem(
            ProblemType.PAYLOAD_TOO_LARGE, "the request body is larger than " + max + " bytes");
    return max == null ? problem : problem.withMember("max_bytes", max);
  }

  ApiProblem fromSql(SQLException e, Context ctx) {
    if (isUnavailable(e)) {
      log.warn("database unavailable for {} {}: {}", ctx.method(), ctx.path(), e.toString());
      // spread, so clients refused together do not all come back in the same second
      int retry = DATABASE_RETRY_SECONDS + ThreadLocalRandom.current().nextInt(3);
      return ApiProblem.retryLater(
          ProblemType.DATABASE_UNAVAILABLE,
          "the database did not answer; retry in " + retry + " s",
          retry);
    }
    log.error("database error on {} {}", ctx.method(), ctx.path(), e);
    return new ApiProblem(
        ProblemType.INTERNAL, "unexpected database error; see request id in logs");
  }

  /**
   * What Jetty throws while a handler reads the request: a body whose chunked framing is broken,
   * one that ends before its length, or one that stops arriving. The client's fault, never a 500.
   * Null for anything else.
   */
  private static ApiProblem requestFault(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof HttpException http && http.getCode() < 500) {
        ProblemType type = JettyProblemHandler.typeOf(http.getCode());
        return new ApiProblem(type, "the request could not be read" + reason(http.getReason()));
      }
      if (t instanceof TimeoutException) {
        return new ApiProblem(
            ProblemType.REQUEST_TIMEOUT, "the request body stopped arriving before its end");
      }
      if (t instanceof EofException) {
        return new ApiProblem(
            ProblemType.BAD_REQUEST, "the connection closed before the request body ended");
      }
    }
    return null;
  }

  /** Jetty's reason, in words a client can act on where Jetty's own are cryptic. */
  private static String reason(String jetty) {
    if (jetty == null) return "";
    if (jetty.equals("Early EOF")) {
      return ": its chunked framing is broken, or it ended before its last chunk";
    }
    return ": " + jetty;
  }

  /** Connection failures, shutdowns and timeouts: temporary, so the client should retry. */
  static boolean isUnavailable(SQLException e) {
    if (e instanceof SQLTransientConnectionException) {
      return true;
    }
    String state = e.getSQLState();
    return state != null
        && (state.startsWith("08")
            || state.startsWith("57P")
            || state.equals("53300")
            || state.equals("40P01"));
  }

  ApiProblem unexpected(Exception e, Context ctx) {
    if (e.getCause() instanceof SQLException sql) {
      return fromSql(sql, ctx);
    }
    ApiProblem requestFault = requestFault(e);
    if (requestFault != null) {
      log.info("request refused on {} {}: {}", ctx.method(), ctx.path(), e.toString());
      return requestFault;
    }
    log.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
    return new ApiProblem(ProblemType.INTERNAL, "unexpected error; see request id in logs");
  }
}
