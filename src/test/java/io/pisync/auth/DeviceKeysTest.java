package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.Events;
import io.pisync.support.TestServer;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DeviceKeysTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server =
        TestServer.start(
            Map.of("PISYNC_ENROLMENT_TOKEN", "fleet-token-2026", "PISYNC_KEY_GRACE_HOURS", "2"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Instant recent() {
    return server.clock().instant().minus(Duration.ofHours(1));
  }

  static Api.Response register(String id) {
    return server
        .api()
        .post(
            "/api/v1/devices",
            Map.of(
                "device_id",
                id,
                "type",
                "PiBox",
                "group",
                "Springfield Elementary",
                "labels",
                Map.of("room", "4B")));
  }

  @Test
  void aRegisteredDeviceGetsA256BitKeyOnceAndReportsWithIt() {
    var r = register("keys-new");
    assertThat(r.status()).isEqualTo(201);
    String key = r.json().get("api_key").asText();
    assertThat(key).startsWith("psk_").hasSizeGreaterThanOrEqualTo(4 + 43);
    assertThat(r.json().get("type").asText()).isEqualTo("PiBox");
    assertThat(r.json().get("labels").get("room").asText()).isEqualTo("4B");

    Api device = server.anonymous().withBearer(key);
    assertThat(device.post("/api/v1/sync-events", Events.success("keys-new", recent())).status())
        .isEqualTo(201);
    var shown = server.api().get("/api/v1/devices/keys-new/registration");
    assertThat(shown.status()).isEqualTo(200);
    assertThat(
            shown.json().path("api_key").isNull() || shown.json().path("api_key").isMissingNode())
        .as("the key is shown only when issued")
        .isTrue();
    assertThat(shown.json().get("active_keys").asInt()).isEqualTo(1);
    assertThat(register("keys-new").status()).isEqualTo(409);
  }

  @Test
  void theKeyAlsoWorksInXApiKey() {
    String key = server.deviceKey("keys-header");
    var r =
        server
            .anonymous()
            .send(
                HttpRequest.newBuilder(server.anonymous().uri("/api/v1/devices/keys-header"))
                    .header("X-API-Key", key)
                    .GET());
    assertThat(r.status()).isIn(200, 404);
    assertThat(r.status()).isNotIn(401, 403);

    // two credentials are refused, never one picked: here another device's key in the header
    String other = server.deviceKey("keys-other");
    var both =
        server
            .anonymous()
            .send(
                HttpRequest.newBuilder(server.anonymous().uri("/api/v1/devices/keys-header"))
                    .header("Authorization", "Bearer " + other)
                    .header("X-API-Key", key)
                    .GET());
    assertThat(both.status()).isEqualTo(400);
    assertThat(both.body()).contains("one credential").doesNotContain(key).doesNotContain(other);
    var twice =
        server
            .anonymous()
            .send(
                HttpRequest.newBuilder(server.anonymous().uri("/api/v1/devices/keys-header"))
                    .header("Authorization", "Bearer " + key)
                    .header("Authorization", "Bearer garbage")
                    .GET());
    assertThat(twice.status()).isEqualTo(400);
    var behindProxy =
        server
            .anonymous()
            .send(
                HttpRequest.newBuilder(server.anonymous().uri("/api/v1/devices/keys-header"))
                    .header("Authorization", "Basic cHJveHk6c2VjcmV0")
                    .header("X-API-Key", key)
                    .GET());
    assertThat(behindProxy.status())
        .as("a proxy's Basic credentials are not PiSync's: the key acts")
        .isIn(200, 404);
  }

  @Test
  void aDeviceCannotReportOrReadForAnotherAndNothingIsStored() {
    Api a = server.device("keys-a");
    server.deviceKey("keys-b");
    var single = a.post("/api/v1/sync-events", Events.success("keys-b", recent()));
    assertThat(single.status()).isEqualTo(403);
    var batch =
        a.post(
            "/api/v1/sync-events/batch",
            Map.of(
                "events",
                List.of(
                    Events.success("keys-a", recent()),
                    Events.success("keys-b", recent().minusSeconds(5)))));
    assertThat(batch.status()).isEqualTo(403);
    assertThat(a.get("/api/v1/devices/keys-b/sync-events").status()).isEqualTo(403);
    assertThat(server.api().get("/api/v1/devices/keys-b").status())
        .as("no event stored for keys-b")
        .isEqualTo(404);
    assertThat(server.api().get("/api/v1/devices/keys-a").status())
        .as("the batch was refused whole")
        .isEqualTo(404);
  }

  @Test
  void rotationKeepsTheOldKeyForTheGracePeriodOnly() {
    String old = server.deviceKey("keys-rotated");
    var rotated = server.api().post("/api/v1/devices/keys-rotated/keys/rotate", "");
    assertThat(rotated.status()).isEqualTo(200);
    String fresh = rotated.json().get("api_key").asText();
    assertThat(fresh).isNotEqualTo(old);
    assertThat(Instant.parse(rotated.json().get("previous_keys_valid_until").asText()))
        .isCloseTo(
            server.clock().instant().plus(Duration.ofHours(2)),
            org.assertj.core.api.Assertions.within(5, java.time.temporal.ChronoUnit.SECONDS));

    assertThat(get(old, "keys-rotated")).isNotIn(401, 403);
    assertThat(get(fresh, "keys-rotated")).isNotIn(401, 403);
    server.clock().advance(Duration.ofHours(2).plusSeconds(1));
    try {
      assertThat(get(old, "keys-rotated")).isEqualTo(401);
      assertThat(get(fresh, "keys-rotated")).isNotIn(401, 403);
    } finally {
      server.clock().advance(Duration.ofHours(-2).minusSeconds(1));
    }
  }

  @Test
  void revocationAppliesOnTheNextRequest() {
    String key = server.deviceKey("keys-revoked");
    assertThat(get(key, "keys-revoked")).isNotIn(401, 403);
    assertThat(server.api().post("/api/v1/devices/keys-revoked/keys/revoke", "").status())
        .isEqualTo(204);
    assertThat(get(key, "keys-revoked")).isEqualTo(401);
    assertThat(
            server
                .anonymous()
                .withBearer(key)
                .post("/api/v1/sync-events", Events.success("keys-revoked", recent()))
                .status())
        .isEqualTo(401);
    var again = server.api().post("/api/v1/devices/keys-revoked/keys/rotate", "");
    assertThat(get(again.json().get("api_key").asText(), "keys-revoked")).isNotIn(401, 403);
    assertThat(server.api().post("/api/v1/devices/nobody/keys/revoke", "").status()).isEqualTo(404);
  }

  @Test
  void aFleetDeviceEnrolsItselfOnceWithTheToken() {
    Map<String, Object> body =
        Map.of(
            "enrolment_token", "fleet-token-2026",
            "device_id", "keys-enrolled",
            "type", "PiBook",
            "group", "class 3");
    Map<String, Object> wrong = new java.util.HashMap<>(body);
    wrong.put("enrolment_token", "guess");
    assertThat(server.anonymous().post("/api/v1/devices/enrol", wrong).status()).isEqualTo(401);

    var enrolled = server.anonymous().post("/api/v1/devices/enrol", body);
    assertThat(enrolled.status()).isEqualTo(201);
    assertThat(enrolled.json().get("registered_by").asText()).isEqualTo("enrolment");
    String key = enrolled.json().get("api_key").asText();
    assertThat(get(key, "keys-enrolled")).isNotIn(401, 403);
    assertThat(server.anonymous().post("/api/v1/devices/enrol", body).status())
        .as("a second enrolment of the same device")
        .isEqualTo(409);
    assertThat(enrolled.body()).doesNotContain("fleet-token-2026");
  }

  @Test
  void enrolmentIsOffByDefault() {
    try (TestServer plain = TestServer.start()) {
      var r =
          plain
              .anonymous()
              .post(
                  "/api/v1/devices/enrol",
                  Map.of(
                      "enrolment_token", "anything",
                      "device_id", "x1",
                      "type", "PiBook",
                      "group", "g"));
      assertThat(r.status()).isEqualTo(403);
      assertThat(r.json().get("type").asText()).endsWith("/enrolment-off");
    }
  }

  @Test
  void invalidRegistrationsNameEveryBadField() {
    var r =
        server
            .api()
            .post(
                "/api/v1/devices",
                Map.of("device_id", "bad id!", "type", "iPad", "group", "", "colour", "red"));
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().get("errors"))
        .extracting(e -> e.get("field").asText())
        .containsExactlyInAnyOrder("device_id", "type", "group", "colour");

    var badLabel =
        server
            .api()
            .post(
                "/api/v1/devices",
                "{\"device_id\":\"label-dev\",\"type\":\"PiBook\",\"group\":\"g\","
                    + "\"labels\":{\"room\":\"a\\ud800b\"}}");
    assertThat(badLabel.status()).isEqualTo(400);
    assertThat(reason(badLabel, "labels.room")).contains("valid Unicode");

    var badPath = server.api().post("/api/v1/devices/a%20b/keys/revoke", "{}");
    assertThat(badPath.status()).isEqualTo(400);
    assertThat(reason(badPath, "device_id")).isEqualTo(reason(r, "device_id"));
    assertThat(server.api().get("/api/v1/devices/a%20b/registration").status()).isEqualTo(400);

    // A report from the same id is refused in the same words.
    var report =
        server
            .api()
            .post(
                "/api/v1/sync-events",
                Map.of(
                    "device_id",
                    "bad id!",
                    "timestamp",
                    "2026-11-21T10:00:00Z",
                    "total_files_synced",
                    1,
                    "total_errors",
                    0,
                    "internet_speed",
                    1.0));
    assertThat(report.status()).isEqualTo(400);
    assertThat(reason(report, "device_id"))
        .isEqualTo(reason(r, "device_id"))
        .isEqualTo("must be 1 to 64 characters of ASCII letters, digits, '.', '_', ':' or '-'");
  }

  private static String reason(Api.Response response, String field) {
    for (var error : response.json().get("errors")) {
      if (error.get("field").asText().equals(field)) return error.get("message").asText();
    }
    throw new AssertionError("no error for " + field + " in " + response.body());
  }

  @Test
  void keysAreStoredOnlyAsDigests() throws Exception {
    String key = server.deviceKey("keys-digest");
    try (var c = java.sql.DriverManager.getConnection(server.jdbcUrl(), "postgres", "");
        var rs =
            c.createStatement()
                .executeQuery("SELECT key_hash FROM device_keys WHERE device_id = 'keys-digest'")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getBytes(1)).hasSize(32).isEqualTo(Secrets.digest(key));
    }
  }

  private static int get(String key, String deviceId) {
    return server.anonymous().withBearer(key).get("/api/v1/devices/" + deviceId).status();
  }
}
