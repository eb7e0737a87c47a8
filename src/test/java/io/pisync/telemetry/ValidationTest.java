package io.pisync.telemetry;

import static io.pisync.support.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Every validation rule of a v1 event answers 400 problem+json naming the field and value. */
class ValidationTest {
  static TestServer server;
  static final Instant RECENT = Instant.now().minus(Duration.ofHours(3));

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Stream<Arguments> invalidFields() {
    return Stream.of(
        Arguments.of("device_id", null, "is required"),
        Arguments.of("device_id", "", "must be 1 to 64"),
        Arguments.of("device_id", "has space", "must be 1 to 64"),
        Arguments.of("device_id", "x".repeat(65), "must be 1 to 64"),
        Arguments.of("device_id", 42, "must be 1 to 64"),
        Arguments.of("device_id", "repeated-failures", "is reserved"),
        Arguments.of("device_id", ".", "'.' and '..' mean"),
        Arguments.of("device_id", "..", "'.' and '..' mean"),
        Arguments.of("timestamp", null, "is required"),
        Arguments.of("timestamp", "yesterday", "ISO-8601"),
        Arguments.of("timestamp", "2025-06-01T10:30:00", "ISO-8601"),
        Arguments.of("timestamp", "2025-06-01 10:30:00+05:30", "ISO-8601"),
        Arguments.of("timestamp", "1999-12-31T23:59:59Z", "must not be before"),
        Arguments.of("timestamp", Instant.now().plus(Duration.ofDays(3)).toString(), "ahead"),
        Arguments.of("timestamp", 1748773800, "ISO-8601"),
        Arguments.of("total_files_synced", null, "is required"),
        Arguments.of("total_files_synced", -1, "must be >= 0"),
        Arguments.of("total_files_synced", 1.5, "whole number"),
        Arguments.of("total_files_synced", "43", "whole number"),
        Arguments.of("total_files_synced", 3_000_000_000L, "at most"),
        Arguments.of("total_errors", null, "is required"),
        Arguments.of("total_errors", -2, "must be >= 0"),
        Arguments.of("total_errors", true, "whole number"),
        Arguments.of("internet_speed", null, "is required"),
        Arguments.of("internet_speed", -0.5, "between 0"),
        Arguments.of("internet_speed", "fast", "must be a number"),
        Arguments.of("internet_speed", "10", "must be a number"),
        Arguments.of("event_id", "not-a-uuid", "UUID"),
        Arguments.of("event_id", 7, "UUID"),
        Arguments.of("duration_ms", -1, "must be >= 0"),
        Arguments.of("bytes_synced", "many", "whole number"),
        Arguments.of("error_message", 5, "must be a string"),
        Arguments.of("error_message", "e".repeat(2001), "at most 2000"),
        Arguments.of("app_version", "v".repeat(65), "at most 64"),
        Arguments.of("surprise", "x", "unknown field"));
  }

