package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.TestServer;
import java.net.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HttpHardeningTest {
  @Test
  void pagesCarrySecurityHeadersAndTheDocsPageAStrictPolicy() {
    try (TestServer server = TestServer.start()) {
      var docs = server.anonymous().get("/docs");
      assertThat(docs.status()).isEqualTo(200);
      assertThat(docs.header("Content-Security-Policy"))
          .contains("default-src 'self'", "script-src 'self' 'sha256-", "frame-ancestors 'none'")
          .doesNotContain("unsafe-eval");
      assertThat(docs.header("X-Content-Type-Options")).isEqualTo("nosniff");
      assertThat(docs.header("X-Frame-Options")).isEqualTo("DENY");
      assertThat(docs.header("Referrer-Policy")).isEqualTo("no-referrer");
      assertThat(docs.header("Server")).isNull();
      var api = server.api().get("/api/v1/stats");
      assertThat(api.header("X-Content-Type-Options")).isEqualTo("nosniff");
      assertThat(api.header("Cache-Control")).isEqualTo("no-store");
    }
  }

  @Test
  void corsIsClosedUnlessAnOriginIsAllowed() {
    try (TestServer closed = TestServer.start()) {
      var r = withOrigin(closed.anonymous(), "/health/live", "https://evil.example");
      assertThat(r.header("Access-Control-Allow-Origin")).isNull();
    }
    try (TestServer open =
        TestServer.start(Map.of("PISYNC_CORS_ORIGINS", "https://dash.school.example"))) {
      assertThat(
              withOrigin(open.anonymous(), "/health/live", "https://dash.school.example")
                  .header("Access-Control-Allow-Origin"))
          .isEqualTo("https://dash.school.example");
      assertThat(
              withOrigin(open.anonymous(), "/health/live", "https://evil.example")
                  .header("Access-Control-Allow-Origin"))
          .isNull();
    }
  }

  @Test
  void deepOrHugeJsonIsA400() {
    try (TestServer server = TestServer.start(Map.of("PISYNC_JSON_MAX_TOKENS", "1000"))) {
      Api device = server.device("deep-dev");
      var deep = device.post("/api/v1/sync-events", "[".repeat(100) + "]".repeat(100));
      assertThat(deep.status()).isEqualTo(400);
      assertThat(deep.json().get("type").asText()).endsWith("/malformed-json");
      var many = new StringBuilder("{\"events\":[");
      for (int i = 0; i < 600; i++) many.append(i == 0 ? "" : ",").append("{\"a\":1}");
      var wide = device.post("/api/v1/sync-events/batch", many.append("]}").toString());
      assertThat(wide.status()).isEqualTo(400);
      // Numbers past 100 digits are refused by the parser (their parsing cost grows fast).
      String longNumber = "1".repeat(150);
      var big =
          device.post(
              "/api/v1/sync-events",
              "{\"device_id\":\"deep-dev\",\"total_files_synced\":" + longNumber + "}");
      assertThat(big.status()).isEqualTo(400);
      assertThat(big.json().get("type").asText()).endsWith("/malformed-json");
    }
  }

  @Test
  void metricsCanRequireAToken() {
    try (TestServer server = TestServer.start(Map.of("PISYNC_METRICS_TOKEN", "scrape-me-please"))) {
      assertThat(server.anonymous().get("/metrics").status()).isEqualTo(401);
      assertThat(server.api().get("/metrics").status())
          .as("an admin token is not it")
          .isEqualTo(401);
      assertThat(server.anonymous().withBearer("scrape-me-please").get("/metrics").status())
          .isEqualTo(200);
      assertThat(server.anonymous().get("/health/live").status()).isEqualTo(200);
    }
  }

  private static Api.Response withOrigin(Api api, String path, String origin) {
    return api.send(HttpRequest.newBuilder(api.uri(path)).header("Origin", origin).GET());
  }
}
