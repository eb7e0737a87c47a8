package io.pisync.device;

import static io.pisync.support.Events.event;
import static io.pisync.support.Events.failed;
import static io.pisync.support.Events.partial;
import static io.pisync.support.Events.success;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DevicesTest {
  TestServer server;
  Instant now;

  @BeforeEach
  void start() {
    server = TestServer.start();
    now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void post(Object event) {
    assertThat(server.api().post("/api/v1/sync-events", event).status()).isEqualTo(201);
  }

  @Test
  void summarisesADevice() {
    Instant t = now.minus(Duration.ofHours(10));
    var first = event("pibook-7", t, 10, 0);
    first.put("internet_speed", 10.0);
    var second = event("pibook-7", t.plusSeconds(60), 5, 2);
    second.put("internet_speed", 20.0);
    var third = event("pibook-7", t.plusSeconds(120), 0, 4);
    third.put("internet_speed", 30.0);
    post(first);
    post(second);
    post(third);

    JsonNode d = server.api().get("/api/v1/devices/pibook-7").json();
    assertThat(d.get("device_id").asText()).isEqualTo("pibook-7");
    assertThat(d.get("last_status").asText()).isEqualTo("failed");
    assertThat(Instant.parse(d.get("last_sync_at").asText())).isEqualTo(t.plusSeconds(120));
    assertThat(d.at("/totals/syncs").asInt()).isEqualTo(3);
    assertThat(d.at("/totals/success").asInt()).isEqualTo(1);
    assertThat(d.at("/totals/partial").asInt()).isEqualTo(1);
    assertThat(d.at("/totals/failed").asInt()).isEqualTo(1);
    assertThat(d.at("/totals/files_synced").asInt()).isEqualTo(15);
    assertThat(d.at("/totals/errors").asInt()).isEqualTo(6);
    assertThat(d.get("consecutive_failures").asInt()).isEqualTo(1);
    assertThat(d.get("success_rate").asDouble()).isEqualTo(0.3333);
    assertThat(d.get("average_files_per_sync").asDouble()).isEqualTo(5.0);
    assertThat(d.get("average_internet_speed").asDouble()).isEqualTo(20.0);
    assertThat(d.get("health").asText()).isEqualTo("degraded");
    assertThat(d.get("first_seen_at").asText()).isNotBlank();
    assertThat(d.get("last_seen_at").asText()).isNotBlank();
  }

  @Test
  void unknownDeviceIs404() {
    var r = server.api().get("/api/v1/devices/ghost");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.contentType()).startsWith("application/problem+json");
    assertThat(r.json().get("detail").asText()).isEqualTo("no device 'ghost'");
  }

  @Test
  void aRegisteredDeviceThatHasNotReportedIsNotCalledUnknown() {
    server.deviceKey("unboxed");
    for (String path : List.of("/api/v1/devices/unboxed", "/api/v1/devices/unboxed/sync-events")) {
      var r = server.api().get(path);
      assertThat(r.status()).as(path).isEqualTo(404);
      assertThat(r.json().get("type").asText()).endsWith("/device-not-found");
      assertThat(r.json().get("detail").asText())
          .contains(
              "registered but has not reported a sync yet", "/api/v1/devices/unboxed/registration");
    }
  }

  @Test
  void healthFollowsTheLatestSyncsAndSilence() {
    Instant t = now.minus(Duration.ofHours(5));
    post(success("h-ok", t));
    post(partial("h-partial", t));
    for (int i = 0; i < 4; i++) {
      post(failed("h-failing", t.plusSeconds(i)));
    }
    assertThat(health("h-ok")).isEqualTo("healthy");
    assertThat(health("h-partial")).isEqualTo("degraded");
    assertThat(health("h-failing")).isEqualTo("failing");

    server.clock().advance(Duration.ofDays(8));
    assertThat(health("h-ok")).isEqualTo("inactive");
  }

  String health(String id) {
    return server.api().get("/api/v1/devices/" + id).json().get("health").asText();
  }

  @Test
  void listsDevicesFilteredAndPaginatedToTheLastPage() {
    Instant t = now.minus(Duration.ofHours(2));
    List<Object> events = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      String id = String.format("class-%02d", i);
      events.add(i % 5 == 0 ? failed(id, t) : success(id, t));
    }
    events.add(success("other-1", t));
    server.api().post("/api/v1/sync-events/batch", Map.of("events", events));

    var pages = server.api().allPages("/api/v1/devices?q=CLASS&limit=10");
    List<String> seen = pages.items().stream().map(d -> d.get("device_id").asText()).toList();
    assertThat(pages.count()).isEqualTo(3);
    assertThat(seen).hasSize(25).isSorted().allMatch(id -> id.startsWith("class-"));

    JsonNode failedOnly = server.api().get("/api/v1/devices?status=failed").json().get("items");
    assertThat(failedOnly)
        .extracting(d -> d.get("device_id").asText())
        .containsExactly("class-00", "class-05", "class-10", "class-15", "class-20");
    JsonNode healthy =
        server.api().get("/api/v1/devices?health=healthy&limit=500").json().get("items");
    assertThat(healthy).hasSize(21);
    assertThat(server.api().get("/api/v1/devices?q=%25").json().get("items")).isEmpty();
    assertThat(server.api().get("/api/v1/devices?status=broken").status()).isEqualTo(400);
    assertThat(server.api().get("/api/v1/devices?health=sick").status()).isEqualTo(400);
  }

  @Test
  void statsSummariseTheFleetAndTheLast24Hours() {
    post(success("s-1", now.minus(Duration.ofHours(1))));
    post(failed("s-2", now.minus(Duration.ofHours(2))));
    post(partial("s-3", now.minus(Duration.ofHours(3))));
    post(success("s-old", now.minus(Duration.ofDays(3))));

    JsonNode stats = server.api().get("/api/v1/stats").json();
    assertThat(stats.get("devices").asInt()).isEqualTo(4);
    assertThat(stats.at("/devices_by_health/healthy").asInt()).isEqualTo(2);
    assertThat(stats.at("/devices_by_health/degraded").asInt()).isEqualTo(2);
    assertThat(stats.at("/last_24h/syncs").asInt()).isEqualTo(3);
    assertThat(stats.at("/last_24h/failed").asInt()).isEqualTo(1);
    assertThat(stats.at("/last_24h/partial").asInt()).isEqualTo(1);
    assertThat(stats.at("/last_24h/devices_reporting").asInt()).isEqualTo(3);
    assertThat(stats.at("/last_24h/failure_rate").asDouble())
        .isCloseTo(1 / 3.0, org.assertj.core.data.Offset.offset(1e-9));
  }
}
