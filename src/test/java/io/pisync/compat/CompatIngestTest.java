package io.pisync.compat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.TestServer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Devices built for contracts A and B report sync events unchanged; bad input is a JSON 400. */
class CompatIngestTest {
  static final String A_POST = "/api/piSync/sync-event";
  static final String B_POST = "/api/sync-event";
  static final String A_POSTMAN_EXAMPLE =
      """
      {"device_id":"PIBOOK-001-A7B9C","timestamp":"2025-06-01 10:30:00+05:30",\
      "total_files_synced":"43","total_errors":"2","internet_speed":10}\
      """;
  static final String B_README_EXAMPLE =
      """
      {"device_id":"string","timestamp":"2025-05-08T10:34:43.000Z",\
      "total_files_synced":100,"total_errors":0,"internet_speed":50}\
      """;
  static final String MILLIS_UTC = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

  static TestServer server;
  static Api api;
  static Api devices;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    api = server.api();
    devices = server.fleet();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void contractAsPostmanExampleIsStoredAndAnsweredInAsShape() {
    var r = devices.post(A_POST, A_POSTMAN_EXAMPLE);

    assertThat(r.status()).isEqualTo(201);
    JsonNode body = r.json();
    assertThat(fieldNames(body))
        .containsExactly(
            "id",
            "device_id",
            "timestamp",
            "total_files_synced",
            "total_errors",
            "internet_speed",
            "sync_status",
            "sync_duration",
            "error_details",
            "createdAt",
            "updatedAt");
    assertThat(UUID.fromString(body.get("id").asText())).isNotNull();
    assertThat(body.get("device_id").asText()).isEqualTo("PIBOOK-001-A7B9C");
    assertThat(body.get("timestamp").asText()).isEqualTo("2025-06-01T05:00:00.000Z");
    assertThat(body.get("total_files_synced").isInt()).isTrue();
    assertThat(body.get("total_files_synced").asInt()).isEqualTo(43);
    assertThat(body.get("total_errors").asInt()).isEqualTo(2);
    assertThat(body.get("internet_speed").isNumber()).isTrue();
    assertThat(body.get("internet_speed").asDouble()).isEqualTo(10.0);
    assertThat(body.get("sync_status").asText()).isEqualTo("partial");
    assertThat(body.get("sync_duration").isNull()).isTrue();
    assertThat(body.get("error_details").isNull()).isTrue();
    assertThat(body.get("createdAt").asText()).matches(MILLIS_UTC);
    assertThat(body.get("updatedAt").asText()).isEqualTo(body.get("createdAt").asText());
  }

  @Test
  void contractAKeepsSyncDurationInSecondsAndErrorDetails() {
    Map<String, Object> event = event("pibook-details", Instant.now().minus(1, ChronoUnit.HOURS));
    event.put("total_files_synced", "0");
    event.put("sync_duration", "30");
    event.put("error_details", "disk full");

    var body = devices.post(A_POST, event).json();

    assertThat(body.get("sync_status").asText()).isEqualTo("failed");
    assertThat(body.get("sync_duration").asLong()).isEqualTo(30);
    assertThat(body.get("error_details").asText()).isEqualTo("disk full");
  }

