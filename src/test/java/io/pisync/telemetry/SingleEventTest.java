package io.pisync.telemetry;

import static io.pisync.support.Events.event;
import static io.pisync.support.Events.withId;
import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.TestServer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
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
}