  @ParameterizedTest(name = "{0} = {1}")
  @MethodSource("invalidFields")
  void rejectsAnInvalidFieldNamingItAndItsValue(String field, Object value, String message) {
    Map<String, Object> body = new LinkedHashMap<>(event("val-dev", RECENT, 1, 0));
    if (value == null) {
      body.remove(field);
    } else {
      body.put(field, value);
    }
    var r = server.api().post("/api/v1/sync-events", body);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.contentType()).startsWith("application/problem+json");
    JsonNode problem = r.json();
    assertThat(problem.get("type").asText()).endsWith("/validation");
    assertThat(problem.get("errors")).hasSize(1);
    JsonNode error = problem.get("errors").get(0);
    assertThat(error.get("field").asText()).isEqualTo(field);
    assertThat(error.get("message").asText()).contains(message);
    if (value instanceof String s && s.length() < 100) {
      assertThat(error.get("value").asText()).isEqualTo(s);
    }
    assertThat(server.api().get("/api/v1/devices/val-dev").status()).isEqualTo(404);
  }

  @Test
  void reportsEveryInvalidFieldAtOnce() {
    var r =
        server
            .api()
            .post(
                "/api/v1/sync-events",
                Map.of("device_id", "bad id!", "timestamp", "nope", "total_errors", -1));

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().get("errors"))
        .extracting(e -> e.get("field").asText())
        .containsExactlyInAnyOrder(
            "device_id", "timestamp", "total_files_synced", "total_errors", "internet_speed");
  }

  @Test
  void acceptsOptionalFieldsAndNullsForThem() {
    Map<String, Object> body = new LinkedHashMap<>(event("opt-dev", RECENT, 3, 1));
    body.put("duration_ms", 5400);
    body.put("bytes_synced", 123456789012L);
    body.put("error_message", "disk full");
    body.put("app_version", "2.4.1");
    body.put("event_id", null);
    var r = server.api().post("/api/v1/sync-events", body);

    assertThat(r.status()).isEqualTo(201);
    assertThat(r.json().get("duration_ms").asLong()).isEqualTo(5400);
    assertThat(r.json().get("bytes_synced").asLong()).isEqualTo(123456789012L);
    assertThat(r.json().get("error_message").asText()).isEqualTo("disk full");
    assertThat(r.json().get("app_version").asText()).isEqualTo("2.4.1");
  }

  @Test
  void keepsTheInstantOfATimestampWithAnyOffset() {
    var r =
        server
            .api()
            .post(
                "/api/v1/sync-events",
                Map.of(
                    "device_id", "offset-dev",
                    "timestamp", "2025-06-01T10:30:00+05:30",
                    "total_files_synced", 1,
                    "total_errors", 0,
                    "internet_speed", 0));
    assertThat(r.status()).isEqualTo(201);
    assertThat(Instant.parse(r.json().get("timestamp").asText()))
        .isEqualTo(Instant.parse("2025-06-01T05:00:00Z"));
  }

  @Test
  void malformedJsonIs400ProblemNotHtml() {
    var r = server.api().post("/api/v1/sync-events", "{\"device_id\": ");
    assertProblem(r, 400, "/malformed-json");
    assertProblem(server.api().post("/api/v1/sync-events", ""), 400, "/malformed-json");
    assertProblem(server.api().post("/api/v1/sync-events", "[1,2]"), 400, "/validation");
    assertProblem(server.api().post("/api/v1/sync-events", "{\"a\":1,\"a\":2}"), 400, "");
  }

  @Test
  void wrongOrMissingContentTypeIs415() {
    String body = Api.json(event("ct-dev", RECENT, 1, 0));
    assertProblem(
        server.api().send("POST", "/api/v1/sync-events", body, "text/plain"),
        415,
        "/unsupported-media-type");
    assertProblem(
        server.api().send("POST", "/api/v1/sync-events", body, null),
        415,
        "/unsupported-media-type");
    assertThat(
            server
                .api()
                .send("POST", "/api/v1/sync-events", body, "application/json; charset=utf-8")
                .status())
        .isEqualTo(201);
  }

  @Test
  void tooLargeBodyIs413() {
    String huge = "{\"device_id\":\"" + "x".repeat(1_100_000) + "\"}";
    Api.Response r = server.api().post("/api/v1/sync-events", huge);
    assertProblem(r, 413, "/payload-too-large");
    assertThat(r.json().get("max_bytes").asLong()).isEqualTo(1_048_576);
  }

  @ParameterizedTest
  @ValueSource(strings = {"repeated-failures", ".", ".."})
  void deviceIdsThatAUrlCannotAddressCannotBeRegisteredEither(String id) {
    Api.Response r =
        server
            .api()
            .post("/api/v1/devices", Map.of("device_id", id, "type", "PiBox", "group", "lab"));
    assertProblem(r, 400, "/validation");
    JsonNode error = r.json().get("errors").get(0);
    assertThat(error.get("field").asText()).isEqualTo("device_id");
    assertThat(error.get("value").asText()).isEqualTo(id);
    assertThat(error.get("message").asText()).contains("is reserved");
  }

  @Test
  void aBatchItemWithADotSegmentIdIsRefusedAloneAndTheOthersAreStored() {
    Api.Response r =
        server
            .api()
            .post(
                "/api/v1/sync-events/batch",
                Map.of(
                    "events", List.of(event("..", RECENT, 1, 0), event("dots-ok", RECENT, 1, 0))));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().at("/results/0/outcome").asText()).isEqualTo("invalid");
    assertThat(r.json().at("/results/0/errors/0/field").asText()).isEqualTo("events[0].device_id");
    assertThat(r.json().at("/results/0/errors/0/message").asText()).contains("is reserved");
    assertThat(r.json().at("/results/1/outcome").asText()).isEqualTo("created");
  }

  @Test
  void idsWithDotsThatAreNotPathSegmentsAreOrdinaryDevices() {
    Api.Response stored = server.api().post("/api/v1/sync-events", event("...", RECENT, 2, 0));
    assertThat(stored.status()).isEqualTo(201);
    assertThat(server.api().get("/api/v1/devices/.../sync-events").status()).isEqualTo(200);
  }

  @Test
  void aBodyOfUnknownLengthIsReadAndHeldToTheSameLimit() {
    String body = Api.json(event("chunked-dev", RECENT, 2, 0));
    Api.Response stored = server.api().send(chunked(body));
    assertThat(stored.status()).isEqualTo(201);
    assertThat(stored.json().get("device_id").asText()).isEqualTo("chunked-dev");

    String huge = "{\"device_id\":\"" + "x".repeat(1_100_000) + "\"}";
    Api.Response refused = server.api().send(chunked(huge));
    assertProblem(refused, 413, "/payload-too-large");
  }

  /** No Content-Length: the client streams the body in chunks. */
  private static java.net.http.HttpRequest.Builder chunked(String body) {
    byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return java.net.http.HttpRequest.newBuilder(server.api().uri("/api/v1/sync-events"))
        .header("Content-Type", "application/json")
        .POST(
            java.net.http.HttpRequest.BodyPublishers.ofInputStream(
                () -> new java.io.ByteArrayInputStream(bytes)));
  }

  @Test
  void deeplyNestedJsonIsRejectedAs400() {
    String nested = "[".repeat(5000) + "]".repeat(5000);
    var r = server.api().post("/api/v1/sync-events", nested);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.contentType()).startsWith("application/problem+json");
  }

  @Test
  void unknownRouteIs404AndWrongMethodIs405() {
    assertProblem(server.api().get("/api/v1/nothing-here"), 404, "/not-found");
    assertProblem(server.api().get("/"), 404, "/not-found");
    assertProblem(
        server.api().send("DELETE", "/api/v1/sync-events", null, null), 405, "/method-not-allowed");
    var put = server.api().send("PUT", "/api/v1/devices", "{}", "application/json");
    assertProblem(put, 405, "/method-not-allowed");
    assertThat(put.header("Allow"))
        .as("RFC 9110: a 405 lists the methods")
        .isEqualTo("GET, HEAD, POST");
    assertThat(server.api().send("DELETE", "/api/v1/devices/some-dev", null, null).header("Allow"))
        .isEqualTo("GET, HEAD");
    assertThat(
            server.api().send("PUT", "/api/v1/devices/", "{}", "application/json").header("Allow"))
        .isEqualTo("GET, HEAD, POST");
  }

  @Test
  void malformedUtf8IsRefusedNotDecodedIntoAnotherId() {
    var body = new java.io.ByteArrayOutputStream();
    body.writeBytes("{\"device_id\":\"utf-dev".getBytes(StandardCharsets.UTF_8));
    body.writeBytes(new byte[] {(byte) 0xC0, (byte) 0xAD}); // an overlong '-'
    body.writeBytes(
        ("1\",\"timestamp\":\""
                + RECENT
                + "\",\"total_files_synced\":1,\"total_errors\":0,"
                + "\"internet_speed\":1}")
            .getBytes(StandardCharsets.UTF_8));
    var r = postEvent(body.toByteArray(), "application/json");
    assertProblem(r, 400, "/malformed-json");
    assertThat(r.json().get("detail").asText()).contains("not valid UTF-8");
    assertThat(server.api().get("/api/v1/devices/utf-dev-1").status()).isEqualTo(404);
  }

  @Test
  void aJsonBodyInAnotherCharsetIs415UnlessItIsAscii() {
    String json =
        "{\"device_id\":\"latin-dev\",\"timestamp\":\""
            + RECENT
            + "\",\"total_files_synced\":1,\"total_errors\":1,\"internet_speed\":1,"
            + "\"error_message\":\"%s\"}";
    var refused =
        postEvent(
            json.formatted("d\u00e9j\u00e0 vu").getBytes(StandardCharsets.ISO_8859_1),
            "application/json; charset=ISO-8859-1");
    assertProblem(refused, 415, "/unsupported-media-type");
    assertThat(refused.json().get("detail").asText()).contains("iso-8859-1");
    // old HTTP stacks label every body ISO-8859-1: an ASCII body reads the same, so it is taken
    var ascii = postEvent(json.formatted("timeout"), "application/json; charset=ISO-8859-1");
    assertThat(ascii.status()).as(ascii.body()).isEqualTo(201);
    var alias = postEvent(json.formatted("d\u00e9j\u00e0 vu"), "application/json; charset=utf8");
    assertThat(alias.status()).as("utf8 is UTF-8").isEqualTo(201);
    for (String bogus : java.util.List.of("charset=bogus", "charset=???")) {
      var unknown = postEvent(json.formatted("d\u00e9j\u00e0 vu"), "application/json; " + bogus);
      assertProblem(unknown, 415, "/unsupported-media-type");
    }
  }

  /** POSTs one event body as it is, under the given Content-Type. */
  private static Api.Response postEvent(String body, String contentType) {
    return server.api().send("POST", "/api/v1/sync-events", body, contentType);
  }

  /** The same with raw bytes: malformed UTF-8, or text in another charset. */
  private static Api.Response postEvent(byte[] body, String contentType) {
    return server
        .api()
        .send(
            java.net.http.HttpRequest.newBuilder(server.api().uri("/api/v1/sync-events"))
                .header("Content-Type", contentType)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  static void assertProblem(Api.Response r, int status, String typeSuffix) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.contentType()).startsWith("application/problem+json");
    assertThat(r.body()).doesNotContain("<html", "Exception", "\tat ");
    JsonNode problem = r.json();
    assertThat(problem.get("status").asInt()).isEqualTo(status);
    assertThat(problem.get("type").asText())
        .startsWith("https://pisync.dev/problems")
        .endsWith(typeSuffix);
    assertThat(problem.get("title").asText()).isNotBlank();
    assertThat(problem.get("detail").asText()).isNotBlank();
  }
}
