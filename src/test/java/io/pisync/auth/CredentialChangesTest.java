package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.SharedPostgres;
import io.pisync.support.TestClock;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.util.Map;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Credential checks are remembered per instance; a change made on one instance (or by the command
 * line tools) must still apply on every other at once, through the NOTIFY each change sends.
 */
class CredentialChangesTest {
  /** How long another instance may take to hear of a change (it is milliseconds in practice). */
  private static final Duration HEARD_WITHIN = Duration.ofSeconds(5);

  static TestClock clock = new TestClock();
  static TestServer one;
  static TestServer two;

  @BeforeAll
  static void start() {
    String url = SharedPostgres.newDatabase();
    Map<String, String> settings = Map.of("PISYNC_KEY_GRACE_HOURS", "1");
    one = TestServer.start(settings, url, clock);
    two = TestServer.start(settings, url, clock);
  }

  @AfterAll
  static void stop() {
    two.close();
    one.close();
  }

  @Test
  void aKeyRevokedOnOneInstanceIsRefusedOnTheOther() {
    String key = one.deviceKey("cc-revoked");
    Api onTwo = two.anonymous().withBearer(key);
    assertThat(onTwo.get("/api/v1/devices/cc-revoked/registration").status()).isEqualTo(200);
    assertThat(onTwo.get("/api/v1/devices/cc-revoked/registration").status())
        .as("the second check is answered from what instance two remembers")
        .isEqualTo(200);

    assertThat(one.api().post("/api/v1/devices/cc-revoked/keys/revoke", "").status())
        .isEqualTo(204);

    assertThat(within(() -> onTwo.get("/api/v1/devices/cc-revoked/registration").status(), 401))
        .isEqualTo(401);
    assertThat(
            one.anonymous().withBearer(key).get("/api/v1/devices/cc-revoked/registration").status())
        .as("the instance that revoked refuses at once")
        .isEqualTo(401);
  }

  @Test
  void aKeyRevokedByHandInTheDatabaseIsRefusedByEveryInstance() throws Exception {
    String key = one.deviceKey("cc-by-hand");
    Api onOne = one.anonymous().withBearer(key);
    Api onTwo = two.anonymous().withBearer(key);
    assertThat(onOne.get("/api/v1/devices/cc-by-hand/registration").status()).isEqualTo(200);
    assertThat(onTwo.get("/api/v1/devices/cc-by-hand/registration").status()).isEqualTo(200);

    try (java.sql.Connection c =
            java.sql.DriverManager.getConnection(one.jdbcUrl(), "postgres", "");
        var st = c.createStatement()) {
      st.executeUpdate("UPDATE device_keys SET revoked_at = now() WHERE device_id = 'cc-by-hand'");
    }

    assertThat(within(() -> onOne.get("/api/v1/devices/cc-by-hand/registration").status(), 401))
        .isEqualTo(401);
    assertThat(within(() -> onTwo.get("/api/v1/devices/cc-by-hand/registration").status(), 401))
        .isEqualTo(401);
  }

  @Test
  void aKeyRevokedWhileTheInstancesCannotHearItIsStillRefused() throws Exception {
    String key = one.deviceKey("cc-deaf");
    Api onTwo = two.anonymous().withBearer(key);
    assertThat(onTwo.get("/api/v1/devices/cc-deaf/registration").status()).isEqualTo(200);

    try (java.sql.Connection c =
            java.sql.DriverManager.getConnection(one.jdbcUrl(), "postgres", "");
        var st = c.createStatement()) {
      // Cut every listening connection, then revoke at once, while the listeners are
      // reconnecting: the notice is sent to nobody.
      st.execute(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
              + " WHERE application_name = 'pisync-listen'");
      st.executeUpdate("UPDATE device_keys SET revoked_at = now() WHERE device_id = 'cc-deaf'");
    }

    assertThat(within(() -> onTwo.get("/api/v1/devices/cc-deaf/registration").status(), 401))
        .as(
            "what instance two remembered is forgotten when its listener is cut, though the"
                + " notice went to nobody")
        .isEqualTo(401);
  }

