package io.pisync.support;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.server.Config;
import io.pisync.server.PiSyncServer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real PiSync server on a free port over its own fresh PostgreSQL database, with a clock the test
 * controls. {@link #api()} is signed in as the first admin; {@link #device} gives a registered
 * device's client.
 */
public final class TestServer implements AutoCloseable {
  public static final String ADMIN_PASSWORD = "admin-password-for-tests";

  /** 32 bytes, base64: a fixed token signing key, so the data directory is not needed. */
  public static final String JWT_SECRET = "dGVzdC1zaWduaW5nLWtleS1mb3ItcGlzeW5jLXRlc3RzISE=";

  private final PiSyncServer server;
  private final TestClock clock;
  private final String jdbcUrl;
  private final Api anonymous;
  private final Map<String, String> deviceKeys = new ConcurrentHashMap<>();
  private final Api admin;
  private String adminToken;
  private java.time.Instant adminTokenRenewal = java.time.Instant.MIN;

  private TestServer(PiSyncServer server, TestClock clock, String jdbcUrl) {
    this.server = server;
    this.clock = clock;
    this.jdbcUrl = jdbcUrl;
    this.anonymous = new Api("http://127.0.0.1:" + server.port());
    this.admin = anonymous.withBearerFor(body -> adminToken());
    adminToken();
  }

  public static TestServer start() {
    return start(Map.of());
  }

  /** Starts with extra settings, given as PISYNC_* environment entries. */
  public static TestServer start(Map<String, String> settings) {
    String url = SharedPostgres.newDatabase();
    return start(settings, url, new TestClock());
  }

  /** Starts another instance on an existing database (several instances, one database). */
  public static TestServer start(Map<String, String> settings, String jdbcUrl, TestClock clock) {
    Map<String, String> env = new HashMap<>(settings);
    env.put("PISYNC_DB_URL", jdbcUrl);
    env.put("PISYNC_PORT", "0");
    env.put("PISYNC_HOST", "127.0.0.1");
    env.putIfAbsent("PISYNC_DB_POOL_SIZE", "8");
    env.putIfAbsent("PISYNC_ADMIN_PASSWORD", ADMIN_PASSWORD);
    env.putIfAbsent("PISYNC_JWT_SECRET", JWT_SECRET);
    env.putIfAbsent("PISYNC_LOGIN_FAILURE_DELAY_MS", "0");
    env.putIfAbsent("PISYNC_RATE_DEVICE_PER_MINUTE", "1000000");
    env.putIfAbsent("PISYNC_RATE_ACCOUNT_PER_MINUTE", "1000000");
    env.putIfAbsent("PISYNC_RATE_ADDRESS_PER_MINUTE", "1000000");
    return new TestServer(PiSyncServer.start(Config.load(env), clock), clock, jdbcUrl);
  }

  /** A client signed in as the first admin (signing in again when the test clock moves on). */
  public Api api() {
    return admin;
  }

  private synchronized String adminToken() {
    java.time.Instant now = clock.instant();
    if (adminToken == null || !now.isBefore(adminTokenRenewal)) {
      adminToken = login("admin", ADMIN_PASSWORD);
      adminTokenRenewal = now.plus(java.time.Duration.ofMinutes(10));
    }
    return adminToken;
  }

  /** A client without credentials. */
  public Api anonymous() {
    return anonymous;
  }

  /** The access token of a sign-in; fails the test if the sign-in fails. */
  public String login(String username, String password) {
    return signIn(username, password).get("access_token").asText();
  }

  /** Signs in and returns the whole answer: access token, refresh token, role. */
  public JsonNode signIn(String username, String password) {
    Api.Response r =
        anonymous.post("/api/v1/auth/login", Map.of("username", username, "password", password));
    if (r.status() != 200) {
      throw new AssertionError("login of " + username + ": " + r.status() + " " + r.body());
    }
    return r.json();
  }

  /** Logs the session of this refresh token out; the answer's status. */
  public int logout(String refreshToken) {
    return anonymous.post("/api/v1/auth/logout", Map.of("refresh_token", refreshToken)).status();
  }

  /** A client signed in as a new account with this role ("viewer", "operator", "admin"). */
  public Api person(String username, String role) {
    String password = "password-of-" + username;
    Api.Response r =
        api()
            .post(
                "/api/v1/accounts",
                Map.of("username", username, "password", password, "role", role));
    if (r.status() != 201) {
      throw new AssertionError("create " + username + ": " + r.status() + " " + r.body());
    }
    return anonymous.withBearer(login(username, password));
  }

  /** A client with the key of this device, registered (as a PiBook) on first use. */
  public Api device(String deviceId) {
    return anonymous.withBearer(deviceKey(deviceId));
  }

  /**
   * A client acting as whichever device its request body names ({@code device_id}), with that
   * device's key; bodies naming no device use the key of {@code fleet-default}.
   */
  public Api fleet() {
    return anonymous.withBearerFor(body -> {
      String id = "fleet-default";
      try {
        JsonNode node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
        if (node != null && node.path("device_id").isTextual()) {
          String named = node.get("device_id").asText();
          if (named.matches("[A-Za-z0-9._:-]{1,64}")) id = named;
        }
      } catch (Exception notJson) {
        // a malformed body: any device's key will do to see the 400
      }
      return deviceKey(id);
    });
  }

  /** The key of this device, registered (as a PiBook) on first use. */
  public String deviceKey(String deviceId) {
    return deviceKeys.computeIfAbsent(
        deviceId,
        id -> {
          Api.Response r =
              api()
                  .post(
                      "/api/v1/devices",
                      Map.of("device_id", id, "type", "PiBook", "group", "test-school"));
          if (r.status() != 201) {
            throw new AssertionError("register " + id + ": " + r.status() + " " + r.body());
          }
          JsonNode key = r.json().get("api_key");
          return key.asText();
        });
  }

  public TestClock clock() {
    return clock;
  }

  public int port() {
    return server.port();
  }

  public PiSyncServer server() {
    return server;
  }

  /** JDBC URL of this server's database (user postgres, no password). */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  @Override
  public void close() {
    server.close();
  }
}
