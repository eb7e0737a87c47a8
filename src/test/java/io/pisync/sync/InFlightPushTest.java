package io.pisync.sync;

import static io.pisync.support.SyncDevice.upsert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An admin change that commits while a push is in flight: the push is held inside its transaction
 * (the test holds the lock of the record it writes), the change is made, then the push goes on. The
 * change takes effect either before the push reads what it depends on, or after the push.
 */
class InFlightPushTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static CompletableFuture<Api.Response> async(Supplier<Api.Response> call) {
    return CompletableFuture.supplyAsync(call);
  }

  /** A push of one note, held once it has read its grants and policies. */
  private static CompletableFuture<Api.Response> heldPush(
      Statement holder, SyncDevice device, String collection, String scope) throws Exception {
    var key = new RecordKey(scope, collection, "held");
    holder.execute("SELECT pg_advisory_lock(" + key.lockKey() + ")");
    var push =
        async(() ->
            device
                .api()
                .post(
                    "/api/v1/sync/push",
                    Map.of(
                        "mutations",
                        List.of(upsert(collection, scope, "held", 0, Map.of("position", 1))))));
    awaitWaiting(holder, "advisory", push);
    return push;
  }

  /**
   * Waits until a lock of this type is awaited in the database, or {@code call} is done: an admin
   * change either completes or waits for the push.
   */
  private static void awaitWaiting(Statement st, String lockType, CompletableFuture<?> call)
      throws Exception {
    for (int i = 0; i < 400 && !call.isDone(); i++) {
      try (ResultSet rs =
          st.executeQuery(
              "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = '"
                  + lockType
                  + "'")) {
        rs.next();
        if (rs.getInt(1) > 0) return;
      }
      Thread.sleep(25);
    }
    if (!call.isDone()) throw new AssertionError("neither waiting on a " + lockType + " nor done");
  }

  @Test
  void aRevocationWaitsForAPushInFlightSoNoWriteLandsAfterIt() throws Exception {
    String scope = "class:in-flight-revoke";
    Grants.grant(server, "in-flight-device", scope);
    var device = new SyncDevice(server, "in-flight-device");
    try (Connection c = DriverManager.getConnection(server.jdbcUrl(), "postgres", "");
        Statement holder = c.createStatement()) {
      var push = heldPush(holder, device, "progress", scope);
      var revoke = async(() -> server.api().delete(Grants.path("in-flight-device", scope)));
      awaitWaiting(holder, "transactionid", revoke);
      assertThat(revoke.isDone()).as("the revocation waits for the push in flight").isFalse();
      holder.execute("SELECT pg_advisory_unlock_all()");

      Api.Response pushed = push.get(10, TimeUnit.SECONDS);
      assertThat(revoke.get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
      // the push read its grant before the revocation: it is stored, before it in the feed
      assertThat(pushed.json().get("results").get(0).get("status").asText()).isEqualTo("applied");
      try (ResultSet rs =
          holder.executeQuery(
              "SELECT r.seq < g.revoked_seq FROM sync_records r JOIN sync_grants g"
                  + " ON g.scope = r.scope AND g.device_id = 'in-flight-device'"
                  + " WHERE r.record_id = 'held' AND r.scope = '"
                  + scope
                  + "'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getBoolean(1)).as("the write precedes the revocation").isTrue();
      }
    }
    JsonNode after = device.pushOne(upsert("progress", scope, "later", 0, Map.of("position", 2)));
    assertThat(after.get("reason").asText()).isEqualTo("scope_not_granted");
  }

  @Test
  void aPolicyChangeWaitsForAPushInFlightAndIsRefusedOnceItsRecordsExist() throws Exception {
    String scope = "class:in-flight-policy";
    Grants.grant(server, "in-flight-writer", scope);
    var device = new SyncDevice(server, "in-flight-writer");
    String path = "/api/v1/sync/collections/reading_times";
    assertThat(server.api().put(path, Map.of("policy", "merge")).status()).isEqualTo(201);
    try (Connection c = DriverManager.getConnection(server.jdbcUrl(), "postgres", "");
        Statement holder = c.createStatement()) {
      var push = heldPush(holder, device, "reading_times", scope);
      var change = async(() -> server.api().put(path, Map.of("policy", "append_only")));
      awaitWaiting(holder, "transactionid", change);
      assertThat(change.isDone()).as("the policy change waits for the push in flight").isFalse();
      holder.execute("SELECT pg_advisory_unlock_all()");

      Api.Response pushed = push.get(10, TimeUnit.SECONDS);
      Api.Response changed = change.get(10, TimeUnit.SECONDS);
      assertThat(pushed.json().get("results").get(0).get("status").asText()).isEqualTo("applied");
      // the record was stored under merge: the collection keeps merge
      assertThat(changed.status()).as(changed.body()).isEqualTo(409);
      assertThat(changed.json().get("detail").asText()).contains("holds records");
    }
    assertThat(server.api().get("/api/v1/sync/collections").json().get("items"))
        .extracting(c -> c.get("name").asText() + ":" + c.get("policy").asText())
        .contains("reading_times:merge");
  }
}