  @Test
  void aRotatedKeyStopsOnTheOtherInstanceWhenItsGraceEnds() {
    String old = one.deviceKey("cc-rotated");
    Api oldOnTwo = two.anonymous().withBearer(old);
    assertThat(oldOnTwo.get("/api/v1/devices/cc-rotated/registration").status()).isEqualTo(200);

    var rotated = one.api().post("/api/v1/devices/cc-rotated/keys/rotate", "");
    assertThat(rotated.status()).isEqualTo(200);
    String fresh = rotated.json().get("api_key").asText();
    assertThat(
            two.anonymous()
                .withBearer(fresh)
                .get("/api/v1/devices/cc-rotated/registration")
                .status())
        .isEqualTo(200);
    assertThat(oldOnTwo.get("/api/v1/devices/cc-rotated/registration").status())
        .as("within the grace period")
        .isEqualTo(200);

    clock.advance(Duration.ofHours(1).plusSeconds(1));
    try {
      assertThat(
              within(() -> oldOnTwo.get("/api/v1/devices/cc-rotated/registration").status(), 401))
          .isEqualTo(401);
    } finally {
      clock.advance(Duration.ofHours(-1).minusSeconds(1));
    }
  }

  @Test
  void aRoleChangedOnOneInstanceAppliesOnTheOther() {
    one.person("cc-ana", "admin");
    String token = one.login("cc-ana", "password-of-cc-ana");
    Api anaOnTwo = two.anonymous().withBearer(token);
    assertThat(anaOnTwo.get("/api/v1/accounts").status()).isEqualTo(200);

    assertThat(one.api().patch("/api/v1/accounts/cc-ana", Map.of("role", "viewer")).status())
        .isEqualTo(200);
    assertThat(within(() -> anaOnTwo.get("/api/v1/accounts").status(), 403)).isEqualTo(403);

    assertThat(one.api().delete("/api/v1/accounts/cc-ana").status()).isEqualTo(204);
    assertThat(within(() -> anaOnTwo.get("/api/v1/devices").status(), 401)).isEqualTo(401);
  }

  @Test
  void aPasswordChangedOnOneInstanceEndsTheOldAccessTokensOnTheOther() {
    one.person("cc-bob", "viewer");
    String token = one.login("cc-bob", "password-of-cc-bob");
    Api bobOnTwo = two.anonymous().withBearer(token);
    assertThat(bobOnTwo.get("/api/v1/devices").status()).isEqualTo(200);

    assertThat(
            one.api()
                .patch("/api/v1/accounts/cc-bob", Map.of("password", "another-password-7"))
                .status())
        .isEqualTo(200);
    assertThat(within(() -> bobOnTwo.get("/api/v1/devices").status(), 401)).isEqualTo(401);
  }

  @Test
  void aLogoutOnOneInstanceEndsTheSessionsAccessTokenOnTheOther() {
    one.person("cc-lea", "viewer");
    var signIn = one.signIn("cc-lea", "password-of-cc-lea");
    Api leaOnTwo = two.anonymous().withBearer(signIn.get("access_token").asText());
    assertThat(leaOnTwo.get("/api/v1/devices").status()).as("remembered as open").isEqualTo(200);

    assertThat(one.logout(signIn.get("refresh_token").asText())).isEqualTo(204);
    assertThat(within(() -> leaOnTwo.get("/api/v1/devices").status(), 401)).isEqualTo(401);
  }

  @Test
  void onlyASessionEndingNowIsAnnouncedToTheInstances() throws Exception {
    one.person("cc-ned", "viewer");
    String refresh = one.signIn("cc-ned", "password-of-cc-ned").get("refresh_token").asText();
    try (var c = java.sql.DriverManager.getConnection(one.jdbcUrl(), "postgres", "");
        var st = c.createStatement()) {
      st.execute("LISTEN " + CredentialCache.CHANNEL);
      for (int i = 0; i < 3; i++) {
        assertThat(one.logout(refresh)).isEqualTo(204);
      }
      var pg = c.unwrap(org.postgresql.PGConnection.class);
      int heard = 0;
      for (var n = pg.getNotifications(1000);
          n != null && n.length > 0;
          n = pg.getNotifications(500)) {
        heard += n.length;
      }
      assertThat(heard)
          .as("logging out again with the same token makes no instance forget everything")
          .isEqualTo(1);
    }
  }

  /** Asks until the answer is {@code expected} or {@link #HEARD_WITHIN} has passed. */
  private static int within(IntSupplier status, int expected) {
    long deadline = System.nanoTime() + HEARD_WITHIN.toNanos();
    int last = status.getAsInt();
    while (last != expected && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      last = status.getAsInt();
    }
    return last;
  }
}
