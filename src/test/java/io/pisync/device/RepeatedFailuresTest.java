package io.pisync.device;

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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RepeatedFailuresTest {
  static TestServer server;
  static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofDays(10));

  @BeforeAll
  static void start() {
    server = TestServer.start();
    List<Object> events = new ArrayList<>();
    failures(events, "three-failures", 3, T0);
    failures(events, "four-failures", 4, T0);
    failures(events, "seven-failures", 7, T0);
    // Four failures long ago, then a success: four in total, none in the current streak.
    failures(events, "recovered", 4, T0);
    events.add(success("recovered", T0.plus(Duration.ofDays(1))));
    // Two failures, three partials after them: "failing" only when partials count.
    failures(events, "mostly-partial", 2, T0);
    for (int i = 0; i < 3; i++) {
      events.add(partial("mostly-partial", T0.plus(Duration.ofDays(2)).plusSeconds(i)));
    }
    // Five failures, all in the last two days.
    failures(events, "recent-burst", 5, Instant.now().minus(Duration.ofDays(2)));
    // Two failures then three partial syncs, all recent.
    failures(events, "recent-partials", 2, Instant.now().minus(Duration.ofDays(1)));
    for (int i = 0; i < 3; i++) {
      events.add(
          partial("recent-partials", Instant.now().minus(Duration.ofHours(10)).plusSeconds(i)));
    }
    server.api().post("/api/v1/sync-events/batch", Map.of("events", events));
  }

  static void failures(List<Object> events, String device, int n, Instant from) {
    for (int i = 0; i < n; i++) {
      events.add(failed(device, from.plusSeconds(60L * i)));
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  List<String> ids(String query) {
    var r = server.api().get("/api/v1/devices/repeated-failures" + query);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    r.json().get("items").forEach(i -> ids.add(i.get("device_id").asText()));
    return ids;
  }

  @Test
  void listsDevicesWithMoreThanThreeFailedSyncsByCountThenId() {
    assertThat(ids(""))
        .containsExactly("seven-failures", "recent-burst", "four-failures", "recovered");
  }

  @Test
  void thresholdIsStrictlyMoreThan() {
    assertThat(ids("?threshold=4")).containsExactly("seven-failures", "recent-burst");
    assertThat(ids("?threshold=2")).contains("three-failures").doesNotContain("mostly-partial");
    assertThat(ids("?threshold=7")).isEmpty();
  }

  @Test
  void consecutiveCountsOnlyTheCurrentStreak() {
    assertThat(ids("?consecutive=true"))
        .containsExactly("seven-failures", "recent-burst", "four-failures");
  }

  @Test
  void includePartialCountsPartialSyncsAsFailures() {
    assertThat(ids("?include_partial=true"))
        .containsExactly(
            "seven-failures",
            "mostly-partial",
            "recent-burst",
            "recent-partials",
            "four-failures",
            "recovered");
    assertThat(ids("?include_partial=true&consecutive=true"))
        .containsExactly(
            "seven-failures", "mostly-partial", "recent-burst", "recent-partials", "four-failures");
  }

  @Test
  void sinceCountsOnlyLaterFailures() {
    String since = Instant.now().minus(Duration.ofDays(3)).toString();
    assertThat(ids("?since=" + since)).containsExactly("recent-burst");
    assertThat(ids("?include_partial=true&since=" + since))
        .containsExactly("recent-burst", "recent-partials");
    assertThat(ids("?threshold=1&since=" + since))
        .containsExactly("recent-burst", "recent-partials");
  }

  @Test
  void eachItemCarriesCountersRateAndItsFiveNewestFailures() {
    JsonNode item =
        server.api().get("/api/v1/devices/repeated-failures").json().get("items").get(0);
    assertThat(item.get("device_id").asText()).isEqualTo("seven-failures");
    assertThat(item.get("failures").asInt()).isEqualTo(7);
    assertThat(item.get("failed_syncs").asInt()).isEqualTo(7);
    assertThat(item.get("total_syncs").asInt()).isEqualTo(7);
    assertThat(item.get("consecutive_failures").asInt()).isEqualTo(7);
    assertThat(item.get("failure_rate").asDouble()).isEqualTo(1.0);
    assertThat(Instant.parse(item.get("last_failure_at").asText())).isEqualTo(T0.plusSeconds(360));
    JsonNode recent = item.get("recent_failures");
    assertThat(recent).hasSize(5);
    assertThat(Instant.parse(recent.get(0).get("timestamp").asText()))
        .isEqualTo(T0.plusSeconds(360));
    assertThat(recent).allMatch(e -> e.get("status").asText().equals("failed"));
  }

  @Test
  void paginatesToTheLastPage() {
    var pages = server.api().allPages("/api/v1/devices/repeated-failures?threshold=0&limit=2");
    List<String> seen = pages.items().stream().map(i -> i.get("device_id").asText()).toList();
    assertThat(seen)
        .containsExactly(
            "seven-failures",
            "recent-burst",
            "four-failures",
            "recovered",
            "three-failures",
            "mostly-partial",
            "recent-partials");
    assertThat(pages.count()).isEqualTo(4);
  }

  @Test
  void rejectsBadOptionsNamingThem() {
    Map<String, String> badOptions =
        Map.of(
            "?threshold=-1", "threshold",
            "?threshold=x", "threshold",
            "?since=yesterday", "since",
            "?consecutive=maybe", "consecutive",
            "?include_partial=2", "include_partial",
            "?limit=9999", "limit",
            "?cursor=%25%25", "cursor");
    badOptions.forEach((query, field) -> {
      var r = server.api().get("/api/v1/devices/repeated-failures" + query);
      assertThat(r.status()).as(query).isEqualTo(400);
      assertThat(r.contentType()).startsWith("application/problem+json");
      assertThat(r.json().get("errors").get(0).get("field").asText()).as(query).isEqualTo(field);
    });
    var both =
        server
            .api()
            .get("/api/v1/devices/repeated-failures?consecutive=true&since=2025-01-01T00:00:00Z");
    assertThat(both.status()).isEqualTo(400);
    assertThat(both.json().get("errors").get(0).get("field").asText()).isEqualTo("since");
  }
}
