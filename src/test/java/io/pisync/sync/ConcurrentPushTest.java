package io.pisync.sync;

import static io.pisync.support.SyncDevice.upsert;
import static io.pisync.support.SyncDevice.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Twenty devices pushing to the same record at the same moment. */
class ConcurrentPushTest {
  static final int DEVICES = 20;
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** Sends each device's mutation at the same moment; returns each device's single result. */
  private static List<JsonNode> pushAtOnce(List<String> devices, List<Map<String, Object>> muts)
      throws Exception {
    List<Api> clients = devices.stream().map(server::device).toList();
    var ready = new CountDownLatch(devices.size());
    var go = new CountDownLatch(1);
    List<Future<Api.Response>> answers = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < devices.size(); i++) {
        Api client = clients.get(i);
        Map<String, Object> m = muts.get(i);
        answers.add(
            pool.submit(() -> {
              ready.countDown();
              go.await();
              return client.post("/api/v1/sync/push", Map.of("mutations", List.of(m)));
            }));
      }
      ready.await();
      go.countDown();
    }
    List<JsonNode> results = new ArrayList<>();
    for (Future<Api.Response> f : answers) {
      Api.Response r = f.get();
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      results.add(r.json().get("results").get(0));
    }
    return results;
  }

  private static List<String> devices(String prefix, String scope) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      ids.add(prefix + i);
      Grants.grant(server, prefix + i, scope);
    }
    return ids;
  }

  @Test
  void noteEditsFromTwentyDevicesEachEndAppliedOrInConflictWithAnUnbrokenChainAndNoLoss()
      throws Exception {
    String scope = "class:twenty-notes";
    List<String> ids = devices("notes-dev-", scope);
    var creator = new SyncDevice(server, "notes-creator");
    Grants.grant(server, "notes-creator", scope);
    Instant base = server.clock().instant().minus(Duration.ofMinutes(30));
    // version 1 was written before any of the edits of it
    creator.push(
        with(
            upsert("notes", scope, "board", 0, Map.of("text", "v1")),
            "modified_at",
            base.minus(Duration.ofHours(1)).toString()));

    List<Map<String, Object>> edits = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      // every device edited version 1 offline, at a different moment; device 13 edited last
      Instant editedAt = base.plusSeconds(i == 13 ? 1_000 : i);
      edits.add(
          with(
              upsert("notes", scope, "board", 1, Map.of("text", "from " + ids.get(i))),
              "modified_at",
              editedAt.toString()));
    }
    List<JsonNode> results = pushAtOnce(ids, edits);

    List<Long> versions = new ArrayList<>();
    Set<String> conflicted = new HashSet<>();
    for (int i = 0; i < DEVICES; i++) {
      JsonNode r = results.get(i);
      assertThat(r.get("status").asText()).as(r.toString()).isIn("applied", "conflict");
      if (r.get("status").asText().equals("applied")) versions.add(r.get("version").asLong());
      else conflicted.add(ids.get(i));
    }
    // versions: 1 (the creator), then one per applied edit, no gap and no repeat
    List<Long> chain = new ArrayList<>(new TreeSet<>(versions));
    assertThat(chain).hasSameSizeAs(versions);
    for (int v = 0; v < chain.size(); v++) assertThat(chain.get(v)).isEqualTo(v + 2L);

    JsonNode record =
        server.api().get("/api/v1/sync/records/notes/" + scope + "/board").json().get("record");
    assertThat(record.get("version").asLong()).isEqualTo(1L + versions.size());
    assertThat(record.get("data").get("text").asText()).isEqualTo("from notes-dev-13");

    // no update lost: every other edit is in the conflict history, as a loser
    List<JsonNode> history =
        server.api().allPages("/api/v1/sync/records/notes/" + scope + "/board/conflicts").items();
    Map<String, JsonNode> losers = new HashMap<>();
    history.forEach(h -> losers.put(h.get("loser").get("device").asText(), h.get("loser")));
    for (String id : ids) {
      if (id.equals("notes-dev-13")) continue;
      assertThat(losers).as("the edit of " + id).containsKey(id);
      assertThat(losers.get(id).get("data").get("text").asText()).isEqualTo("from " + id);
    }
    assertThat(history).hasSize(DEVICES - 1);
    for (JsonNode h : history) {
      String loser = h.get("loser").get("device").asText();
      if (conflicted.contains(loser)) assertThat(h.get("loser").get("version").isNull()).isTrue();
      else assertThat(h.get("reason").asText()).isEqualTo("superseded");
    }
  }

  @Test
  void progressFromTwentyDevicesIsAllAppliedAndMergedWithoutLosingAnyone() throws Exception {
    String scope = "learner:twenty-progress";
    List<String> ids = devices("progress-dev-", scope);
    List<Map<String, Object>> updates = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      Map<String, Object> data = new HashMap<>();
      data.put("position", i * 10);
      data.put("score", (i * 7) % DEVICES);
      data.put("completed", i == 4);
      data.put("note_from_" + i, true);
      updates.add(upsert("progress", scope, "course", 0, data));
    }
    List<JsonNode> results = pushAtOnce(ids, updates);

    Set<Long> versions = new TreeSet<>();
    for (JsonNode r : results) {
      assertThat(r.get("status").asText()).isEqualTo("applied");
      versions.add(r.get("version").asLong());
    }
    assertThat(versions).hasSize(DEVICES).first().isEqualTo(1L);
    assertThat(versions).last().isEqualTo((long) DEVICES);

    JsonNode data =
        server
            .api()
            .get("/api/v1/sync/records/progress/" + scope + "/course")
            .json()
            .get("record")
            .get("data");
    assertThat(data.get("position").asInt()).isEqualTo((DEVICES - 1) * 10);
    assertThat(data.get("score").asInt()).isEqualTo(DEVICES - 1);
    assertThat(data.get("completed").asBoolean()).isTrue();
    for (int i = 0; i < DEVICES; i++) assertThat(data.has("note_from_" + i)).isTrue();
  }

  /**
   * PostgreSQL keeps every lock in one shared table of about max_locks_per_transaction (64) x
   * connections entries. Concurrent pushes of a thousand records each (a school's tablets
   * reconnecting with their backlogs) must not fill it, or pushes fail with "out of shared memory".
   * Here another session holds all of that table but a few hundred entries, and four such pushes
   * run at once: each is stored whole.
   */
  @Test
  void pushesOfAThousandRecordsEachSucceedWithTheLockTableNearlyFull() throws Exception {
    String scope = "class:backlogs";
    int pushes = 4;
    List<Api> clients = new ArrayList<>();
    List<Map<String, Object>> bodies = new ArrayList<>();
    for (int d = 0; d < pushes; d++) {
      String id = "backlog-" + d;
      Grants.grant(server, id, scope);
      clients.add(server.device(id));
      List<Map<String, Object>> muts = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        muts.add(upsert("progress", scope, id + "-r" + i, 0, Map.of("position", i)));
      }
      bodies.add(Map.of("mutations", muts));
    }
    List<Api.Response> answers;
    try (Connection hog = DriverManager.getConnection(server.jdbcUrl(), "postgres", "")) {
      int free = fillLockTable(hog, 600);
      assertThat(free).as("lock table entries left free").isBetween(500, 700);
      answers = postAtOnce(clients, bodies);
    }
    for (Api.Response r : answers) {
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(r.json().get("applied").asInt()).isEqualTo(1000);
    }
    var reader = new SyncDevice(server, "backlog-reader");
    Grants.grant(server, "backlog-reader", scope);
    assertThat(reader.pullAll()).hasSize(pushes * 1000);
  }

  /**
   * Takes session advisory locks on {@code hog} until PostgreSQL's lock table is full, then gives
   * back {@code free} of them; returns how many it gave back.
   */
  private static int fillLockTable(Connection hog, int free) throws Exception {
    try (Statement st = hog.createStatement()) {
      for (long from = 1L << 40; ; from += 10_000) {
        try {
          st.execute(
              "SELECT count(pg_advisory_lock(k)) FROM generate_series("
                  + from
                  + ", "
                  + (from + 9_999)
                  + ") AS k");
        } catch (SQLException e) {
          assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("53200");
          break;
        }
      }
      // locks taken by the failed statement stay held: they are session locks
      try (ResultSet rs =
          st.executeQuery(
              "SELECT count(pg_advisory_unlock((l.classid::int8 << 32) | l.objid::int8))"
                  + " FROM (SELECT classid, objid FROM pg_locks WHERE pid = pg_backend_pid()"
                  + " AND locktype = 'advisory' LIMIT "
                  + free
                  + ") l")) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private static List<Api.Response> postAtOnce(List<Api> clients, List<Map<String, Object>> bodies)
      throws Exception {
    var ready = new CountDownLatch(clients.size());
    var go = new CountDownLatch(1);
    List<Future<Api.Response>> answers = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < clients.size(); i++) {
        Api client = clients.get(i);
        Map<String, Object> body = bodies.get(i);
        answers.add(
            pool.submit(() -> {
              ready.countDown();
              go.await();
              return client.post("/api/v1/sync/push", body);
            }));
      }
      ready.await();
      go.countDown();
    }
    List<Api.Response> out = new ArrayList<>();
    for (Future<Api.Response> f : answers) out.add(f.get());
    return out;
  }
}
