package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.http.Routes;
import io.pisync.support.Api;
import io.pisync.support.Events;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every route against every kind of caller. The table below is the security model: a route without
 * a row fails this test, so nobody adds a route without deciding who may call it.
 */
class SecurityMatrixTest {
  /** Callers, in the order of the columns below. */
  enum Caller {
    NONE,
    WRONG_KEY,
    REVOKED_KEY,
    OTHER_DEVICE,
    OWN_DEVICE,
    VIEWER,
    OPERATOR,
    ADMIN
  }

  // Columns: none, wrong key, revoked key, another device's key, the device's own key, viewer,
  // operator, admin. OK means the guard let the request through (any answer but 401/403).
  private static final Map<String, String> EXPECTED = new LinkedHashMap<>();

  static {
    row("GET /health/live", "OK OK OK OK OK OK OK OK");
    row("GET /health/ready", "OK OK OK OK OK OK OK OK");
    row("GET /metrics", "OK OK OK OK OK OK OK OK");
    row("GET /openapi.json", "OK OK OK OK OK OK OK OK");
    row("GET /docs", "OK OK OK OK OK OK OK OK");
    row("GET /docs/assets/{file}", "OK OK OK OK OK OK OK OK");
    row("POST /api/v1/auth/login", "OK OK OK OK OK OK OK OK");
    row("POST /api/v1/auth/refresh", "OK OK OK OK OK OK OK OK");
    row("POST /api/v1/auth/logout", "OK OK OK OK OK OK OK OK");
    row("POST /api/v1/devices/enrol", "OK OK OK OK OK OK OK OK");
    row("GET /api/v1/auth/me", "401 401 401 403 403 OK OK OK");
    row("GET /api/v1/accounts", "401 401 401 403 403 403 403 OK");
    row("POST /api/v1/accounts", "401 401 401 403 403 403 403 OK");
    row("PATCH /api/v1/accounts/{username}", "401 401 401 403 403 403 403 OK");
    row("DELETE /api/v1/accounts/{username}", "401 401 401 403 403 403 403 OK");
    row("POST /api/v1/devices", "401 401 401 403 403 403 403 OK");
    row("GET /api/v1/registrations", "401 401 401 403 403 OK OK OK");
    row("GET /api/v1/devices/{device_id}/registration", "401 401 401 403 OK OK OK OK");
    row("POST /api/v1/devices/{device_id}/keys/rotate", "401 401 401 403 403 403 403 OK");
    row("POST /api/v1/devices/{device_id}/keys/revoke", "401 401 401 403 403 403 403 OK");
    row("POST /api/v1/sync-events", "401 401 401 403 OK 403 403 OK");
    row("POST /api/v1/sync-events/batch", "401 401 401 403 OK 403 403 OK");
    row("GET /api/v1/devices/{device_id}/sync-events", "401 401 401 403 OK OK OK OK");
    row("GET /api/v1/devices", "401 401 401 403 403 OK OK OK");
    row("GET /api/v1/devices/repeated-failures", "401 401 401 403 403 OK OK OK");
    row("GET /api/v1/devices/{device_id}", "401 401 401 403 OK OK OK OK");
    row("GET /api/v1/stats", "401 401 401 403 403 OK OK OK");
    row("POST /api/piSync/sync-event", "401 401 401 403 OK 403 403 403");
    row("GET /api/piSync/device/{id}/sync-history", "401 401 401 403 OK OK OK OK");
    row("GET /api/piSync/devices/repeated-failures", "401 401 401 403 403 OK OK OK");
    row("POST /api/sync-event", "401 401 401 403 OK 403 403 403");
    row("GET /api/sync-event/device/{id}/sync-history", "401 401 401 403 OK OK OK OK");
    row("GET /api/sync-event/devices/repeated-failures", "401 401 401 403 403 OK OK OK");
    row("POST /api/v1/sync/push", "401 401 401 OK OK 403 403 403");
    row("GET /api/v1/sync/pull", "401 401 401 OK OK 403 403 403");
    row("POST /api/v1/sync", "401 401 401 OK OK 403 403 403");
    row("GET /api/v1/sync/stream", "401 401 401 OK OK 403 403 403");
    row("GET /api/v1/sync/collections", "401 401 401 403 403 OK OK OK");
    row("PUT /api/v1/sync/collections/{name}", "401 401 401 403 403 403 403 OK");
    row("PUT /api/v1/sync/devices/{device_id}/scopes/{scope}", "401 401 401 403 403 403 403 OK");
    row("DELETE /api/v1/sync/devices/{device_id}/scopes/{scope}", "401 401 401 403 403 403 403 OK");
    row("GET /api/v1/sync/devices/{device_id}", "401 401 401 403 403 OK OK OK");
    row("GET /api/v1/sync/records", "401 401 401 403 403 OK OK OK");
    row("GET /api/v1/sync/records/{collection}/{scope}/{record_id}", "401 401 401 OK OK OK OK OK");
    row(
        "GET /api/v1/sync/records/{collection}/{scope}/{record_id}/conflicts",
        "401 401 401 OK OK OK OK OK");
  }

