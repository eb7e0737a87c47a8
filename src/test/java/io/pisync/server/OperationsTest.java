package io.pisync.server;

import static io.pisync.support.Events.success;
import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.SharedPostgres;
import io.pisync.support.TestServer;
import java.net.http.HttpRequest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OperationsTest {
  TestServer server;

  @BeforeEach
  void start() {
    server = TestServer.start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void probesAnswer() {
    assertThat(server.api().get("/health/live").json().get("status").asText()).isEqualTo("up");
    var ready = server.api().get("/health/ready");
    assertThat(ready.status()).isEqualTo(200);
    assertThat(ready.json().get("database").asText()).isEqualTo("up");
  }

  @Test
  void metricsExposeLatencyPerRouteIngestCountsBatchSizesPoolAndJvm() {
    server
        .api()
        .post(
            "/api/v1/sync-events",
            success("metrics-dev", Instant.now().minus(1, ChronoUnit.HOURS)));
    server.api().get("/api/v1/devices/metrics-dev");
    var r = server.api().get("/metrics");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("text/plain");
    assertThat(r.body())
        .contains("http_server_requests_seconds_bucket{")
        .contains("route=\"/api/v1/sync-events\"")
        .contains("route=\"/api/v1/devices/{device_id}\"")
        .contains("status=\"201\"")
        .contains("pisync_events_ingested_total{status=\"success\"} 1.0")
        .contains("pisync_writer_batch_size_count")
        .containsPattern("(?m)^pisync_writer_transaction_seconds_count 1(\\.0)?$")
        .contains("hikaricp_connections")
        .contains("jvm_memory_used_bytes");
  }

  @Test
  void honoursAndReturnsTheRequestId() {
    var r =
        server
            .api()
            .send(
                HttpRequest.newBuilder(server.api().uri("/health/live"))
                    .header("X-Request-Id", "abc-123"));
    assertThat(r.header("X-Request-Id")).isEqualTo("abc-123");
    var generated = server.api().get("/api/v1/devices/none");
    assertThat(generated.header("X-Request-Id")).isNotBlank();
    assertThat(generated.json().get("request_id").asText())
        .isEqualTo(generated.header("X-Request-Id"));
    var unsafe =
        server
            .api()
            .send(
                HttpRequest.newBuilder(server.api().uri("/health/live"))
                    .header("X-Request-Id", "bad id <script>"));
    assertThat(unsafe.header("X-Request-Id")).isNotEqualTo("bad id <script>").isNotBlank();
  }

  @Test
  void databaseDownAnswers503WithRetryAfterAndRecovers() {
    String db = server.jdbcUrl().replaceAll(".*/([^/?]+)\\?.*", "$1");
    SharedPostgres.admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false");
    SharedPostgres.admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'");
    try {
      var write =
          server
              .api()
              .post(
                  "/api/v1/sync-events",
                  success("down-dev", Instant.now().minus(1, ChronoUnit.HOURS)));
      assertThat(write.status()).isEqualTo(503);
      assertThat(write.header("Retry-After")).isNotBlank();
      assertThat(write.contentType()).startsWith("application/problem+json");
      assertThat(write.json().get("type").asText()).endsWith("/database-unavailable");
      var read = server.api().get("/api/v1/devices/down-dev");
      assertThat(read.status()).isEqualTo(503);
      assertThat(server.api().get("/health/ready").status()).isEqualTo(503);
      assertThat(server.api().get("/health/live").status()).isEqualTo(200);
    } finally {
      SharedPostgres.admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true");
    }
    // The pool reconnects in the background: like a device, retry after the Retry-After given.
    var event = success("down-dev", Instant.now().minus(1, ChronoUnit.HOURS));
    var again = server.api().post("/api/v1/sync-events", event);
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(15);
    while (again.status() == 503 && System.nanoTime() < deadline) {
      assertThat(again.header("Retry-After")).isNotBlank();
      sleepSeconds(Long.parseLong(again.header("Retry-After")));
      again = server.api().post("/api/v1/sync-events", event);
    }
    assertThat(again.status()).as(again.body()).isEqualTo(201);
  }

  private static void sleepSeconds(long seconds) {
    try {
      Thread.sleep(java.time.Duration.ofSeconds(seconds));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
