package io.pisync.compat;

import static io.pisync.compat.CompatIngestTest.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.TestServer;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Both earlier history routes, keyed by the device's own id, newest first, paged by number. */
class CompatHistoryTest {
  static final String DEVICE = "PIBOOK-HIST-1";
  static final String A_HISTORY = "/api/piSync/device/" + DEVICE + "/sync-history";
  static final String B_HISTORY = "/api/sync-event/device/" + DEVICE + "/sync-history";
  static final DateTimeFormatter MILLIS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  static TestServer server;
  static Api api;
  static Api devices;

  /** Sent out of device-time order: hours ago, files, errors, speed. */
  @BeforeAll
  static void start() {
    server = TestServer.start();
    api = server.api();
    devices = server.fleet();
    report(3, "5", "2", "12.5"); // partial
    report(5, "10", "0", "10"); // success
    report(1, "20", "0", "30"); // success, the newest
    report(4, "0", "3", "20"); // failed
    report(2, "0", "1", "7.25"); // failed
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static void report(int hoursAgo, String files, String errors, String speed) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("device_id", DEVICE);
    e.put("timestamp", MILLIS.format(hoursAgo(hoursAgo)).replace('T', ' '));
    e.put("total_files_synced", files);
    e.put("total_errors", errors);
    e.put("internet_speed", speed);
    assertThat(devices.post("/api/piSync/sync-event", e).status()).isEqualTo(201);
  }

  static Instant hoursAgo(int hours) {
    return NOW.minus(hours, ChronoUnit.HOURS);
  }

  @Test
  void contractAHistoryHasAsShapeWithStatisticsOverAllEvents() {
    var r = api.get(A_HISTORY);

    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(fieldNames(body))
        .containsExactly("device", "statistics", "sync_history", "pagination");
    JsonNode device = body.get("device");
    assertThat(fieldNames(device))
        .containsExactly(
            "device_id",
            "device_type",
            "last_seen",
            "total_sync_attempts",
            "total_failed_syncs",
            "consecutive_failures",
            "is_active");
    assertThat(device.get("device_id").asText()).isEqualTo(DEVICE);
    assertThat(device.get("device_type").isNull()).isTrue();
    assertThat(device.get("last_seen").asText()).isEqualTo(MILLIS.format(hoursAgo(1)));
    assertThat(device.get("total_sync_attempts").asLong()).isEqualTo(5);
    assertThat(device.get("total_failed_syncs").asLong()).isEqualTo(2);
    assertThat(device.get("consecutive_failures").asInt()).isZero();
    assertThat(device.get("is_active").asBoolean()).isTrue();

    JsonNode stats = body.get("statistics");
    assertThat(stats.get("total_events").asLong()).isEqualTo(5);
    assertThat(stats.get("success_rate").asText()).isEqualTo("60.00%");
    assertThat(stats.get("average_files_per_sync").isIntegralNumber()).isTrue();
    assertThat(stats.get("average_files_per_sync").asLong()).isEqualTo(7);
    assertThat(stats.get("average_internet_speed").isNumber()).isTrue();
    assertThat(stats.get("average_internet_speed").asDouble()).isEqualTo(15.95);

    assertThat(pagination(body)).containsExactly(1L, 50L, 5L, 1L);
  }

  @Test
  void contractAHistoryIsNewestFirstWithAsEventFields() {
    JsonNode history = api.get(A_HISTORY).json().get("sync_history");

    assertThat(timestamps(history))
        .containsExactly(
            MILLIS.format(hoursAgo(1)),
            MILLIS.format(hoursAgo(2)),
            MILLIS.format(hoursAgo(3)),
            MILLIS.format(hoursAgo(4)),
            MILLIS.format(hoursAgo(5)));
    JsonNode newestFailure = history.get(1);
    assertThat(fieldNames(newestFailure))
        .containsExactly(
            "id",
            "timestamp",
            "total_files_synced",
            "total_errors",
            "internet_speed",
            "sync_status",
            "sync_duration",
            "error_details");
    assertThat(newestFailure.get("sync_status").asText()).isEqualTo("failed");
    assertThat(newestFailure.get("internet_speed").asDouble()).isEqualTo(7.25);
    assertThat(history.get(2).get("sync_status").asText()).isEqualTo("partial");
  }

