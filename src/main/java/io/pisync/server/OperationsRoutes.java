package io.pisync.server;

import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pisync.auth.Access;
import io.pisync.auth.Secrets;
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
        .get("/health/live", Access.PROBE, ctx -> ctx.json(Map.of("status", "up")))
        .get("/health/ready", Access.PROBE, this::ready)
        .get("/metrics", Access.METRICS, this::metrics)
        .get(
            "/openapi.json",
            Access.PUBLIC,
            ctx -> ctx.contentType("application/json").result(OPENAPI))
        .get("/docs", Access.PUBLIC, this::docs)
        .get("/docs/assets/{file}", Access.PUBLIC, this::asset);
  }

  private static final byte[] DOCS_PAGE = read("docs.html");
  private static final byte[] OPENAPI = read("openapi.json");

  /** The page's one inline script is allowed by its digest; nothing else inline runs. */
  private static final String DOCS_POLICY = docsPolicy();

  private static String docsPolicy() {
    String page = new String(DOCS_PAGE, java.nio.charset.StandardCharsets.UTF_8);
    int start = page.indexOf("<script>") + "<script>".length();
    String script = page.substring(start, page.indexOf("</script>", start));
    return "default-src 'self'; script-src 'self' 'sha256-"
        + java.util.Base64.getEncoder().encodeToString(Secrets.digest(script))
        + "'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        + " frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  }

  private void docs(Context ctx) {
    ctx.header("Content-Security-Policy", DOCS_POLICY);
    ctx.contentType("text/html; charset=utf-8").result(DOCS_PAGE);
  }

  private static byte[] read(String resource) {
    try (InputStream in = OperationsRoutes.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) throw new IllegalStateException("missing resource " + resource);
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource, e);
    }
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
    ctx.header("Cache-Control", "public, max-age=86400");
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
