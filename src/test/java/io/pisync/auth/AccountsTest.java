package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.Events;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AccountsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server =
        TestServer.start(
            Map.of(
                "PISYNC_LOGIN_MAX_FAILURES", "3",
                "PISYNC_LOGIN_ADDRESS_MAX_FAILURES", "1000",
                "PISYNC_LOGIN_LOCK_MINUTES", "10"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Api.Response login(String user, String password) {
    return server
        .anonymous()
        .post("/api/v1/auth/login", Map.of("username", user, "password", password));
  }

  static void create(String user, String role) {
    var r =
        server
            .api()
            .post(
                "/api/v1/accounts",
                Map.of("username", user, "password", "password-of-" + user, "role", role));
    assertThat(r.status()).isEqualTo(201);
  }

  @Test
  void signInGivesAShortLivedAccessTokenAndARefreshToken() {
    create("acc-ann", "viewer");
    var r = login("acc-ann", "password-of-acc-ann");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("token_type").asText()).isEqualTo("Bearer");
    assertThat(r.json().get("expires_in").asLong()).isEqualTo(15 * 60);
    assertThat(r.json().get("role").asText()).isEqualTo("viewer");
    assertThat(r.header("Cache-Control")).contains("no-store");
    Api ann = server.anonymous().withBearer(r.json().get("access_token").asText());
    assertThat(ann.get("/api/v1/auth/me").json().get("username").asText()).isEqualTo("acc-ann");

    server.clock().advance(Duration.ofMinutes(16));
    try {
      assertThat(ann.get("/api/v1/auth/me").status()).as("expired").isEqualTo(401);
    } finally {
      server.clock().advance(Duration.ofMinutes(-16));
    }
  }

  @Test
  void refreshTokensAreSpentOnUseAndRevokedAtLogout() {
    create("acc-rita", "operator");
    var first = login("acc-rita", "password-of-acc-rita").json();
    String refresh = first.get("refresh_token").asText();
    var second = server.anonymous().post("/api/v1/auth/refresh", Map.of("refresh_token", refresh));
    assertThat(second.status()).isEqualTo(200);
    String next = second.json().get("refresh_token").asText();
    assertThat(next).isNotEqualTo(refresh);
    assertThat(
            server
                .anonymous()
                .withBearer(second.json().get("access_token").asText())
                .get("/api/v1/devices")
                .status())
        .isEqualTo(200);

    // The spent token again: refused, and every token of the account is revoked (theft).
    assertThat(
            server
                .anonymous()
                .post("/api/v1/auth/refresh", Map.of("refresh_token", refresh))
                .status())
        .isEqualTo(401);
    assertThat(
            server.anonymous().post("/api/v1/auth/refresh", Map.of("refresh_token", next)).status())
        .isEqualTo(401);

    String third = login("acc-rita", "password-of-acc-rita").json().get("refresh_token").asText();
    assertThat(server.logout(third)).isEqualTo(204);
    var noContent = server.anonymous().post("/api/v1/auth/logout", Map.of("refresh_token", third));
    assertThat(noContent.status()).isEqualTo(204);
    assertThat(noContent.contentType()).as("a 204 has no body type").isNull();
    assertThat(
            server
                .anonymous()
                .post("/api/v1/auth/refresh", Map.of("refresh_token", third))
                .status())
        .isEqualTo(401);
  }

  private static Api.Response refresh(String token) {
    return server.anonymous().post("/api/v1/auth/refresh", Map.of("refresh_token", token));
  }

  private static int me(String accessToken) {
    return server.anonymous().withBearer(accessToken).get("/api/v1/auth/me").status();
  }

  @Test
  void logoutEndsItsSessionAccessTokensIncludedAndNoOther() {
    create("acc-lou", "viewer");
    var signIn = login("acc-lou", "password-of-acc-lou").json();
    var refreshed = refresh(signIn.get("refresh_token").asText()).json();
    var otherSession = login("acc-lou", "password-of-acc-lou").json();
    assertThat(me(signIn.get("access_token").asText())).isEqualTo(200);
    assertThat(me(refreshed.get("access_token").asText())).isEqualTo(200);

    assertThat(server.logout(refreshed.get("refresh_token").asText())).isEqualTo(204);

    assertThat(me(signIn.get("access_token").asText()))
        .as("an access token of the session, minted before the refresh")
        .isEqualTo(401);
    assertThat(me(refreshed.get("access_token").asText())).isEqualTo(401);
    assertThat(refresh(refreshed.get("refresh_token").asText()).status()).isEqualTo(401);
    assertThat(refresh(signIn.get("refresh_token").asText()).status()).isEqualTo(401);

    // Presenting tokens of the ended session is not theft: the other session goes on.
    assertThat(me(otherSession.get("access_token").asText())).isEqualTo(200);
    assertThat(refresh(otherSession.get("refresh_token").asText()).status()).isEqualTo(200);
  }

  @Test
  void aRefreshRacingTheLogoutOfItsTokenMintsNothingThatWorks() throws Exception {
    create("acc-rex", "viewer");
    String elsewhere = login("acc-rex", "password-of-acc-rex").json().get("refresh_token").asText();
    try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
      for (int round = 0; round < 15; round++) {
        String token = login("acc-rex", "password-of-acc-rex").json().get("refresh_token").asText();
        var refreshing = pool.submit(() -> refresh(token));
        var leaving = pool.submit(() -> server.logout(token));
        assertThat(leaving.get()).isEqualTo(204);
        var minted = refreshing.get();
        if (minted.status() == 200) {
          assertThat(me(minted.json().get("access_token").asText()))
              .as("round %d: an access token minted in the race", round)
              .isEqualTo(401);
          assertThat(refresh(minted.json().get("refresh_token").asText()).status())
              .as("round %d: a refresh token minted in the race", round)
              .isEqualTo(401);
        } else {
          assertThat(minted.status()).isEqualTo(401);
        }
      }
    }
    assertThat(refresh(elsewhere).status())
        .as("a session signed in elsewhere is not taken for a thief's")
        .isEqualTo(200);
  }

  @Test
  void wrongPasswordsLockTheAccountThenItRecovers() {
    create("acc-lock", "viewer");
    for (int i = 0; i < 2; i++) {
      var r = login("acc-lock", "wrong-password-" + i);
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.body()).doesNotContain("wrong-password-" + i);
    }
    var third = login("acc-lock", "wrong-password-again");
    assertThat(third.status()).isEqualTo(429);
    assertThat(third.json().get("type").asText()).endsWith("/login-locked");
    assertThat(Long.parseLong(third.header("Retry-After"))).isBetween(590L, 600L);
    assertThat(login("acc-lock", "password-of-acc-lock").status())
        .as("locked even with the right password")
        .isEqualTo(429);

    server.clock().advance(Duration.ofMinutes(11));
    try {
      assertThat(login("acc-lock", "password-of-acc-lock").status()).isEqualTo(200);
    } finally {
      server.clock().advance(Duration.ofMinutes(-11));
    }
  }

  @Test
  void aNameWithoutAnAccountLocksTheSameWaySoLocksDoNotRevealWhichNamesExist() {
    create("acc-real", "viewer");
    List<Integer> real = new java.util.ArrayList<>();
    List<Integer> unknown = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      real.add(login("acc-real", "wrong-" + i).status());
      unknown.add(login("acc-nobody", "wrong-" + i).status());
    }
    assertThat(real).containsExactly(401, 401, 429, 429);
    assertThat(unknown).isEqualTo(real);
    var locked = login("acc-nobody", "anything");
    assertThat(locked.json().get("type").asText()).endsWith("/login-locked");
    assertThat(Long.parseLong(locked.header("Retry-After"))).isBetween(590L, 600L);
    assertThat(locked.json().get("detail").asText()).contains("this account");
  }

  @Test
  void failuresAreForgottenAfterAWhileForAccountsAndUnknownNamesAlike() {
    create("acc-forget", "viewer");
    List<Integer> real = new java.util.ArrayList<>();
    List<Integer> unknown = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      real.add(login("acc-forget", "wrong-" + i).status());
      unknown.add(login("acc-nobody-2", "wrong-" + i).status());
    }
    // Lock (10 min) + 15 min after the last failure, the count starts again.
    server.clock().advance(Duration.ofMinutes(26));
    try {
      real.add(login("acc-forget", "wrong-again").status());
      unknown.add(login("acc-nobody-2", "wrong-again").status());
    } finally {
      server.clock().advance(Duration.ofMinutes(-26));
    }
    assertThat(real).containsExactly(401, 401, 401);
    assertThat(unknown).isEqualTo(real);
  }

  @Test
  void aPasswordChangeSignsTheAccountOutEverywhereAccessTokensIncluded() throws Exception {
    create("acc-stolen", "viewer");
    var pair = login("acc-stolen", "password-of-acc-stolen").json();
    Api thief = server.anonymous().withBearer(pair.get("access_token").asText());
    assertThat(thief.get("/api/v1/devices").status()).isEqualTo(200);

    // No waiting: the same instant, to the nanosecond, as the tokens were issued.
    var reset =
        server.api().patch("/api/v1/accounts/acc-stolen", Map.of("password", "a-new-password-42"));
    assertThat(reset.status()).isEqualTo(200);
    assertThat(thief.get("/api/v1/devices").status())
        .as("the old access token, at once")
        .isEqualTo(401);

    // A refresh token that escaped the revocation (spent in a race with the change) still
    // belongs to the old epoch: it mints nothing.
    try (var c = java.sql.DriverManager.getConnection(server.jdbcUrl())) {
      c.createStatement()
          .executeUpdate(
              "UPDATE refresh_tokens SET revoked_at = NULL WHERE username = 'acc-stolen'");
    }
    var refreshed =
        server
            .anonymous()
            .post(
                "/api/v1/auth/refresh",
                Map.of("refresh_token", pair.get("refresh_token").asText()));
    assertThat(refreshed.status()).isEqualTo(401);

    var fresh = login("acc-stolen", "a-new-password-42").json();
    assertThat(
            server
                .anonymous()
                .withBearer(fresh.get("access_token").asText())
                .get("/api/v1/devices")
                .status())
        .as("a token issued after the change")
        .isEqualTo(200);
    assertThat(
            server
                .anonymous()
                .post(
                    "/api/v1/auth/refresh",
                    Map.of("refresh_token", fresh.get("refresh_token").asText()))
                .status())
        .isEqualTo(200);
  }

  @Test
  void roleChangesAndDeletionApplyOnTheNextRequest() {
    create("acc-vic", "viewer");
    Api vic =
        server
            .anonymous()
            .withBearer(
                login("acc-vic", "password-of-acc-vic").json().get("access_token").asText());
    assertThat(vic.get("/api/v1/accounts").status()).isEqualTo(403);

    assertThat(server.api().patch("/api/v1/accounts/acc-vic", Map.of("role", "admin")).status())
        .isEqualTo(200);
    assertThat(vic.get("/api/v1/accounts").status()).isEqualTo(200);

    assertThat(server.api().patch("/api/v1/accounts/acc-vic", Map.of("role", "viewer")).status())
        .isEqualTo(200);
    assertThat(vic.get("/api/v1/accounts").status()).isEqualTo(403);

    assertThat(server.api().delete("/api/v1/accounts/acc-vic").status()).isEqualTo(204);
    assertThat(vic.get("/api/v1/devices").status()).isEqualTo(401);
  }

  @Test
  void aDeviceKeyNeverPassesForAPersonNorTheReverse() {
    Api device = server.device("acc-device");
    assertThat(device.get("/api/v1/devices").status()).isEqualTo(403);
    assertThat(device.get("/api/v1/auth/me").status()).isEqualTo(403);
    create("acc-op", "operator");
    Api op =
        server
            .anonymous()
            .withBearer(login("acc-op", "password-of-acc-op").json().get("access_token").asText());
    var r =
        op.post(
            "/api/piSync/sync-event",
            Events.success("acc-device", server.clock().instant().minusSeconds(60)));
    assertThat(r.status()).isEqualTo(403);
  }

  @Test
  void theLastAdminStays() {
    assertThat(server.api().delete("/api/v1/accounts/admin").status()).isEqualTo(409);
    assertThat(server.api().patch("/api/v1/accounts/admin", Map.of("role", "viewer")).status())
        .isEqualTo(409);
  }

  @Test
  void accountInputIsCheckedAndPasswordsNeverEchoed() {
    var r =
        server
            .api()
            .post(
                "/api/v1/accounts",
                Map.of("username", "bad name", "password", "short", "role", "boss"));
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.body()).contains("username", "password", "role").doesNotContain("short\"");
    var broken =
        server
            .api()
            .post(
                "/api/v1/accounts",
                // the escape itself: a Java string with a lone surrogate would be sent as '?'
                "{\"username\":\"acc-broken\",\"password\":\"secret-value\\ud800x\","
                    + "\"role\":\"viewer\"}");
    assertThat(broken.status()).isEqualTo(400);
    assertThat(broken.json().at("/errors/0/field").asText()).isEqualTo("password");
    assertThat(broken.json().at("/errors/0/message").asText()).contains("valid Unicode");
    assertThat(broken.body()).doesNotContain("secret-value");
    var badName = server.api().delete("/api/v1/accounts/a%20b");
    assertThat(badName.status()).isEqualTo(400);
    assertThat(badName.json().at("/errors/0/field").asText()).isEqualTo("username");
    assertThat(badName.json().at("/errors/0/value").asText()).isEqualTo("a b");
    var missing = server.api().post("/api/v1/accounts", Map.of("password", 12345678));
    assertThat(missing.json().get("errors"))
        .as("each bad field once")
        .extracting(e -> e.get("field").asText() + ": " + e.get("message").asText())
        .containsExactlyInAnyOrder(
            "username: is required", "password: must be a string", "role: is required");
    assertThat(login("nul\u0000name", "password-password").status())
        .as("a name no account can have is just a wrong sign-in")
        .isEqualTo(401);
    create("acc-dup", "viewer");
    assertThat(
            server
                .api()
                .post(
                    "/api/v1/accounts",
                    Map.of("username", "acc-dup", "password", "another-password", "role", "viewer"))
                .status())
        .isEqualTo(409);
  }

  @Test
  void aNewPasswordSignsTheAccountOutEverywhere() {
    create("acc-pw", "viewer");
    String refresh = login("acc-pw", "password-of-acc-pw").json().get("refresh_token").asText();
    assertThat(
            server
                .api()
                .patch("/api/v1/accounts/acc-pw", Map.of("password", "a-brand-new-password"))
                .status())
        .isEqualTo(200);
    assertThat(
            server
                .anonymous()
                .post("/api/v1/auth/refresh", Map.of("refresh_token", refresh))
                .status())
        .isEqualTo(401);
    assertThat(login("acc-pw", "password-of-acc-pw").status()).isEqualTo(401);
    assertThat(login("acc-pw", "a-brand-new-password").status()).isEqualTo(200);
  }
}
