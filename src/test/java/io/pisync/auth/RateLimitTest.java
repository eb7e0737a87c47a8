package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.SharedPostgres;
import io.pisync.support.TestClock;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateLimitTest {
  @Test
  void aDeviceKeyIsLimitedAtTheConfiguredRateWithHeadersAndRecovers() {
    try (TestServer server = TestServer.start(Map.of("PISYNC_RATE_DEVICE_PER_MINUTE", "5"))) {
      Api device = server.device("rl-device");
      for (int i = 0; i < 5; i++) {
        var r = device.get("/api/v1/devices/rl-device");
        assertThat(r.status()).isNotEqualTo(429);
        assertThat(r.header("RateLimit-Limit")).isEqualTo("5");
        assertThat(r.header("RateLimit-Remaining")).isEqualTo(Integer.toString(4 - i));
      }
      var limited = device.get("/api/v1/devices/rl-device");
      assertThat(limited.status()).isEqualTo(429);
      assertThat(limited.contentType()).startsWith("application/problem+json");
      assertThat(limited.json().get("type").asText()).endsWith("/rate-limited");
      assertThat(limited.header("RateLimit-Remaining")).isEqualTo("0");
      assertThat(Long.parseLong(limited.header("Retry-After"))).isBetween(1L, 12L);
      assertThat(Long.parseLong(limited.header("RateLimit-Reset"))).isBetween(1L, 12L);
      assertThat(server.device("rl-other").get("/api/v1/devices/rl-other").status())
          .as("another device has its own bucket")
          .isNotEqualTo(429);

      server.clock().advance(Duration.ofSeconds(13));
      assertThat(device.get("/api/v1/devices/rl-device").status()).isNotEqualTo(429);
      server.clock().advance(Duration.ofMinutes(1));
      for (int i = 0; i < 5; i++) {
        assertThat(device.get("/api/v1/devices/rl-device").status()).isNotEqualTo(429);
      }
    }
  }

  @Test
  void anAccountIsLimitedPerAccount() {
    try (TestServer server = TestServer.start(Map.of("PISYNC_RATE_ACCOUNT_PER_MINUTE", "3"))) {
      Api admin = server.api();
      for (int i = 0; i < 3; i++) {
        assertThat(admin.get("/api/v1/stats").status()).isEqualTo(200);
      }
      assertThat(admin.get("/api/v1/stats").status()).isEqualTo(429);
    }
  }

  @Test
  void unauthenticatedRoutesAndFailedCredentialsAreLimitedPerAddressButProbesAreNot() {
    try (TestServer server = TestServer.start(Map.of("PISYNC_RATE_ADDRESS_PER_MINUTE", "4"))) {
      Api anonymous = server.anonymous();
      int limitedAt = -1;
      for (int i = 0; i < 6 && limitedAt < 0; i++) {
        var r =
            anonymous.post(
                "/api/v1/auth/login", Map.of("username", "admin", "password", "not-it-" + i));
        if (r.status() == 429) limitedAt = i;
      }
      // The admin sign-in of TestServer.start() took one token already.
      assertThat(limitedAt).isEqualTo(3);
      assertThat(anonymous.withBearer("psk_guess").get("/api/v1/devices/x").status())
          .isEqualTo(429);
      for (int i = 0; i < 20; i++) {
        assertThat(anonymous.get("/health/ready").status()).isEqualTo(200);
      }
    }
  }

  @Test
  void behindATrustedProxyEachClientItForwardsForHasItsOwnAddressLimit() {
    Map<String, String> settings =
        Map.of("PISYNC_RATE_ADDRESS_PER_MINUTE", "3", "PISYNC_TRUSTED_PROXIES", "127.0.0.0/8, ::1");
    try (TestServer server = TestServer.start(settings)) {
      assertThat(guessKeysAs(server, "203.0.113.5")).containsExactly(401, 401, 401, 429);
      assertThat(guessKeysAs(server, "198.51.100.7")).startsWith(401, 401, 401);
      // The proxy appends the address it saw: what the client wrote itself before it is ignored.
      assertThat(guessKeysAs(server, "198.51.100.99, 203.0.113.5")).containsOnly(429);
      // Some proxies write the client's port too: it is still the same client.
      assertThat(guessKeysAs(server, "203.0.113.5:51234")).containsOnly(429);
      assertThat(guessKeysAs(server, "[2001:db8::7]:443")).startsWith(401, 401, 401);
      assertThat(guessKeysAs(server, "2001:db8::7")).containsOnly(429);
    }
  }

  @Test
  void forwardedAddressesAreIgnoredFromAnyoneNotTrusted() {
    try (TestServer server = TestServer.start(Map.of("PISYNC_RATE_ADDRESS_PER_MINUTE", "3"))) {
      // The admin sign-in of TestServer.start() took one token of 127.0.0.1's bucket already.
      assertThat(guessKeysAs(server, "203.0.113.5")).containsExactly(401, 401, 429, 429);
      assertThat(guessKeysAs(server, "198.51.100.7")).containsOnly(429);
    }
  }

  /** Four requests with a wrong device key, as if forwarded for {@code forwardedFor}. */
  private static List<Integer> guessKeysAs(TestServer server, String forwardedFor) {
    List<Integer> statuses = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      var request =
          java.net.http.HttpRequest.newBuilder(server.api().uri("/api/v1/devices/x"))
              .header("Authorization", "Bearer psk_guess")
              .header("X-Forwarded-For", forwardedFor);
      statuses.add(server.anonymous().send(request).status());
    }
    return statuses;
  }

  @Test
  void sharedLimitsHoldAcrossInstancesOnOneDatabase() {
    String url = SharedPostgres.newDatabase();
    var clock = new TestClock();
    Map<String, String> shared =
        Map.of("PISYNC_RATE_LIMITS_SHARED", "true", "PISYNC_RATE_DEVICE_PER_MINUTE", "6");
    try (TestServer one = TestServer.start(shared, url, clock);
        TestServer two = TestServer.start(shared, url, clock)) {
      String key = one.deviceKey("rl-shared");
      Api onOne = one.anonymous().withBearer(key);
      Api onTwo = two.anonymous().withBearer(key);
      for (int i = 0; i < 3; i++) {
        assertThat(onOne.get("/api/v1/devices/rl-shared").status()).isNotEqualTo(429);
        assertThat(onTwo.get("/api/v1/devices/rl-shared").status()).isNotEqualTo(429);
      }
      assertThat(onOne.get("/api/v1/devices/rl-shared").status()).isEqualTo(429);
      assertThat(onTwo.get("/api/v1/devices/rl-shared").status()).isEqualTo(429);
      clock.advance(Duration.ofMinutes(1));
      assertThat(onTwo.get("/api/v1/devices/rl-shared").status()).isNotEqualTo(429);
    }
  }

  @Test
  void sharedBucketsRefreshTokensAndEndedSessionsAreRemovedOnceExpired() throws Exception {
    String url = SharedPostgres.newDatabase();
    var clock = new TestClock();
    Map<String, String> shared =
        Map.of("PISYNC_RATE_LIMITS_SHARED", "true", "PISYNC_REFRESH_TOKEN_DAYS", "1");
    try (TestServer server = TestServer.start(shared, url, clock)) {
      server.api().get("/api/v1/devices");
      String refresh =
          server.signIn("admin", TestServer.ADMIN_PASSWORD).get("refresh_token").asText();
      long live = rows(url, "rate_limit_buckets");
      long tokens = rows(url, "refresh_tokens");
      assertThat(live).isPositive();
      assertThat(tokens).isPositive();
      // A caller last seen long ago: its bucket expired (Bucket4j dates expiry by the system
      // clock, so the test writes an old row rather than waiting).
      sql(
          url,
          "INSERT INTO rate_limit_buckets (id, state, expires_at) VALUES ('gone/60', NULL, 1)");

      var removed = server.server().security().removeExpired();
      assertThat(removed.rateLimitBuckets()).isEqualTo(1);
      assertThat(removed.refreshTokens()).as("not expired yet").isZero();
      assertThat(server.logout(refresh)).isEqualTo(204);
      assertThat(rows(url, "ended_sessions")).isEqualTo(1);
      assertThat(rows(url, "rate_limit_buckets")).as("the buckets in use stay").isEqualTo(live);
      assertThat(server.api().get("/api/v1/devices").status()).isEqualTo(200);

      server.anonymous().post("/api/v1/auth/login", Map.of("username", "nobody", "password", "x"));
      assertThat(rows(url, "sign_in_failures")).isEqualTo(1);

      clock.advance(Duration.ofDays(1));
      var later = server.server().security().removeExpired();
      assertThat(later.refreshTokens()).isEqualTo(tokens);
      assertThat(later.signInFailures()).isEqualTo(1);
      assertThat(rows(url, "refresh_tokens")).isZero();
      assertThat(rows(url, "sign_in_failures")).isZero();
      assertThat(later.endedSessions())
          .as(
              "its refresh tokens are gone, but its access tokens' lifetime and a day have not passed")
          .isZero();

      clock.advance(Duration.ofDays(1).plusMinutes(16));
      assertThat(server.server().security().removeExpired().endedSessions()).isEqualTo(1);
      assertThat(rows(url, "ended_sessions")).isZero();
    }
  }

  private static void sql(String url, String statement) throws java.sql.SQLException {
    try (var c = java.sql.DriverManager.getConnection(url)) {
      c.createStatement().execute(statement);
    }
  }

  private static long rows(String url, String table) throws java.sql.SQLException {
    try (var c = java.sql.DriverManager.getConnection(url);
        var rs = c.createStatement().executeQuery("SELECT count(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void failedSignInsFromOneAddressSlowDownThenLockIt() {
    try (TestServer server =
        TestServer.start(
            Map.of(
                "PISYNC_LOGIN_ADDRESS_MAX_FAILURES", "4",
                "PISYNC_LOGIN_FAILURE_DELAY_MS", "100"))) {
      Api anonymous = server.anonymous();
      long started = System.nanoTime();
      for (int i = 0; i < 3; i++) {
        // different accounts: the address lock is about the address
        assertThat(
                anonymous
                    .post(
                        "/api/v1/auth/login",
                        Map.of("username", "user" + i, "password", "wrong-password"))
                    .status())
            .isEqualTo(401);
      }
      // 100 + 200 + 300 ms of deliberate delay at least.
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .isGreaterThan(Duration.ofMillis(600));
      anonymous.post("/api/v1/auth/login", Map.of("username", "user9", "password", "wrong-pw"));
      var locked =
          anonymous.post(
              "/api/v1/auth/login",
              Map.of("username", "admin", "password", TestServer.ADMIN_PASSWORD));
      assertThat(locked.status()).isEqualTo(429);
      assertThat(locked.json().get("type").asText()).endsWith("/login-locked");
    }
  }

  @Test
  void failuresArrivingTogetherDoNotLiftTheAddressLockTheyCompleted() throws Exception {
    try (TestServer server = TestServer.start(Map.of("PISYNC_LOGIN_ADDRESS_MAX_FAILURES", "2"))) {
      Api anonymous = server.anonymous();
      // All pass the lock check before any is counted (each hashes a password first).
      List<java.util.concurrent.Future<Integer>> answers = new java.util.ArrayList<>();
      try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
        // Three failures for a lock after two: without care the third lifted the lock.
        for (int i = 0; i < 3; i++) {
          String user = "racer" + i;
          answers.add(
              pool.submit(() ->
                  anonymous
                      .post("/api/v1/auth/login", Map.of("username", user, "password", "wrong"))
                      .status()));
        }
        for (var answer : answers) assertThat(answer.get()).isIn(401, 429);
      }
      var after =
          anonymous.post(
              "/api/v1/auth/login",
              Map.of("username", "admin", "password", TestServer.ADMIN_PASSWORD));
      assertThat(after.status()).as("the address is still locked").isEqualTo(429);
    }
  }
}
