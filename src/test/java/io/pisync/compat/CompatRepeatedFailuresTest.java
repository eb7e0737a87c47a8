package io.pisync.compat;

import static io.pisync.compat.CompatIngestTest.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both repeated-failures routes use v1's definition: more than {@code threshold} failed syncs
 * (default 3), optionally only those in the last {@code days} days.
 */
class CompatRepeatedFailuresTest {
  static final String A_FAILURES = "/api/piSync/devices/repeated-failures";
  static final String B_FAILURES = "/api/sync-event/devices/repeated-failures";
  static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  static TestServer server;
  static Api api;
  static Api devices;

  /**
   * rf-three: 3 failures. rf-four: a success, then 4 failures in a row. rf-six: 2 failures ten days
   * ago, 4 in the last hours, then a success. rf-partial: partial syncs only, never failed.
   */
  @BeforeAll
  static void start() {
    server = TestServer.start();
    api = server.api();
    devices = server.fleet();
    for (int h = 1; h <= 3; h++) failed("rf-three", NOW.minus(h, ChronoUnit.HOURS));
    ok("rf-four", NOW.minus(10, ChronoUnit.HOURS));
    for (int h = 1; h <= 4; h++) failed("rf-four", NOW.minus(h, ChronoUnit.HOURS));
    failed("rf-six", NOW.minus(10, ChronoUnit.DAYS));
    failed("rf-six", NOW.minus(10, ChronoUnit.DAYS).minus(1, ChronoUnit.HOURS));
    for (int h = 2; h <= 5; h++) failed("rf-six", NOW.minus(h, ChronoUnit.HOURS));
    ok("rf-six", NOW.minus(1, ChronoUnit.HOURS));
    for (int h = 1; h <= 5; h++) {
      Map<String, Object> partial =
          CompatIngestTest.event("rf-partial", NOW.minus(h, ChronoUnit.HOURS));
      devices.post("/api/sync-event", partial);
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static void failed(String device, Instant at) {
    Map<String, Object> e = CompatIngestTest.event(device, at);
    e.put("total_files_synced", "0");
    e.put("total_errors", "3");
    e.put("error_details", "failed at " + at);
    assertThat(devices.post("/api/piSync/sync-event", e).status()).isEqualTo(201);
  }

  static void ok(String device, Instant at) {
    Map<String, Object> e = CompatIngestTest.event(device, at);
    e.put("total_errors", 0);
    assertThat(devices.post("/api/sync-event", e).status()).isEqualTo(201);
  }

  @Test
  void contractAListsDevicesWithMoreThanThreeFailuresMostFirst() {
    var r = api.get(A_FAILURES);

    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(fieldNames(body)).containsExactly("summary", "devices", "pagination", "filters");
    assertThat(deviceIds(body.get("devices"))).containsExactly("rf-six", "rf-four");
    assertThat(body.at("/filters/min_failures").asInt()).isEqualTo(4);
    assertThat(body.at("/filters/days_lookback").isNull()).isTrue();
    assertThat(pagination(body)).containsExactly(1L, 20L, 2L, 1L);
  }

  @Test
  void contractASummaryIsOverAllProblemDevicesAsNumbers() {
    JsonNode summary = api.get(A_FAILURES + "?limit=1").json().get("summary");

    assertThat(fieldNames(summary))
        .containsExactly(
            "total_problem_devices", "avg_consecutive_failures", "max_consecutive_failures");
    assertThat(summary.get("total_problem_devices").isIntegralNumber()).isTrue();
    assertThat(summary.get("total_problem_devices").asLong()).isEqualTo(2);
    assertThat(summary.get("avg_consecutive_failures").isNumber()).isTrue();
    assertThat(summary.get("avg_consecutive_failures").asDouble()).isEqualTo(2.0);
    assertThat(summary.get("max_consecutive_failures").asInt()).isEqualTo(4);
  }

  @Test
  void contractADevicesCarryTheirCountersAndNewestFailedEvents() {
    JsonNode devices = api.get(A_FAILURES).json().get("devices");
    JsonNode six = devices.get(0);
    JsonNode four = devices.get(1);

    assertThat(fieldNames(four))
        .containsExactly(
            "device_id",
            "device_type",
            "consecutive_failures",
            "total_failed_syncs",
            "total_sync_attempts",
            "last_seen",
            "failure_rate",
            "recent_failed_events");
    assertThat(four.get("device_type").isNull()).isTrue();
    assertThat(four.get("consecutive_failures").asInt()).isEqualTo(4);
    assertThat(four.get("total_failed_syncs").asLong()).isEqualTo(4);
    assertThat(four.get("total_sync_attempts").asLong()).isEqualTo(5);
    assertThat(four.get("failure_rate").asText()).isEqualTo("80.00%");
    assertThat(four.get("last_seen").asText()).startsWith(hour(1));
    JsonNode newest = four.at("/recent_failed_events/0");
    assertThat(fieldNames(newest)).containsExactly("timestamp", "total_errors", "error_details");
    assertThat(newest.get("timestamp").asText()).startsWith(hour(1));
    assertThat(newest.get("total_errors").asInt()).isEqualTo(3);
    assertThat(newest.get("error_details").asText()).startsWith("failed at");

    assertThat(six.get("consecutive_failures").asInt()).isZero();
    assertThat(six.get("failure_rate").asText()).isEqualTo("85.71%");
    assertThat(timestamps(six.get("recent_failed_events")))
        .hasSize(5)
        .containsExactly(hour(2), hour(3), hour(4), hour(5), hour(10 * 24));
  }

  @Test
  void thresholdAndMinFailuresMoveTheLine() {
    assertThat(listed(A_FAILURES + "?threshold=2"))
        .containsExactly("rf-six", "rf-four", "rf-three");
    assertThat(listed(A_FAILURES + "?min_failures=3"))
        .containsExactly("rf-six", "rf-four", "rf-three");
    assertThat(listed(A_FAILURES + "?threshold=4")).containsExactly("rf-six");
    assertThat(listed(A_FAILURES + "?min_failures=5")).containsExactly("rf-six");
    assertThat(api.get(A_FAILURES + "?min_failures=3").json().at("/filters/min_failures").asInt())
        .isEqualTo(3);
  }

  @Test
  void partialSyncsAreNotFailures() {
    assertThat(listed(A_FAILURES + "?threshold=0")).doesNotContain("rf-partial").hasSize(3);
  }

  @Test
  void daysCountsOnlyFailuresInTheWindow() {
    JsonNode body = api.get(A_FAILURES + "?days=7").json();

    // rf-six has 4 failures in the window, like rf-four: ties go by device id.
    assertThat(deviceIds(body.get("devices"))).containsExactly("rf-four", "rf-six");
    assertThat(body.at("/filters/days_lookback").asInt()).isEqualTo(7);
    assertThat(body.at("/devices/1/recent_failed_events")).hasSize(4);
    assertThat(listed(A_FAILURES + "?days=7&threshold=3")).hasSize(2);
    assertThat(listed(A_FAILURES + "?days=30&threshold=4")).containsExactly("rf-six");
  }

  @Test
  void theWindowFollowsTheServersClock() {
    server.clock().advance(Duration.ofDays(8));
    try {
      assertThat(listed(A_FAILURES + "?days=7")).isEmpty();
      assertThat(listed(A_FAILURES)).containsExactly("rf-six", "rf-four");
    } finally {
      server.clock().advance(Duration.ofDays(-8));
    }
  }

  @Test
  void contractAPagesByNumber() {
    JsonNode second = api.get(A_FAILURES + "?limit=1&page=2").json();

    assertThat(deviceIds(second.get("devices"))).containsExactly("rf-four");
    assertThat(pagination(second)).containsExactly(2L, 1L, 2L, 2L);
  }

  @Test
  void noProblemDevicesGivesZerosNotNulls() {
    JsonNode body = api.get(A_FAILURES + "?threshold=1000").json();

    assertThat(body.get("devices")).isEmpty();
    assertThat(body.at("/summary/total_problem_devices").isNumber()).isTrue();
    assertThat(body.at("/summary/total_problem_devices").asLong()).isZero();
    assertThat(body.at("/summary/avg_consecutive_failures").isNumber()).isTrue();
    assertThat(body.at("/summary/avg_consecutive_failures").asDouble()).isZero();
    assertThat(body.at("/summary/max_consecutive_failures").isNumber()).isTrue();
    assertThat(pagination(body)).containsExactly(1L, 20L, 0L, 0L);
  }

  @Test
  void contractBIsABareArrayOfDeviceIdsWithACountHeader() {
    var r = api.get(B_FAILURES);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("X-Total-Count")).isEqualTo("2");
    assertThat(r.json().isArray()).isTrue();
    assertThat(fieldNames(r.json().get(0))).containsExactly("device_id");
    assertThat(listed(B_FAILURES)).containsExactly("rf-six", "rf-four");
  }

  @Test
  void contractBTakesTheSameParametersAndPages() {
    assertThat(listed(B_FAILURES + "?min_failures=3"))
        .containsExactly("rf-six", "rf-four", "rf-three");
    assertThat(listed(B_FAILURES + "?days=7&threshold=3")).containsExactly("rf-four", "rf-six");
    var page = api.get(B_FAILURES + "?limit=1&page=2");
    assertThat(page.header("X-Total-Count")).isEqualTo("2");
    assertThat(listed(B_FAILURES + "?limit=1&page=2")).containsExactly("rf-four");
    assertThat(api.get(B_FAILURES + "?threshold=1000").body()).isEqualTo("[]");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "threshold=-1",
        "threshold=x",
        "min_failures=0",
        "days=0",
        "days=abc",
        "page=0",
        "limit=0",
        "limit=501"
      })
  void badParametersAreA400NamingThem(String query) {
    for (String path : List.of(A_FAILURES, B_FAILURES)) {
      var r = api.get(path + "?" + query);

      assertThat(r.status()).isEqualTo(400);
      assertThat(r.contentType()).startsWith("application/problem+json");
      assertThat(r.json().at("/errors/0/field").asText()).isEqualTo(query.split("=")[0]);
    }
  }

