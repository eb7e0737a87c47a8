package io.pisync.sync;

import static io.pisync.support.SyncDevice.delete;
import static io.pisync.support.SyncDevice.upsert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tombstones are kept for the retention window; a device older than that resyncs. */
class RetentionTest {
  TestServer server;

  @BeforeEach
  void start() {
    server = TestServer.start(Map.of("PISYNC_SYNC_TOMBSTONE_RETENTION_DAYS", "7"));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private SyncDevice device(String id, String scope) {
    Grants.grant(server, id, scope);
    return new SyncDevice(server, id);
  }

  private long purge() throws Exception {
    return server.server().sync().maintenance().purge().tombstones();
  }

  @Test
  void afterTheRetentionWindowAStaleDeviceIsToldToResyncAndCanDoSoCompletely() throws Exception {
    String scope = "class:retention";
    var writer = device("ret-writer", scope);
    var stale = device("ret-stale", scope);
    var active = device("ret-active", scope);
    for (int i = 0; i < 6; i++) writer.push(upsert("notes", scope, "n" + i, 0, Map.of("i", i)));
    stale.pullAll();
    active.pullAll();

    writer.push(delete("notes", scope, "n1", 1));
    writer.push(delete("notes", scope, "n2", 1));
    active.pullAll(); // a device that syncs often learns of the deletes in time
    server.clock().advance(Duration.ofDays(6));
    assertThat(purge()).as("not yet due").isZero();
    writer.push(upsert("notes", scope, "n3", 1, Map.of("i", "changed")));

    server.clock().advance(Duration.ofDays(2));
    assertThat(purge()).isEqualTo(2);

    Api.Response gone = stale.api().get("/api/v1/sync/pull?cursor=" + stale.cursor());
    assertThat(gone.status()).isEqualTo(410);
    assertThat(gone.contentType()).startsWith("application/problem+json");
    assertThat(gone.json().get("type").asText())
        .isEqualTo("https://pisync.dev/problems/resync-required");
    assertThat(gone.json().get("retention_days").asInt()).isEqualTo(7);
    assertThat(gone.json().get("detail").asText()).contains("pull without a cursor");
    JsonNode noted = server.api().get("/api/v1/sync/devices/" + stale.id()).json();
    assertThat(noted.at("/last_pull_error/type").asText()).endsWith("/resync-required");

    // the stale device still has n1 and n2: it starts again from scratch
    assertThat(stale.local()).hasSize(6);
    stale.wipe();
    stale.pullAll(2);
    assertThat(stale.local().keySet())
        .containsExactlyInAnyOrder(
            "notes/" + scope + "/n0",
            "notes/" + scope + "/n3",
            "notes/" + scope + "/n4",
            "notes/" + scope + "/n5");
    assertThat(stale.local("notes", scope, "n3").get("data").get("i").asText())
        .isEqualTo("changed");

    // a device that was up to date when the tombstones went keeps its cursor
    assertThat(active.pullAll()).extracting(c -> c.get("record_id").asText()).containsExactly("n3");
  }

  /**
   * A device granted a scope (the grant is the last change of the feed) pulls to the end: its
   * cursor is at the grant's position. A deletion it then misses, once purged, sends it to resync.
   */
  @Test
  void aDeviceUpToDateWithItsLatestGrantIsToldToResyncWhenADeletionItMissedIsPurged()
      throws Exception {
    String scope = "class:grant-last";
    var writer = device("grant-last-writer", scope);
    for (int i = 0; i < 3; i++) writer.push(upsert("notes", scope, "n" + i, 0, Map.of("i", i)));
    var reader = device("grant-last-reader", scope);
    reader.pullAll();
    assertThat(reader.local()).hasSize(3);

    writer.push(delete("notes", scope, "n1", 1));
    server.clock().advance(Duration.ofDays(8));
    assertThat(purge()).isEqualTo(1);

    Api.Response gone = reader.api().get("/api/v1/sync/pull?cursor=" + reader.cursor());
    assertThat(gone.status()).as(gone.body()).isEqualTo(410);
    assertThat(gone.json().get("type").asText()).endsWith("/resync-required");
    reader.wipe();
    reader.pullAll();
    assertThat(reader.local().keySet())
        .containsExactlyInAnyOrder("notes/" + scope + "/n0", "notes/" + scope + "/n2");
  }

  /**
   * A device part way through a scope's backfill: a purged tombstone it was never sent does not
   * stop it, but a purged deletion of a record it was already sent does.
   */
  @Test
  void partWayThroughABackfillOnlyAPurgedDeletionOfARecordAlreadySentForcesAResync()
      throws Exception {
    String scope = "class:backfill-purge";
    var writer = device("backfill-purge-writer", scope);
    for (int i = 0; i < 4; i++) writer.push(upsert("notes", scope, "n" + i, 0, Map.of("i", i)));
    writer.push(delete("notes", scope, "n3", 1));
    var reader = device("backfill-purge-reader", scope);
    JsonNode first = reader.pullPage(1);
    assertThat(first.get("has_more").asBoolean()).isTrue();
    assertThat(reader.local().keySet()).containsExactly("notes/" + scope + "/n0");

    server.clock().advance(Duration.ofDays(8));
    assertThat(purge()).as("n3's tombstone, from before the grant").isEqualTo(1);
    reader.pullPage(1);
    assertThat(reader.local().keySet())
        .containsExactly("notes/" + scope + "/n0", "notes/" + scope + "/n1");

    writer.push(delete("notes", scope, "n0", 1));
    server.clock().advance(Duration.ofDays(8));
    assertThat(purge()).as("n0's tombstone, after the reader was sent n0").isEqualTo(1);
    Api.Response gone = reader.api().get("/api/v1/sync/pull?limit=1&cursor=" + reader.cursor());
    assertThat(gone.status()).as(gone.body()).isEqualTo(410);
    reader.wipe();
    reader.pullAll(1);
    assertThat(reader.local().keySet())
        .containsExactlyInAnyOrder("notes/" + scope + "/n1", "notes/" + scope + "/n2");
  }

  @Test
  void aSyncWithAStaleCursorStoresItsPushAndAnswersItInThe410() throws Exception {
    String scope = "class:retention-sync";
    var writer = device("ret-sync-writer", scope);
    var stale = device("ret-sync-stale", scope);
    writer.push(upsert("notes", scope, "n", 0, Map.of("i", 1)));
    stale.pullAll();
    writer.push(delete("notes", scope, "n", 1));
    server.clock().advance(Duration.ofDays(8));
    assertThat(purge()).isEqualTo(1);

    var pending = upsert("notes", scope, "offline-work", 0, Map.of("text", "do not lose me"));
    Api.Response r =
        stale
            .api()
            .post("/api/v1/sync", Map.of("mutations", List.of(pending), "cursor", stale.cursor()));
    assertThat(r.status()).isEqualTo(410);
    JsonNode push = r.json().get("push");
    assertThat(push.get("results").get(0).get("status").asText()).isEqualTo("applied");
    // sending the same push again with the resync is answered as a duplicate, not stored twice
    Api.Response resync = stale.api().post("/api/v1/sync", Map.of("mutations", List.of(pending)));
    assertThat(resync.status()).isEqualTo(200);
    assertThat(resync.json().get("push").get("duplicates").asInt()).isEqualTo(1);
    assertThat(writer.pullAll())
        .extracting(c -> c.get("record_id").asText())
        .containsExactly("offline-work");
  }

  @Test
  void retentionSettingsAreCheckedAtStartup() {
    var e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.pisync.server.Config.InvalidConfigException.class,
            () ->
                io.pisync.server.Config.load(
                    Map.of(
                        "PISYNC_SYNC_TOMBSTONE_RETENTION_DAYS", "60",
                        "PISYNC_SYNC_MUTATION_RETENTION_DAYS", "30",
                        "PISYNC_SYNC_STREAM_HEARTBEAT_SECONDS", "40")));
    assertThat(e.problems())
        .anyMatch(p -> p.contains("PISYNC_SYNC_MUTATION_RETENTION_DAYS (30)"))
        .anyMatch(p -> p.contains("PISYNC_SYNC_STREAM_HEARTBEAT_SECONDS (40)"));
  }
}