  @Test
  void contractAPagesByNumberToTheLastPage() {
    JsonNode last = api.get(A_HISTORY + "?page=3&limit=2").json();
    JsonNode beyond = api.get(A_HISTORY + "?page=4&limit=2").json();

    assertThat(timestamps(last.get("sync_history"))).containsExactly(MILLIS.format(hoursAgo(5)));
    assertThat(pagination(last)).containsExactly(3L, 2L, 5L, 3L);
    assertThat(last.at("/statistics/total_events").asLong()).isEqualTo(5);
    assertThat(beyond.get("sync_history")).isEmpty();
  }

  @Test
  void eventsWithTheSameTimestampKeepOneOrderAcrossPages() {
    Instant at = hoursAgo(6);
    for (int i = 0; i < 3; i++) {
      Map<String, Object> e = CompatIngestTest.event("same-time", at);
      devices.post("/api/piSync/sync-event", e);
    }
    String path = "/api/piSync/device/same-time/sync-history?limit=1&page=";

    List<String> ids = new ArrayList<>();
    for (int page = 1; page <= 3; page++) {
      ids.add(api.get(path + page).json().at("/sync_history/0/id").asText());
    }
    List<String> all = new ArrayList<>();
    api.get("/api/piSync/device/same-time/sync-history")
        .json()
        .get("sync_history")
        .forEach(e -> all.add(e.get("id").asText()));

    assertThat(ids).doesNotHaveDuplicates().containsExactlyElementsOf(all);
  }

  @ParameterizedTest
  @ValueSource(strings = {"page=0", "page=abc", "limit=0", "limit=201", "limit=1.5"})
  void aBadPageParameterIsA400NamingIt(String query) {
    for (String path : List.of(A_HISTORY, B_HISTORY)) {
      var r = api.get(path + "?" + query);

      assertThat(r.status()).isEqualTo(400);
      assertThat(r.contentType()).startsWith("application/problem+json");
      assertThat(r.json().at("/errors/0/field").asText()).isEqualTo(query.split("=")[0]);
    }
  }

  @Test
  void contractAAnswersAnUnknownDeviceWith404CarryingAsErrorMember() {
    var r = api.get("/api/piSync/device/NO-SUCH-DEVICE/sync-history");

    assertThat(r.status()).isEqualTo(404);
    assertThat(r.contentType()).startsWith("application/problem+json");
    assertThat(r.json().get("error").asText()).isEqualTo("Device not found");
    assertThat(r.json().get("request_id").asText()).isEqualTo(r.header("X-Request-Id"));
    assertThat(r.json().get("type").asText()).endsWith("/device-not-found");
  }

  @Test
  void contractBHistoryIsABareArrayOfFlatRowsNewestFirst() {
    var r = api.get(B_HISTORY);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("X-Total-Count")).isEqualTo("5");
    JsonNode rows = r.json();
    assertThat(rows.isArray()).isTrue();
    assertThat(timestamps(rows)).hasSize(5).startsWith(MILLIS.format(hoursAgo(1)));
    assertThat(fieldNames(rows.get(0)))
        .containsExactlyInAnyOrder(
            "id",
            "device_id",
            "timestamp",
            "total_files_synced",
            "total_errors",
            "internet_speed",
            "sync_status",
            "createdAt",
            "updatedAt");
    assertThat(rows.get(0).get("device_id").asText()).isEqualTo(DEVICE);
  }

  @Test
  void contractBPagesWithPageAndLimitAndCountsInAHeader() {
    var r = api.get(B_HISTORY + "?page=2&limit=2");

    assertThat(r.header("X-Total-Count")).isEqualTo("5");
    assertThat(timestamps(r.json()))
        .containsExactly(MILLIS.format(hoursAgo(3)), MILLIS.format(hoursAgo(4)));
  }

  @Test
  void contractBAnswersAnUnknownDeviceWithAnEmptyArray() {
    var r = api.get("/api/sync-event/device/NO-SUCH-DEVICE/sync-history");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("application/json");
    assertThat(r.body()).isEqualTo("[]");
    assertThat(r.header("X-Total-Count")).isEqualTo("0");
  }

  private static List<String> timestamps(JsonNode events) {
    List<String> out = new ArrayList<>();
    events.forEach(e -> out.add(e.get("timestamp").asText()));
    return out;
  }

  private static List<Long> pagination(JsonNode body) {
    JsonNode p = body.get("pagination");
    assertThat(fieldNames(p))
        .containsExactly("current_page", "per_page", "total_records", "total_pages");
    return List.of(
        p.get("current_page").asLong(),
        p.get("per_page").asLong(),
        p.get("total_records").asLong(),
        p.get("total_pages").asLong());
  }
}
