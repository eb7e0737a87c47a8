package io.pisync.telemetry;

import static io.pisync.support.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HistoryTest {
  static TestServer server;
  static final Instant T0 = Instant.parse("2025-03-01T00:00:00Z");
  static final int EVENTS = 137;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    List<Object> events = new ArrayList<>();
    for (int i = 0; i < EVENTS; i++) {
      // Sent out of order, with some equal timestamps, to exercise the tie-break.
      Instant at = T0.plusSeconds(((i * 7L) % EVENTS) / 2 * 60);
      events.add(event("hist-dev", at, i, 0));
    }
    server.api().post("/api/v1/sync-events/batch", Map.of("events", events));
    server.api().post("/api/v1/sync-events", event("other-dev", T0, 1, 0));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void pagesThroughToTheLastPageNewestFirstWithNothingMissingOrRepeated() {
    var pages = server.api().allPages("/api/v1/devices/hist-dev/sync-events?limit=20");
    List<JsonNode> all = pages.items();

    assertThat(pages.count()).isEqualTo(7);
    assertThat(all).hasSize(EVENTS);
    Set<String> ids = new HashSet<>();
    all.forEach(e -> ids.add(e.get("event_id").asText()));
    assertThat(ids).hasSize(EVENTS);
    for (int i = 1; i < all.size(); i++) {
      Instant prev = Instant.parse(all.get(i - 1).get("timestamp").asText());
      Instant cur = Instant.parse(all.get(i).get("timestamp").asText());
      assertThat(cur).isBeforeOrEqualTo(prev);
    }
    assertThat(all).allMatch(e -> e.get("device_id").asText().equals("hist-dev"));
  }

  @Test
  void defaultLimitIs50AndMaxIs500() {
    assertThat(server.api().get("/api/v1/devices/hist-dev/sync-events").json().get("items"))
        .hasSize(50);
    assertThat(
            server.api().get("/api/v1/devices/hist-dev/sync-events?limit=500").json().get("items"))
        .hasSize(EVENTS);
    var tooBig = server.api().get("/api/v1/devices/hist-dev/sync-events?limit=501");
    assertThat(tooBig.status()).isEqualTo(400);
    assertThat(tooBig.json().get("errors").get(0).get("field").asText()).isEqualTo("limit");
    assertThat(tooBig.json().get("errors").get(0).get("value").asText()).isEqualTo("501");
    assertThat(server.api().get("/api/v1/devices/hist-dev/sync-events?limit=0").status())
        .isEqualTo(400);
    assertThat(server.api().get("/api/v1/devices/hist-dev/sync-events?limit=ten").status())
        .isEqualTo(400);
  }

  @Test
  void aCursorThatWasNotIssuedIs400() {
    var r = server.api().get("/api/v1/devices/hist-dev/sync-events?cursor=garbage!!");
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().get("type").asText()).endsWith("/bad-cursor");
    assertThat(server.api().get("/api/v1/devices/hist-dev/sync-events?cursor=Zm9v").status())
        .isEqualTo(400);
  }

  @Test
  void unknownDeviceIs404AndAnIdNoDeviceCanHaveIs400() {
    var r = server.api().get("/api/v1/devices/nobody/sync-events");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.json().get("type").asText()).endsWith("/device-not-found");
    for (String path :
        List.of("/api/v1/devices/bad%20id/sync-events", "/api/v1/devices/bad%20id")) {
      var invalid = server.api().get(path);
      assertThat(invalid.status()).as(path).isEqualTo(400);
      assertThat(invalid.json().at("/errors/0/field").asText()).isEqualTo("device_id");
      assertThat(invalid.json().at("/errors/0/value").asText()).isEqualTo("bad id");
    }
  }

  @Test
  void aCursorWrittenDifferentlyFromTheServersIs400() {
    var history = server.api().get("/api/v1/devices/hist-dev/sync-events?limit=1").json();
    String issued = history.get("next_cursor").asText();
    assertThat(server.api().get("/api/v1/devices/hist-dev/sync-events?cursor=" + issued).status())
        .isEqualTo(200);
    Map<String, String> forged =
        Map.of(
            "/api/v1/devices/hist-dev/sync-events?cursor=",
            cursor(T0.toString(), "1-1-1-1-1"), // a UUID written loosely
            "/api/v1/devices/repeated-failures?cursor=",
            cursor("+5", "hist-dev"),
            "/api/v1/devices?cursor=",
            cursor("hist-dev") + "=="); // base64 padding, which the server never writes
    forged.forEach((path, cursor) -> {
      var r = server.api().get(path + cursor);
      assertThat(r.status()).as(path + cursor).isEqualTo(400);
      assertThat(r.json().get("type").asText()).endsWith("/bad-cursor");
    });
  }

  private static String cursor(String... parts) {
    return java.util.Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(
            String.join("\u001f", parts).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void aDeviceListCursorNamingNoPossibleDeviceIs400() {
    for (String cursor : List.of("abc", "NaN", "____")) {
      var r = server.api().get("/api/v1/devices?cursor=" + cursor);
      assertThat(r.status()).as(cursor).isEqualTo(400);
      assertThat(r.json().get("type").asText()).endsWith("/bad-cursor");
    }
  }

  @Test
  void aNewEventShowsUpFirst() {
    Instant later = T0.plus(Duration.ofDays(30));
    server.api().post("/api/v1/sync-events", event("fresh-dev", T0, 1, 0));
    server.api().post("/api/v1/sync-events", event("fresh-dev", later, 2, 0));
    JsonNode first = server.api().get("/api/v1/devices/fresh-dev/sync-events?limit=1").json();
    assertThat(first.get("items").get(0).get("total_files_synced").asInt()).isEqualTo(2);
    assertThat(first.get("next_cursor").isNull()).isFalse();
  }
}
