package io.pisync.telemetry;

import static io.pisync.support.Events.event;
import static io.pisync.support.Events.withId;
import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.DatabaseWaits;
import io.pisync.support.TestServer;
import java.sql.DriverManager;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SingleEventTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void storesAnEventAndAnswers201WithIt() {
    Instant at = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
    var r = server.api().post("/api/v1/sync-events", event("pibook-1", at, 43, 0));

    assertThat(r.status()).isEqualTo(201);
    var body = r.json();
    assertThat(body.get("device_id").asText()).isEqualTo("pibook-1");
    assertThat(Instant.parse(body.get("timestamp").asText())).isEqualTo(at);
    assertThat(body.get("status").asText()).isEqualTo("success");
    assertThat(body.get("total_files_synced").asInt()).isEqualTo(43);
    assertThat(body.get("internet_speed").asDouble()).isEqualTo(12.5);
    UUID id = UUID.fromString(body.get("event_id").asText());
    assertThat(id.version()).as("server-chosen ids are time-ordered UUIDv7").isEqualTo(7);
    assertThat(id.variant()).isEqualTo(2);
    assertThat(body.get("received_at").asText()).isNotBlank();
  }

  @Test
  void derivesStatusFromErrorsAndFiles() {
    Instant at = Instant.now().minus(1, ChronoUnit.HOURS);
    assertThat(statusOf(event("status-dev", at, 0, 0))).isEqualTo("success");
    assertThat(statusOf(event("status-dev", at, 3, 1))).isEqualTo("partial");
    assertThat(statusOf(event("status-dev", at, 0, 1))).isEqualTo("failed");
  }

  private String statusOf(Object event) {
    return server.api().post("/api/v1/sync-events", event).json().get("status").asText();
  }

  @Test
  void aReplayedEventIdAnswers200WithTheOriginalAndCountsOnce() {
    UUID id = UUID.randomUUID();
    Instant at = Instant.now().minus(2, ChronoUnit.HOURS);
    var first = server.api().post("/api/v1/sync-events", withId(event("replay-dev", at, 5, 0), id));
    var again =
        server.api().post("/api/v1/sync-events", withId(event("replay-dev", at, 99, 7), id));

    assertThat(first.status()).isEqualTo(201);
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json()).isEqualTo(first.json());
    var device = server.api().get("/api/v1/devices/replay-dev").json();
    assertThat(device.at("/totals/syncs").asLong()).isEqualTo(1);
    assertThat(device.at("/totals/files_synced").asLong()).isEqualTo(5);
  }

  /**
   * A request waits for its event's COMMIT without a timeout of its own; the writer's watchdog
   * answers 503 once the commit timeout has passed. The event in the stalled transaction may still
   * be committed (and is, here), so its sender is told to resend it with the same event_id; the
   * event still queued behind it is taken off the queue and never stored, so sending it again
   * counts it once.
   */
  @Test
  void eventsNotCommittedInTimeAreAnswered503AndTheirRetriesCountOnce() throws Exception {
    try (var quick = TestServer.start(Map.of("PISYNC_WRITER_COMMIT_TIMEOUT_SECONDS", "1"))) {
      Instant at = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
      assertThat(quick.api().post("/api/v1/sync-events", event("stalled-dev", at, 1, 0)).status())
          .isEqualTo(201);
      var inTransaction = withId(event("stalled-dev", at.plusSeconds(60), 2, 0), UUID.randomUUID());
      var queued = event("stalled-dev", at.plusSeconds(120), 4, 0);

      Api.Response first;
      Api.Response second;
      try (var c = DriverManager.getConnection(quick.jdbcUrl(), "postgres", "")) {
        c.setAutoCommit(false);
        try (var st = c.createStatement()) {
          // The writer locks the device's row before it updates the counters: it waits here.
          st.execute("SELECT 1 FROM devices WHERE device_id = 'stalled-dev' FOR UPDATE");
        }
        var firstAnswer =
            CompletableFuture.supplyAsync(
                () -> quick.api().post("/api/v1/sync-events", inTransaction));
        awaitWriterBlockedOnLock(quick.jdbcUrl());
        var secondAnswer =
            CompletableFuture.supplyAsync(() -> quick.api().post("/api/v1/sync-events", queued));
        first = firstAnswer.get(10, TimeUnit.SECONDS);
        second = secondAnswer.get(10, TimeUnit.SECONDS);
        c.rollback();
      }

      for (var r : List.of(first, second)) {
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.header("Retry-After")).isEqualTo("1");
        assertThat(r.json().get("type").asText()).endsWith("/overloaded");
      }
      assertThat(first.json().get("detail").asText())
          .isEqualTo(
              "the event was not committed within 1 s and may still be; resend it with the same"
                  + " event_id");
      assertThat(second.json().get("detail").asText())
          .isEqualTo("the event waited 1 s for the database and was not stored; send it again");

      assertThat(quick.api().post("/api/v1/sync-events", inTransaction).status())
          .as("the stalled transaction committed it")
          .isEqualTo(200);
      assertThat(quick.api().post("/api/v1/sync-events", queued).status())
          .as("taken off the queue, never stored")
          .isEqualTo(201);
      var device = quick.api().get("/api/v1/devices/stalled-dev").json();
      assertThat(device.at("/totals/syncs").asLong()).isEqualTo(3);
      assertThat(device.at("/totals/files_synced").asLong()).isEqualTo(7);
    }
  }

  private static void awaitWriterBlockedOnLock(String jdbcUrl) throws Exception {
    try (var c = DriverManager.getConnection(jdbcUrl, "postgres", "");
        var st = c.createStatement()) {
      DatabaseWaits.awaitPositiveCount(
          st,
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
              + " AND datname = current_database()",
          "the group-commit writer never waited for the device's lock");
    }
  }
}
