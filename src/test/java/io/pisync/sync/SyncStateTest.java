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
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What operators see: each device's sync state, the records and their conflict history. */
class SyncStateTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void aDevicesSyncStateShowsItsLastPullAndCursorLastPushConflictsAndRejections() {
    Grants.grant(server, "state-a", "class:state");
    Grants.grant(server, "state-b", "class:state");
    var a = new SyncDevice(server, "state-a");
    var b = new SyncDevice(server, "state-b");
    Api viewer = server.person("state-viewer", "viewer");

    JsonNode fresh = viewer.get("/api/v1/sync/devices/state-a").json();
    assertThat(fresh.get("scopes"))
        .extracting(s -> s.get("scope").asText())
        .containsExactly("class:state");
    assertThat(fresh.get("last_pull").isNull()).isTrue();
    assertThat(fresh.get("last_push").isNull()).isTrue();
    a.pullAll();

    b.push(upsert("assignments", "class:state", "essay", 0, Map.of("submitted", true)));
    a.push(
        List.of(
            upsert("notes", "class:state", "n", 0, Map.of("t", 1)),
            upsert("assignments", "class:state", "essay", 0, Map.of("t", "late")),
            with(upsert("notes", "class:state", "bad", 0, Map.of()), "op", "merge")));
    a.pullAll();

    JsonNode state = viewer.get("/api/v1/sync/devices/state-a").json();
    assertThat(state.get("last_pull").get("cursor").asText()).isEqualTo(a.cursor());
    assertThat(state.get("last_pull").get("complete").asBoolean()).isTrue();
    assertThat(state.get("last_pull").get("changes").asInt()).isEqualTo(1);
    assertThat(state.get("last_pull").get("position").asLong())
        .isEqualTo(state.get("feed_head").asLong());
    assertThat(state.get("last_push").get("mutations").asInt()).isEqualTo(3);
    assertThat(Instant.parse(state.get("last_push").get("at").asText()))
        .isBefore(Instant.parse(state.get("last_pull").get("at").asText()));
    assertThat(state.get("totals").get("applied").asInt()).isEqualTo(1);
    assertThat(state.get("totals").get("conflicts").asInt()).isEqualTo(1);
    assertThat(state.get("totals").get("rejected").asInt()).isEqualTo(1);
    assertThat(state.get("last_conflict_at").isNull()).isFalse();
    JsonNode rejection = state.get("recent_rejections").get(0);
    assertThat(rejection.get("reason").asText()).isEqualTo("validation");
    assertThat(rejection.get("detail").asText()).contains("op");

    assertThat(state.get("last_pull_error").isNull()).isTrue();
    assertThat(state.get("totals").get("failed_pulls").asInt()).isZero();

    // a pull the server refuses shows up too: a device stuck on it is not just "last pull: old"
    assertThat(a.api().get("/api/v1/sync/pull?cursor=Zm9v").status()).isEqualTo(400);
    JsonNode refused = viewer.get("/api/v1/sync/devices/state-a").json();
    assertThat(refused.at("/last_pull_error/type").asText()).endsWith("/bad-cursor");
    assertThat(refused.at("/last_pull_error/detail").asText()).contains("Zm9v");
    assertThat(refused.at("/totals/failed_pulls").asInt()).isEqualTo(1);
    assertThat(refused.at("/last_pull/cursor").asText())
        .as("the last answered pull stays")
        .isEqualTo(a.cursor());

    // HEAD answers as a pull would, but delivers nothing, so the sync state does not change
    assertThat(a.api().send("HEAD", "/api/v1/sync/pull", null, null).status()).isEqualTo(200);
    assertThat(a.api().send("HEAD", "/api/v1/sync/pull?cursor=Zm9v", null, null).status())
        .isEqualTo(400);
    JsonNode afterHead = viewer.get("/api/v1/sync/devices/state-a").json();
    assertThat(afterHead.get("last_pull")).isEqualTo(refused.get("last_pull"));
    assertThat(afterHead.at("/totals")).isEqualTo(refused.at("/totals"));

