package io.pisync.sync;

import static io.pisync.support.SyncDevice.delete;
import static io.pisync.support.SyncDevice.upsert;
import static io.pisync.support.SyncDevice.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.http.Cursor;
import io.pisync.support.Api;
import io.pisync.support.DatabaseWaits;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Pulling: server cursors, no echo of a device's own writes, deletes, and no skipped change. */
class PullTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static SyncDevice device(String id, String... scopes) {
    for (String scope : scopes) Grants.grant(server, id, scope);
    return new SyncDevice(server, id);
  }

  private static List<String> texts(List<JsonNode> changes) {
    return changes.stream().map(c -> c.get("data").get("text").asText()).toList();
  }

  private static Map<String, Object> note(
      String scope, String id, long base, String text, Instant at) {
    return with(
        upsert("notes", scope, id, base, Map.of("text", text)), "modified_at", at.toString());
  }

  @Test
  void devicesWithClocksAYearOffNeitherSkipChangesNorGetTheirOwnWritesBack() {
    String scope = "class:clocks";
    var ahead = device("clock-year-ahead", scope);
    var behind = device("clock-year-behind", scope);
    ahead.pullAll();
    behind.pullAll();
    Instant now = server.clock().instant();
    Instant yearAhead = now.plus(Duration.ofDays(365));
    Instant yearBehind = now.minus(Duration.ofDays(365));

    ahead.push(note(scope, "a1", 0, "from the future", yearAhead));
    assertThat(texts(behind.pullAll())).containsExactly("from the future");
    behind.push(note(scope, "b1", 0, "from the past", yearBehind));
    assertThat(texts(ahead.pullAll())).containsExactly("from the past");
    ahead.push(note(scope, "a2", 0, "future again", yearAhead.plusSeconds(1)));
    behind.push(note(scope, "b2", 0, "past again", yearBehind.plusSeconds(1)));
    assertThat(texts(ahead.pullAll())).containsExactly("past again");
    assertThat(texts(behind.pullAll())).containsExactly("future again");
    assertThat(ahead.pullAll()).isEmpty();
    assertThat(behind.pullAll()).isEmpty();
    assertThat(ahead.local()).hasSize(4);
    assertThat(behind.local().keySet()).isEqualTo(ahead.local().keySet());
  }

  @Test
  void deletesReachOtherDevices() {
    String scope = "class:deletes";
    var a = device("delete-a", scope);
    var b = device("delete-b", scope);
    a.push(upsert("notes", scope, "n1", 0, Map.of("text", "keep")));
    a.push(upsert("notes", scope, "n2", 0, Map.of("text", "to delete")));
    b.pullAll();
    assertThat(b.local()).hasSize(2);

    a.push(delete("notes", scope, "n2", 1));
    List<JsonNode> changes = b.pullAll();
    assertThat(changes).hasSize(1);
    assertThat(changes.getFirst().get("deleted").asBoolean()).isTrue();
    assertThat(changes.getFirst().get("data").isNull()).isTrue();
    assertThat(changes.getFirst().get("version").asLong()).isEqualTo(2);
    assertThat(b.local().keySet()).containsExactly("notes/" + scope + "/n1");
  }

  @Test
  void anInitialSyncBringsEverythingIncludingTheDevicesOwnWrites() {
    String scope = "class:reinstall";
    var a = device("reinstall-a", scope);
    var b = device("reinstall-b", scope);
    for (int i = 0; i < 5; i++) a.push(upsert("notes", scope, "a" + i, 0, Map.of("text", "a")));
    b.push(upsert("notes", scope, "b0", 0, Map.of("text", "b")));
    a.pullAll();
    Map<String, JsonNode> before = new HashMap<>(a.local());

    a.wipe(); // the app was reinstalled
    List<JsonNode> firstPage = a.pullPage(2).get("changes").findParents("record_id");
    assertThat(firstPage).hasSize(2);
    // while the initial sync pages, this device and another one write
    a.push(upsert("notes", scope, "a-new", 0, Map.of("text", "mine, during the sync")));
    b.push(upsert("notes", scope, "b-new", 0, Map.of("text", "theirs, during the sync")));
    List<JsonNode> rest = a.pullAll(2);
    assertThat(rest).extracting(c -> c.get("record_id").asText()).doesNotContain("a-new");
    assertThat(a.local().keySet())
        .containsAll(before.keySet())
        .contains("notes/" + scope + "/a-new", "notes/" + scope + "/b-new")
        .hasSize(before.size() + 2);
  }

  @Test
  void syncPushesAndPullsInOneRoundTripLeavingOutTheDevicesOwnMutations() {
    String scope = "class:round-trip";
    var a = device("round-a", scope);
    var b = device("round-b", scope);
    a.pullAll();
    b.push(upsert("notes", scope, "from-b", 0, Map.of("text", "b")));
    b.push(upsert("progress", scope, "lesson", 0, Map.of("position", 9)));

    List<Map<String, Object>> mine =
        List.of(
            upsert("notes", scope, "from-a", 0, Map.of("text", "a")),
            upsert("progress", scope, "lesson", 0, Map.of("score", 70)));
    Api.Response r =
        a.api().post("/api/v1/sync", Map.of("mutations", mine, "cursor", a.cursor(), "limit", 100));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode push = r.json().get("push");
    JsonNode pull = r.json().get("pull");
    assertThat(PushTest.statuses(push.get("results"))).containsExactly("applied", "applied");
    // b's note, and the merged progress (it differs from what a sent); not a's own note
    assertThat(pull.get("changes"))
        .extracting(c -> c.get("record_id").asText())
        .containsExactly("from-b", "lesson");
    assertThat(pull.get("changes").get(1).get("data").get("position").asInt()).isEqualTo(9);
    assertThat(pull.get("changes").get(1).get("data").get("score").asInt()).isEqualTo(70);
    assertThat(pull.get("has_more").asBoolean()).isFalse();

    // without a cursor: an initial sync, still without what this push stored
    var c = device("round-c", scope);
    Api.Response initial =
        c.api()
            .post(
                "/api/v1/sync",
                Map.of("mutations", List.of(upsert("notes", scope, "from-c", 0, Map.of("t", 1)))));
    assertThat(initial.json().get("pull").get("changes"))
        .extracting(ch -> ch.get("record_id").asText())
        .containsExactlyInAnyOrder("from-b", "lesson", "from-a");
    Api.Response noPush = c.api().post("/api/v1/sync", Map.of("cursor", a.cursor()));
    assertThat(noPush.status()).isEqualTo(200);
    assertThat(noPush.json().get("push").get("results")).isEmpty();
  }

  @Test
  void badCursorsAndLimitsAre400AndACursorFromAnotherServerIs410() {
    Api a = device("cursor-a", "class:cursor").api();
    for (String bad :
        List.of(
            "garbage",
            "%00",
            Cursor.encode("1", "2"),
            Cursor.encode("x", "1", "1"),
            Cursor.encode("5", "9", "-1"),
            Cursor.encode("-1", "-1", "-1"))) {
      Api.Response r = a.get("/api/v1/sync/pull?cursor=" + bad);
      assertThat(r.status()).as(bad + " " + r.body()).isEqualTo(400);
      assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("cursor");
    }
    for (String limit : List.of("0", "10001", "ten")) {
      Api.Response r = a.get("/api/v1/sync/pull?limit=" + limit);
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("limit");
    }
    Api.Response ahead =
        a.get("/api/v1/sync/pull?cursor=" + Cursor.encode("999999", "999999", "-1"));
    assertThat(ahead.status()).isEqualTo(410);
    assertThat(ahead.json().get("type").asText()).endsWith("/resync-required");
    Api.Response badSync = a.post("/api/v1/sync", Map.of("cursor", 12, "limit", 0));
    assertThat(badSync.status()).isEqualTo(400);
  }

  /**
   * Pages are bounded by bytes as well as by count: a pull of big records (60 KB each) with the
   * largest limit comes in pages of about 4 MiB of data, part of them inside a scope's backfill,
   * with nothing missed or repeated.
   */
  @Test
  void aPullOfBigRecordsIsSplitIntoPagesOfAboutFourMegabytesWithNothingMissedOrRepeated() {
    String scope = "class:big-records";
    var writer = device("big-writer", scope);
    String pad = "x".repeat(60_000);
    Set<String> written = new HashSet<>();
    for (int batch = 0; batch < 20; batch++) {
      if (batch == 14) Grants.grant(server, "big-reader", scope); // the first 140 are backfilled
      List<Map<String, Object>> muts = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        String id = "big-" + (batch * 10 + i);
        muts.add(upsert("notes", scope, id, 0, Map.of("text", id, "pad", pad)));
        written.add("notes/" + scope + "/" + id);
      }
      writer.push(muts);
    }
    var reader = new SyncDevice(server, "big-reader");
    List<String> received = new ArrayList<>();
    int pages = 0;
    JsonNode page;
    do {
      String path =
          "/api/v1/sync/pull?limit=10000"
              + (reader.cursor() == null ? "" : "&cursor=" + reader.cursor());
      Api.Response r = reader.api().get(path);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body().length()).as("page %d", pages).isLessThan(4_400_000);
      page = r.json();
      reader.apply(page);
      page.get("changes").forEach(c -> received.add(SyncDevice.keyOf(c)));
      pages++;
    } while (page.get("has_more").asBoolean() && pages < 100);

    assertThat(pages).isBetween(3, 4);
    assertThat(received).doesNotHaveDuplicates();
    assertThat(Set.copyOf(received)).isEqualTo(written);
    assertThat(reader.local("notes", scope, "big-199").get("data").get("pad").asText())
        .hasSize(60_000);
    assertThat(reader.pullAll()).isEmpty();
  }

  /**
   * A push held inside its transaction (by a trigger waiting on a lock the test holds) after it
   * took its feed position, and another push started later, which must wait for the feed counter
   * behind it: a device pulling meanwhile sees neither, and a device pulling while both commit
   * never moves its cursor past a change it was not sent.
   */
  @Test
  void aChangeCommittingWhileAnotherDevicePullsIsNeverSkipped() throws Exception {
    String scope = "class:out-of-order";
    var slow = device("ooo-slow", scope);
    var fast = device("ooo-fast", scope);
    var reader = device("ooo-reader", scope);
    reader.pullAll();
    try (Connection admin = DriverManager.getConnection(server.jdbcUrl(), "postgres", "");
        Statement st = admin.createStatement()) {
      st.execute(
          """
          CREATE FUNCTION test_hold_slow() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.record_id = 'slow' THEN PERFORM pg_advisory_xact_lock(4242); END IF;
            RETURN NEW;
          END $$\
          """);
      st.execute(
          "CREATE TRIGGER test_hold_slow BEFORE INSERT OR UPDATE ON sync_records"
              + " FOR EACH ROW EXECUTE FUNCTION test_hold_slow()");
      st.execute("SELECT pg_advisory_lock(4242)");
      try {
        var slowPush =
            CompletableFuture.supplyAsync(
                () -> slow.pushOne(upsert("notes", scope, "slow", 0, Map.of("text", "slow"))));
        awaitWaiter(st);
        var fastPush =
            CompletableFuture.supplyAsync(
                () -> fast.pushOne(upsert("notes", scope, "fast", 0, Map.of("text", "fast"))));
        awaitFeedWaiter(st);
        for (int i = 0; i < 10; i++) {
          assertThat(reader.pullAll()).as("nothing has committed yet").isEmpty();
          Thread.sleep(30);
        }

        List<JsonNode> seen = new ArrayList<>();
        var committed = new AtomicBoolean();
        var pulling =
            CompletableFuture.runAsync(() -> {
              do {
                seen.addAll(reader.pullAll());
              } while (!committed.get());
            });
        Thread.sleep(50); // the reader is pulling when the lock goes
        st.execute("SELECT pg_advisory_unlock(4242)");
        assertThat(slowPush.get(10, TimeUnit.SECONDS).get("status").asText()).isEqualTo("applied");
        assertThat(fastPush.get(10, TimeUnit.SECONDS).get("status").asText()).isEqualTo("applied");
        committed.set(true);
        pulling.get(10, TimeUnit.SECONDS);
        seen.addAll(reader.pullAll());
        assertThat(seen)
            .extracting(c -> c.get("record_id").asText())
            .containsExactlyInAnyOrder("slow", "fast");
      } finally {
        st.execute("SELECT pg_advisory_unlock_all()");
        st.execute("DROP TRIGGER test_hold_slow ON sync_records");
        st.execute("DROP FUNCTION test_hold_slow()");
      }
    }
  }

  /** Waits until a push waits for the feed counter (the row another push holds until COMMIT). */
  private static void awaitFeedWaiter(Statement st) throws Exception {
    DatabaseWaits.awaitPositiveCount(
        st,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            + " AND query LIKE 'UPDATE sync_feed%'",
        "the second push never waited for the feed counter");
  }

  private static void awaitWaiter(Statement st) throws Exception {
    DatabaseWaits.awaitPositiveCount(
        st,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
            + " AND NOT granted",
        "the held push never reached the trigger");
  }

  @Test
  void aDevicePullingWhileOthersPushConcurrentlyEndsWithExactlyTheServersRecords()
      throws Exception {
    String scope = "class:busy";
    int writers = 4;
    List<SyncDevice> devices = new ArrayList<>();
    for (int w = 0; w < writers; w++) devices.add(device("busy-writer-" + w, scope));
    var reader = device("busy-reader", scope);
    var done = new AtomicBoolean();
    var pulling =
        CompletableFuture.runAsync(() -> {
          while (!done.get()) reader.pullAll(7);
        });
    List<CompletableFuture<Void>> pushing = new ArrayList<>();
    for (SyncDevice writer : devices) {
      pushing.add(
          CompletableFuture.runAsync(() -> {
            var random = ThreadLocalRandom.current();
            for (int batch = 0; batch < 25; batch++) {
              List<Map<String, Object>> muts = new ArrayList<>();
              for (int i = random.nextInt(1, 40); i > 0; i--) {
                String id = "r" + random.nextInt(150);
                muts.add(upsert("progress", scope, id, 0, Map.of("score", random.nextInt(1000))));
              }
              writer.push(muts);
            }
          }));
    }
    CompletableFuture.allOf(pushing.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
    done.set(true);
    pulling.get(60, TimeUnit.SECONDS);
    reader.pullAll(7);

    Map<String, Long> onServer = new HashMap<>();
    for (JsonNode r :
        server.api().allPages("/api/v1/sync/records?scope=" + scope + "&limit=500").items()) {
      onServer.put(SyncDevice.keyOf(r), r.get("version").asLong());
    }
    Map<String, Long> onReader = new HashMap<>();
    reader.local().forEach((k, v) -> onReader.put(k, v.get("version").asLong()));
    assertThat(onReader).isEqualTo(onServer);
  }
}