  private static void row(String route, String outcomes) {
    assertThat(outcomes.split(" ")).hasSize(Caller.values().length);
    EXPECTED.put(route, outcomes);
  }

  static final String DEVICE = "matrix-a";
  static TestServer server;
  static Map<Caller, Api> callers;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    Api anonymous = server.anonymous();
    server.deviceKey("matrix-c");
    String revoked = server.deviceKey("matrix-revoked");
    assertThat(server.api().post("/api/v1/devices/matrix-revoked/keys/revoke", "").status())
        .isEqualTo(204);
    callers = new LinkedHashMap<>();
    callers.put(Caller.NONE, anonymous);
    callers.put(Caller.WRONG_KEY, anonymous.withBearer(DeviceKeys.KEY_PREFIX + "not-a-real-key"));
    callers.put(Caller.REVOKED_KEY, anonymous.withBearer(revoked));
    callers.put(Caller.OTHER_DEVICE, server.device("matrix-b"));
    callers.put(Caller.OWN_DEVICE, server.device(DEVICE));
    callers.put(Caller.VIEWER, server.person("matrix-viewer", "viewer"));
    callers.put(Caller.OPERATOR, server.person("matrix-operator", "operator"));
    callers.put(Caller.ADMIN, server.api());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void everyRouteHasARowAndNoRowIsStale() {
    Set<String> registered =
        server.server().routes().all().stream()
            .map(SecurityMatrixTest::key)
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(new TreeSet<>(EXPECTED.keySet()))
        .as("routes in the security matrix vs routes the server registers")
        .isEqualTo(registered);
  }

  @Test
  void everyCallerGetsExactlyTheExpectedAnswerOnEveryRoute() {
    List<String> mismatches = new ArrayList<>();
    for (Routes.Route route : server.server().routes().all()) {
      String expected = EXPECTED.get(key(route));
      if (expected == null) continue; // reported by the other test
      String[] outcomes = expected.split(" ");
      for (Caller caller : Caller.values()) {
        Api.Response r = call(callers.get(caller), route);
        String got = r.status() == 401 || r.status() == 403 ? Integer.toString(r.status()) : "OK";
        if (r.status() >= 500) got = "5xx:" + r.body();
        if (!got.equals(outcomes[caller.ordinal()])) {
          mismatches.add(
              key(route)
                  + " as "
                  + caller
                  + ": expected "
                  + outcomes[caller.ordinal()]
                  + ", got "
                  + r.status()
                  + " "
                  + r.body());
        }
        if (r.status() == 401 || r.status() == 403) {
          assertThat(r.contentType()).startsWith("application/problem+json");
        }
      }
    }
    assertThat(mismatches).isEmpty();
  }

  @Test
  void headIsGuardedAsGetIs() {
    List<String> mismatches = new ArrayList<>();
    for (Routes.Route route : server.server().routes().all()) {
      if (!route.method().name().equals("GET")) continue;
      String[] outcomes = EXPECTED.get(key(route)).split(" ");
      for (Caller caller : Caller.values()) {
        Api.Response r = callers.get(caller).send("HEAD", path(route), null, null);
        String got = r.status() == 401 || r.status() == 403 ? Integer.toString(r.status()) : "OK";
        if (r.status() >= 500) got = "5xx";
        if (!got.equals(outcomes[caller.ordinal()])) {
          mismatches.add("HEAD " + route.path() + " as " + caller + ": " + got);
        }
      }
    }
    assertThat(mismatches).isEmpty();
  }

  private static String key(Routes.Route route) {
    return route.method().name() + " " + route.path();
  }

  private static Api.Response call(Api api, Routes.Route route) {
    String path = path(route);
    if (path.endsWith("/stream")) {
      try (var stream = api.stream(path)) { // a stream that is let through never ends by itself
        return new Api.Response(stream.status(), stream.headers(), "");
      }
    }
    return switch (route.method().name()) {
      case "GET" -> api.get(path);
      case "DELETE" -> api.delete(path);
      default -> api.send(route.method().name(), path, body(route.path()), "application/json");
    };
  }

  private static String path(Routes.Route route) {
    return route
        .path()
        .replace("{device_id}/keys", "matrix-c/keys")
        .replace("{device_id}", DEVICE)
        .replace("{id}", DEVICE)
        .replace("{username}", "nobody")
        .replace("{file}", "swagger-ui.css")
        .replace("{name}", "matrix_things")
        .replace("{collection}", "notes")
        .replace("{scope}", "matrix-scope")
        .replace("{record_id}", "matrix-record");
  }

  /** A body a device could send for itself, so only the credentials decide the answer. */
  private static String body(String path) {
    Instant at = server.clock().instant().minus(Duration.ofHours(1));
    Map<String, Object> event = Events.success(DEVICE, at);
    return switch (path) {
      case "/api/v1/sync-events" -> Api.json(event);
      case "/api/v1/sync-events/batch" -> Api.json(Map.of("events", List.of(event)));
      case "/api/piSync/sync-event", "/api/sync-event" -> Api.json(event);
      default -> "{}";
    };
  }
}