  @Test
  void contractALimitsPagesTo100AndBTo500() {
    assertThat(api.get(A_FAILURES + "?limit=101").status()).isEqualTo(400);
    assertThat(api.get(A_FAILURES + "?limit=100").status()).isEqualTo(200);
    assertThat(api.get(B_FAILURES + "?limit=500").status()).isEqualTo(200);
  }

  @Test
  void thresholdAndMinFailuresTogetherAreA400() {
    var r = api.get(A_FAILURES + "?threshold=3&min_failures=4");

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/errors/0/field").asText()).isEqualTo("min_failures");
  }

  private static List<String> listed(String path) {
    var r = api.get(path);
    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    return deviceIds(body.isArray() ? body : body.get("devices"));
  }

  private static List<String> deviceIds(JsonNode devices) {
    List<String> ids = new ArrayList<>();
    devices.forEach(d -> ids.add(d.get("device_id").asText()));
    return ids;
  }

  private static List<String> timestamps(JsonNode events) {
    List<String> out = new ArrayList<>();
    events.forEach(e -> out.add(e.get("timestamp").asText()));
    return out;
  }

  /** The A-formatted time {@code hours} hours before NOW. */
  private static String hour(int hours) {
    return ContractA.time(NOW.minus(hours, ChronoUnit.HOURS));
  }

  private static List<Long> pagination(JsonNode body) {
    JsonNode p = body.get("pagination");
    return List.of(
        p.get("current_page").asLong(),
        p.get("per_page").asLong(),
        p.get("total_records").asLong(),
        p.get("total_pages").asLong());
  }
}