  @Test
  void contractBsReadmeExampleIsStoredAndAnsweredAsAFlatRow() {
    var r = devices.post(B_POST, B_README_EXAMPLE);

    assertThat(r.status()).isEqualTo(201);
    JsonNode body = r.json();
    assertThat(fieldNames(body))
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
    assertThat(UUID.fromString(body.get("id").asText())).isNotNull();
    assertThat(body.get("device_id").asText()).isEqualTo("string");
    assertThat(body.get("timestamp").asText()).isEqualTo("2025-05-08T10:34:43.000Z");
    assertThat(body.get("total_files_synced").asInt()).isEqualTo(100);
    assertThat(body.get("internet_speed").asDouble()).isEqualTo(50.0);
    assertThat(body.get("sync_status").asText()).isEqualTo("success");
    assertThat(body.get("createdAt").asText()).matches(MILLIS_UTC);
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void aNumberWithLettersIsA400NamingTheField(String path) {
    Map<String, Object> event = event("pibook-bad", Instant.now().minus(1, ChronoUnit.HOURS));
    event.put("total_files_synced", "4x3");

    assertInvalid(devices.post(path, event), "total_files_synced");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void aMissingFieldIsA400NamingIt(String path) {
    Map<String, Object> event = event("pibook-bad", Instant.now().minus(1, ChronoUnit.HOURS));
    event.remove("timestamp");

    assertInvalid(devices.post(path, event), "timestamp");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void anUnknownFieldSuchAsAClientIdIsA400(String path) {
    Map<String, Object> event = event("pibook-bad", Instant.now().minus(1, ChronoUnit.HOURS));
    event.put("createdAt", "2020-01-01T00:00:00.000Z");

    assertInvalid(devices.post(path, event), "createdAt");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void aNegativeCountIsA400(String path) {
    Map<String, Object> event = event("pibook-bad", Instant.now().minus(1, ChronoUnit.HOURS));
    event.put("total_errors", "-1");

    assertInvalid(devices.post(path, event), "total_errors");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void aTimestampWithoutOffsetIsA400(String path) {
    Map<String, Object> event = event("pibook-bad", Instant.now().minus(1, ChronoUnit.HOURS));
    event.put("timestamp", "2025-06-01 10:30:00");

    assertInvalid(devices.post(path, event), "timestamp");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void anImpossibleDateIsA400NotMovedToAnotherDay(String path) {
    for (String impossible :
        List.of("2025-02-30 10:30:00+05:30", "2025-04-31T10:30:00Z", "2025-06-01 24:00:00Z")) {
      Map<String, Object> event = event("pibook-date", Instant.now().minus(1, ChronoUnit.HOURS));
      event.put("timestamp", impossible);
      assertInvalid(devices.post(path, event), "timestamp");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void malformedJsonIsA400ProblemNeverHtml(String path) {
    var r = devices.post(path, "{\"device_id\": ");

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.contentType()).startsWith("application/problem+json");
    assertThat(r.json().get("type").asText()).endsWith("/malformed-json");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void aBodyWithoutContentTypeIsA415NotAnEmptyEvent(String path) {
    var r = devices.send("POST", path, A_POSTMAN_EXAMPLE, null);

    assertThat(r.status()).isEqualTo(415);
    assertThat(r.contentType()).startsWith("application/problem+json");
  }

  @ParameterizedTest
  @ValueSource(strings = {A_POST, B_POST})
  void aReplayedEventIdAnswers200WithTheOriginal(String path) {
    Map<String, Object> event = event("pibook-replay", Instant.now().minus(1, ChronoUnit.HOURS));
    event.put("event_id", UUID.randomUUID().toString());

    var first = devices.post(path, event);
    event.put("total_errors", 9);
    var again = devices.post(path, event);

    assertThat(first.status()).isEqualTo(201);
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json()).isEqualTo(first.json());
  }

  @Test
  void unknownRoutesAndWrongMethodsAnswerJsonNotHtml() {
    var unknown = api.get("/api/piSync/no-such-route");
    var wrongMethod = api.get(B_POST);

    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.contentType()).startsWith("application/problem+json");
    assertThat(wrongMethod.status()).isEqualTo(405);
    assertThat(wrongMethod.contentType()).startsWith("application/problem+json");
  }

  static Map<String, Object> event(String deviceId, Instant at) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("device_id", deviceId);
    e.put("timestamp", at.toString());
    e.put("total_files_synced", "5");
    e.put("total_errors", "1");
    e.put("internet_speed", 10);
    return e;
  }

  private static void assertInvalid(Api.Response r, String field) {
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.contentType()).startsWith("application/problem+json");
    List<String> fields = new ArrayList<>();
    r.json().get("errors").forEach(e -> fields.add(e.get("field").asText()));
    assertThat(fields).containsExactly(field);
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