    Api.Response unknown = viewer.get("/api/v1/sync/devices/never-seen");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("type").asText()).endsWith("/device-not-found");
    // an id no device can have is a mistake in the request: 400 naming it
    Api.Response invalid = viewer.get("/api/v1/sync/devices/bad%20id!");
    assertThat(invalid.status()).isEqualTo(400);
    assertThat(invalid.json().get("type").asText()).endsWith("/validation");
    assertThat(invalid.json().get("errors").get(0).get("field").asText()).isEqualTo("device_id");
    assertThat(invalid.json().get("errors").get(0).get("value").asText()).isEqualTo("bad id!");
  }

  /**
   * Noting a pull in the device's sync state is information for operators: when it fails, the
   * device still gets its changes (here the database refuses every write of its sync state).
   */
  @Test
  void aPullIsAnsweredEvenWhenItsSyncStateCannotBeNoted() throws Exception {
    Grants.grant(server, "state-writer", "class:state-fail");
    Grants.grant(server, "state-reader", "class:state-fail");
    var writer = new SyncDevice(server, "state-writer");
    var reader = new SyncDevice(server, "state-reader");
    writer.push(upsert("notes", "class:state-fail", "n", 0, Map.of("text", "hello")));
    try (Connection c = DriverManager.getConnection(server.jdbcUrl(), "postgres", "");
        Statement st = c.createStatement()) {
      st.execute(
          """
          CREATE FUNCTION test_refuse_state() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.device_id = 'state-reader' THEN RAISE EXCEPTION 'sync state is read only'; END IF;
            RETURN NEW;
          END $$\
          """);
      st.execute(
          "CREATE TRIGGER test_refuse_state BEFORE INSERT OR UPDATE ON sync_device_state"
              + " FOR EACH ROW EXECUTE FUNCTION test_refuse_state()");
      try {
        assertThat(reader.pullAll())
            .extracting(ch -> ch.get("data").get("text").asText())
            .containsExactly("hello");
        Api.Response sync = reader.api().post("/api/v1/sync", Map.of("cursor", reader.cursor()));
        assertThat(sync.status()).as(sync.body()).isEqualTo(200);
      } finally {
        st.execute("DROP TRIGGER test_refuse_state ON sync_device_state");
        st.execute("DROP FUNCTION test_refuse_state()");
      }
    }
  }

  @Test
  void recordsCanBeBrowsedByScopeAndCollectionWithTheirConflictHistory() {
    Grants.grant(server, "browse-a", "class:browse");
    Grants.grant(server, "browse-b", "class:browse");
    var a = new SyncDevice(server, "browse-a");
    var b = new SyncDevice(server, "browse-b");
    for (int i = 0; i < 12; i++)
      a.push(upsert("notes", "class:browse", "n" + i, 0, Map.of("i", i)));
    a.push(upsert("progress", "class:browse", "p", 0, Map.of("position", 1)));
    a.push(SyncDevice.delete("notes", "class:browse", "n0", 1));
    Instant early = server.clock().instant().minusSeconds(600);
    for (int i = 0; i < 3; i++) {
      b.push(
          with(
              upsert("notes", "class:browse", "n5", 0, Map.of("stale", i)),
              "modified_at",
              early.plusSeconds(i).toString()));
    }
    Api viewer = server.person("browse-viewer", "viewer");

    Api.Pages notes =
        viewer.allPages("/api/v1/sync/records?scope=class:browse&collection=notes&limit=5");
    assertThat(notes.count()).isEqualTo(3);
    assertThat(notes.items())
        .hasSize(11)
        .extracting(r -> r.get("record_id").asText())
        .doesNotContain("n0");
    Api.Pages withDeleted =
        viewer.allPages("/api/v1/sync/records?scope=class:browse&include_deleted=true&limit=5");
    assertThat(withDeleted.items()).hasSize(13);

    JsonNode record = viewer.get("/api/v1/sync/records/notes/class:browse/n5").json();
    assertThat(record.get("conflicts").asInt()).isEqualTo(3);
    Api.Pages history =
        viewer.allPages("/api/v1/sync/records/notes/class:browse/n5/conflicts?limit=2");
    assertThat(history.count()).isEqualTo(2);
    assertThat(history.items())
        .extracting(h -> h.get("loser").get("data").get("stale").asInt())
        .containsExactly(0, 1, 2);

    assertThat(viewer.get("/api/v1/sync/records/notes/class:browse/nothing").status())
        .isEqualTo(404);
    assertThat(viewer.get("/api/v1/sync/records?collection=BAD").status()).isEqualTo(400);
    assertThat(viewer.get("/api/v1/sync/records?cursor=nonsense").status()).isEqualTo(400);
    assertThat(
            viewer.get("/api/v1/sync/records/notes/class:browse/n5/conflicts?cursor=zz").status())
        .isEqualTo(400);
  }
}
