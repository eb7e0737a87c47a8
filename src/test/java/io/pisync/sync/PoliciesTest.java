package io.pisync.sync;

import static io.pisync.support.SyncDevice.delete;
import static io.pisync.support.SyncDevice.upsert;
import static io.pisync.support.SyncDevice.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each collection's conflict policy, as devices see it. */
class PoliciesTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static SyncDevice device(String id, String scope) {
    Grants.grant(server, id, scope);
    return new SyncDevice(server, id);
  }

  private static Map<String, Object> editedAt(Map<String, Object> m, Instant at) {
    return with(m, "modified_at", at.toString());
  }

  // ---------------------------------------------------------------------------------- notes

  /** Both tablets edit version 1 offline; the later edit is the tablet's at 10:05. */
  private void twoTabletsEditOneNoteOffline(String scope, boolean laterEditSyncsFirst) {
    var tablet = device("tablet-" + scope, scope);
    var box = device("box-" + scope, scope);
    tablet.push(upsert("notes", scope, "diary", 0, Map.of("text", "monday")));
    tablet.pullAll();
    box.pullAll();
    Instant morning = server.clock().instant().minus(Duration.ofHours(2));
    var fromTablet =
        editedAt(
            upsert("notes", scope, "diary", 1, Map.of("text", "tablet")), morning.plusSeconds(300));
    var fromBox = editedAt(upsert("notes", scope, "diary", 1, Map.of("text", "box")), morning);

    if (laterEditSyncsFirst) {
      assertThat(tablet.pushOne(fromTablet).get("status").asText()).isEqualTo("applied");
      JsonNode lost = box.pushOne(fromBox);
      assertThat(lost.get("status").asText()).isEqualTo("conflict");
      assertThat(lost.get("reason").asText()).isEqualTo("stale_version");
      assertThat(lost.get("record").get("data").get("text").asText()).isEqualTo("tablet");
    } else {
      assertThat(box.pushOne(fromBox).get("status").asText()).isEqualTo("applied");
      assertThat(tablet.pushOne(fromTablet).get("status").asText()).isEqualTo("applied");
    }
    tablet.pullAll();
    box.pullAll();
    assertThat(tablet.local("notes", scope, "diary").get("data").get("text").asText())
        .isEqualTo("tablet");
    for (String field : List.of("version", "data", "updated_by")) {
      assertThat(box.local("notes", scope, "diary").get(field).toString())
          .isEqualTo(tablet.local("notes", scope, "diary").get(field).toString());
    }

    // the losing version can be retrieved, by an operator and by the devices of the scope
    String conflicts = "/api/v1/sync/records/notes/" + scope + "/diary/conflicts";
    for (Api reader : List.of(server.api(), box.api())) {
      JsonNode history = reader.get(conflicts).json().get("items");
      assertThat(history).hasSize(1);
      assertThat(history.get(0).get("loser").get("device").asText()).isEqualTo(box.id());
      assertThat(history.get(0).get("loser").get("data").get("text").asText()).isEqualTo("box");
      assertThat(history.get(0).get("winner_device").asText()).isEqualTo(tablet.id());
    }
  }

  @Test
  void twoDevicesEditingOneNoteOfflineConvergeOnTheLaterEditWhicheverSyncsFirst() {
    twoTabletsEditOneNoteOffline("learner:notes-1", true);
    twoTabletsEditOneNoteOffline("learner:notes-2", false);
  }

  @Test
  void aClockAYearAheadDoesNotWinOverAnEditMadeLater() {
    String scope = "learner:clock";
    var ahead = device("clock-ahead", scope);
    var honest = device("clock-honest", scope);
    ahead.push(upsert("notes", scope, "n", 0, Map.of("text", "start")));
    honest.pullAll();
    Instant yearAhead = server.clock().instant().plus(Duration.ofDays(365));
    ahead.push(editedAt(upsert("notes", scope, "n", 1, Map.of("text", "ahead")), yearAhead));
    // edited after the device a year ahead reached the server, from the version before it
    Instant later = server.clock().instant().plusMillis(5);
    JsonNode result =
        honest.pushOne(editedAt(upsert("notes", scope, "n", 1, Map.of("text", "later")), later));
    assertThat(result.get("status").asText()).isEqualTo("applied");
    assertThat(honest.pullAll()).isEmpty();
    assertThat(ahead.pullAll())
        .extracting(c -> c.get("data").get("text").asText())
        .containsExactly("later");
  }

  @Test
  void anEditOfTheLatestVersionAlwaysAppliesWhateverTheDeviceClockSays() {
    String scope = "learner:behind";
    var behind = device("clock-behind", scope);
    var other = device("clock-other", scope);
    other.push(upsert("notes", scope, "n", 0, Map.of("text", "today")));
    behind.pullAll();
    Instant yearBehind = server.clock().instant().minus(Duration.ofDays(365));
    JsonNode result =
        behind.pushOne(
            editedAt(upsert("notes", scope, "n", 1, Map.of("text", "seen it")), yearBehind));
    assertThat(result.get("status").asText()).isEqualTo("applied");
    assertThat(other.pullAll())
        .extracting(c -> c.get("data").get("text").asText())
        .containsExactly("seen it");
  }

  /**
   * A tablet whose clock is a year behind edits a note after pulling its latest version (10:00); a
   * box edited the version before that offline at 09:30. The tablet's edit came later, so it wins,
   * whichever of the two reaches the server first.
   */
  @Test
  void anEditMadeAfterPullingTheLatestVersionWinsEvenFromAClockAYearBehind() {
    for (boolean slowSyncsFirst : List.of(true, false)) {
      String scope = "learner:slow-" + slowSyncsFirst;
      var writer = device("slow-writer-" + slowSyncsFirst, scope);
      var box = device("slow-box-" + slowSyncsFirst, scope);
      var slow = device("slow-tablet-" + slowSyncsFirst, scope);
      Instant now = server.clock().instant();
      writer.push(
          editedAt(
              upsert("notes", scope, "n", 0, Map.of("text", "v1")), now.minusSeconds(3 * 3600)));
      box.pullAll();
      writer.push(
          editedAt(upsert("notes", scope, "n", 1, Map.of("text", "v2")), now.minusSeconds(3600)));
      slow.pullAll();
      var fromBox =
          editedAt(upsert("notes", scope, "n", 1, Map.of("text", "box")), now.minusSeconds(5400));
      var fromSlow =
          editedAt(
              upsert("notes", scope, "n", 2, Map.of("text", "slow tablet")),
              now.minus(Duration.ofDays(365)));

      if (slowSyncsFirst) {
        assertThat(slow.pushOne(fromSlow).get("status").asText()).isEqualTo("applied");
        assertThat(box.pushOne(fromBox).path("reason").asText()).isEqualTo("stale_version");
      } else {
        assertThat(box.pushOne(fromBox).path("reason").asText()).isEqualTo("stale_version");
        assertThat(slow.pushOne(fromSlow).get("status").asText()).isEqualTo("applied");
      }
      for (SyncDevice d : List.of(writer, box, slow)) {
        d.pullAll();
        assertThat(d.local("notes", scope, "n").get("data").get("text").asText())
            .as("%s (slow tablet synced first: %s)", d.id(), slowSyncsFirst)
            .isEqualTo("slow tablet");
      }
      // its stored edit time is just after the version it edited, not a year ago
      Instant stored = Instant.parse(box.local("notes", scope, "n").get("modified_at").asText());
      assertThat(stored).isAfter(now.minusSeconds(3600)).isBefore(now.minusSeconds(3599));
    }
  }

  /**
   * Two tablets with clocks a year behind both edit the version they pulled: both edits count as
   * made just after it, so the greater device id wins, whichever syncs first.
   */
  @Test
  void twoTabletsAYearBehindEditingTheSameVersionConvergeWhicheverSyncsFirst() {
    for (boolean aFirst : List.of(true, false)) {
      String scope = "learner:two-slow-" + aFirst;
      var writer = device("two-slow-writer-" + aFirst, scope);
      var a = device("two-slow-a-" + aFirst, scope);
      var b = device("two-slow-b-" + aFirst, scope);
      writer.push(upsert("notes", scope, "n", 0, Map.of("text", "v1")));
      a.pullAll();
      b.pullAll();
      Instant yearAgo = server.clock().instant().minus(Duration.ofDays(365));
      var fromA = editedAt(upsert("notes", scope, "n", 1, Map.of("text", "a")), yearAgo);
      var fromB =
          editedAt(upsert("notes", scope, "n", 1, Map.of("text", "b")), yearAgo.minusSeconds(60));
      if (aFirst) {
        a.push(fromA);
        b.push(fromB);
      } else {
        b.push(fromB);
        a.push(fromA);
      }
      for (SyncDevice d : List.of(writer, a, b)) {
        d.pullAll();
        assertThat(d.local("notes", scope, "n").get("data").get("text").asText())
            .as("%s (a synced first: %s)", d.id(), aFirst)
            .isEqualTo("b");
      }
    }
  }

  @Test
  void aBaseVersionAboveTheRecordsVersionIsRejectedAndChangesNothing() {
    String scope = "learner:base-ahead";
    var a = device("base-ahead-a", scope);
    var b = device("base-ahead-b", scope);
    a.push(upsert("notes", scope, "n", 0, Map.of("text", "v1")));
    a.push(upsert("progress", scope, "p", 0, Map.of("position", 5)));

    // b claims versions that never existed: an older edit must not pass for one that follows
    Instant dayAgo = server.clock().instant().minus(Duration.ofDays(1));
    JsonNode edit =
        b.pushOne(editedAt(upsert("notes", scope, "n", 7, Map.of("text", "bogus")), dayAgo));
    assertThat(edit.get("status").asText()).isEqualTo("rejected");
    assertThat(edit.get("reason").asText()).isEqualTo("validation");
    assertThat(edit.get("detail").asText()).contains("base_version").contains("version 1");
    assertThat(edit.get("errors").get(0).get("field").asText()).isEqualTo("base_version");
    assertThat(edit.get("errors").get(0).get("value").asLong()).isEqualTo(7);
    JsonNode remove = b.pushOne(delete("progress", scope, "p", 9));
    assertThat(remove.get("status").asText()).isEqualTo("rejected");
    assertThat(remove.get("errors").get(0).get("value").asLong()).isEqualTo(9);

    JsonNode note = server.api().get("/api/v1/sync/records/notes/" + scope + "/n").json();
    assertThat(note.get("record").get("version").asLong()).isEqualTo(1);
    assertThat(note.get("record").get("data").get("text").asText()).isEqualTo("v1");
    JsonNode progress = server.api().get("/api/v1/sync/records/progress/" + scope + "/p").json();
    assertThat(progress.get("record").get("deleted").asBoolean()).isFalse();
  }

  // ------------------------------------------------------------------------------- progress

  @Test
  void progressMergesFieldByFieldSoNoDeviceUndoesAnothersProgress() {
    String scope = "learner:progress";
    var a = device("progress-a", scope);
    var b = device("progress-b", scope);
    a.push(upsert("progress", scope, "fractions", 0, Map.of("position", 12, "score", 40)));
    b.pullAll();
    // a finishes the lesson; b, offline and behind, reports a better score on an earlier page
    a.push(
        upsert(
            "progress",
            scope,
            "fractions",
            1,
            Map.of("position", 30, "score", 55, "completed", true)));
    JsonNode merged =
        b.pushOne(
            upsert(
                "progress",
                scope,
                "fractions",
                1,
                Map.of("position", 14, "score", 80, "completed", false)));
    assertThat(merged.get("status").asText()).isEqualTo("applied");
    JsonNode record = merged.get("record");
    assertThat(record.get("data").get("position").asInt()).isEqualTo(30);
    assertThat(record.get("data").get("score").asInt()).isEqualTo(80);
    assertThat(record.get("data").get("completed").asBoolean()).isTrue();

    a.pullAll();
    b.pullAll();
    assertThat(a.local("progress", scope, "fractions"))
        .isEqualTo(b.local("progress", scope, "fractions"));
    assertThat(a.local("progress", scope, "fractions").get("data")).isEqualTo(record.get("data"));

    // a device cannot delete progress it has not seen
    a.push(upsert("progress", scope, "fractions", 3, Map.of("position", 31)));
    JsonNode refused = b.pushOne(delete("progress", scope, "fractions", 3));
    assertThat(refused.get("status").asText()).isEqualTo("conflict");
    assertThat(refused.get("reason").asText()).isEqualTo("stale_delete");
    assertThat(refused.get("record").get("data").get("position").asInt()).isEqualTo(31);
    assertThat(b.pushOne(delete("progress", scope, "fractions", 4)).get("status").asText())
        .isEqualTo("applied");
  }

  @Test
  void progressEditedOfflineKeepsTheLaterBookmarkWhenTheLaterEditSyncsFirst() {
    twoDevicesMoveOneBookmarkOffline("learner:bookmark-1", true);
  }

  @Test
  void progressEditedOfflineKeepsTheLaterBookmarkWhenTheEarlierEditSyncsFirst() {
    twoDevicesMoveOneBookmarkOffline("learner:bookmark-2", false);
  }

  @Test
  void progressThatWouldOutgrowTheRecordLimitWhenMergedIsRejected() {
    String scope = "learner:progress-size";
    var a = device("progress-size", scope);
    String big = "x".repeat(40_000);
    a.push(upsert("progress", scope, "p", 0, Map.of("position", 1, "notes", big)));
    JsonNode refused = a.pushOne(upsert("progress", scope, "p", 1, Map.of("summary", big)));
    assertThat(refused.get("status").asText()).isEqualTo("rejected");
    assertThat(refused.get("errors").get(0).get("field").asText()).isEqualTo("data");
    assertThat(refused.get("detail").asText()).contains("65536 bytes");
    assertThat(
            a.pushOne(upsert("progress", scope, "p", 1, Map.of("position", 2)))
                .get("status")
                .asText())
        .isEqualTo("applied");
  }

  /**
   * Both devices saw version 1, then edited it offline: {@code a} a day ago, {@code b} two days
   * ago, further into the lesson. Either way they converge on the furthest position and on the
   * later edit's bookmark; the earlier bookmark is kept in the conflict history.
   */
  private void twoDevicesMoveOneBookmarkOffline(String scope, boolean laterEditSyncsFirst) {
    String name = scope.substring(scope.indexOf(':') + 1);
    var a = device(name + "-a", scope);
    var b = device(name + "-b", scope);
    Instant now = Instant.now();
    a.push(
        editedAt(
            upsert("progress", scope, "lesson", 0, Map.of("position", 10, "bookmark", "p1")),
            now.minus(Duration.ofDays(3))));
    b.pullAll();
    var later =
        editedAt(
            upsert("progress", scope, "lesson", 1, Map.of("position", 12, "bookmark", "p9")),
            now.minus(Duration.ofDays(1)));
    // b saved twice while offline, both edits of version 1
    var earlier =
        List.of(
            editedAt(
                upsert(
                    "progress",
                    scope,
                    "lesson",
                    1,
                    Map.of("position", 40, "bookmark", "p3", "note", "hard")),
                now.minus(Duration.ofDays(2))),
            editedAt(
                upsert("progress", scope, "lesson", 1, Map.of("position", 41, "bookmark", "p4")),
                now.minus(Duration.ofDays(2)).plus(Duration.ofHours(1))));
    if (laterEditSyncsFirst) {
      assertThat(a.pushOne(later).get("status").asText()).isEqualTo("applied");
      assertThat(b.push(earlier).get("results"))
          .allMatch(r -> r.get("status").asText().equals("applied"));
    } else {
      assertThat(b.push(earlier).get("results"))
          .allMatch(r -> r.get("status").asText().equals("applied"));
      assertThat(a.pushOne(later).get("status").asText()).isEqualTo("applied");
    }
    a.pullAll();
    b.pullAll();
    JsonNode data = a.local("progress", scope, "lesson").get("data");
    assertThat(data.get("bookmark").asText()).isEqualTo("p9");
    assertThat(data.get("position").asInt()).isEqualTo(41);
    assertThat(data.get("note").asText()).isEqualTo("hard");
    assertThat(b.local("progress", scope, "lesson").get("data")).isEqualTo(data);

    // b's last bookmark is kept in the history, lost to a's later one
    JsonNode history =
        server
            .api()
            .get("/api/v1/sync/records/progress/" + scope + "/lesson/conflicts")
            .json()
            .get("items");
    assertThat(history).isNotEmpty();
    assertThat(history).allMatch(h -> h.get("loser").get("device").asText().equals(b.id()));
    assertThat(history).allMatch(h -> h.get("winner_device").asText().equals(a.id()));
    assertThat(history)
        .extracting(h -> h.get("loser").get("data").get("bookmark").asText())
        .contains("p4");
  }

  // ---------------------------------------------------------------------------- assignments

  @Test
  void aSubmittedAssignmentRefusesLaterEditsAsConflicts() {
    String scope = "learner:essay";
    var a = device("essay-a", scope);
    var b = device("essay-b", scope);
    a.push(upsert("assignments", scope, "essay", 0, Map.of("text", "draft")));
    b.pullAll();
    a.push(upsert("assignments", scope, "essay", 1, Map.of("text", "final", "submitted", true)));

    JsonNode late = b.pushOne(upsert("assignments", scope, "essay", 1, Map.of("text", "more")));
    assertThat(late.get("status").asText()).isEqualTo("conflict");
    assertThat(late.get("reason").asText()).isEqualTo("submitted");
    assertThat(late.get("record").get("data").get("text").asText()).isEqualTo("final");
    JsonNode evenUpToDate =
        b.pushOne(upsert("assignments", scope, "essay", 2, Map.of("text", "oops")));
    assertThat(evenUpToDate.get("status").asText()).isEqualTo("conflict");
    assertThat(b.pushOne(delete("assignments", scope, "essay", 2)).get("status").asText())
        .isEqualTo("conflict");
    assertThat(
            server
                .api()
                .get("/api/v1/sync/records/assignments/" + scope + "/essay/conflicts")
                .json()
                .get("items"))
        .extracting(c -> c.get("reason").asText())
        .containsExactly("submitted", "submitted", "submitted");
  }

  @Test
  void aSubmissionWinsOverAConcurrentEditThatArrivedFirst() {
    String scope = "learner:essay-2";
    var a = device("essay-c", scope);
    var b = device("essay-d", scope);
    a.push(upsert("assignments", scope, "essay", 0, Map.of("text", "draft")));
    b.pullAll();
    Instant later = server.clock().instant();
    b.push(editedAt(upsert("assignments", scope, "essay", 1, Map.of("text", "b edit")), later));
    JsonNode submitted =
        a.pushOne(
            editedAt(
                upsert(
                    "assignments", scope, "essay", 1, Map.of("text", "a final", "submitted", true)),
                later.minusSeconds(60)));
    assertThat(submitted.get("status").asText()).isEqualTo("applied");
    assertThat(b.pullAll())
        .extracting(c -> c.get("data").get("text").asText())
        .containsExactly("a final");
  }

  // --------------------------------------------------------------------------- quiz answers

  @Test
  void quizAnswersAreAppendOnly() {
    String scope = "learner:quiz";
    var a = device("quiz-a", scope);
    assertThat(
            a.pushOne(upsert("quiz_answers", scope, "q1-try1", 0, Map.of("a", "B")))
                .get("status")
                .asText())
        .isEqualTo("applied");
    JsonNode change = a.pushOne(upsert("quiz_answers", scope, "q1-try1", 1, Map.of("a", "C")));
    assertThat(change.get("status").asText()).isEqualTo("rejected");
    assertThat(change.get("reason").asText()).isEqualTo("append_only");
    assertThat(a.pushOne(delete("quiz_answers", scope, "q1-try1", 1)).get("reason").asText())
        .isEqualTo("append_only");
    assertThat(
            a.pushOne(upsert("quiz_answers", scope, "q1-try2", 0, Map.of("a", "C")))
                .get("status")
                .asText())
        .isEqualTo("applied");
  }

  // -------------------------------------------------------------------- declared collections

  @Test
  void anOperatorDeclaredCollectionFollowsThePolicyItPicked() {
    Api admin = server.api();
    Api.Response declared =
        admin.put("/api/v1/sync/collections/reading_log", Map.of("policy", "merge"));
    assertThat(declared.status()).isEqualTo(201);
    assertThat(
            admin.put("/api/v1/sync/collections/reading_log", Map.of("policy", "merge")).status())
        .isEqualTo(200);
    assertThat(admin.get("/api/v1/sync/collections").json().get("items"))
        .extracting(c -> c.get("name").asText() + ":" + c.get("policy").asText())
        .contains("reading_log:merge", "notes:last_writer_wins", "progress:merge");

    String scope = "learner:reading";
    var a = device("reading-a", scope);
    a.push(upsert("reading_log", scope, "book", 0, Map.of("position", 90)));
    JsonNode merged = a.pushOne(upsert("reading_log", scope, "book", 0, Map.of("position", 20)));
    assertThat(merged.get("record").get("data").get("position").asInt()).isEqualTo(90);

    Api.Response change =
        admin.put("/api/v1/sync/collections/reading_log", Map.of("policy", "append_only"));
    assertThat(change.status()).isEqualTo(409);
    assertThat(change.json().get("type").asText()).endsWith("/collection-policy-conflict");
    assertThat(change.json().get("detail").asText()).contains("holds records");
    assertThat(admin.put("/api/v1/sync/collections/notes", Map.of("policy", "merge")).status())
        .isEqualTo(409);
    assertThat(admin.put("/api/v1/sync/collections/empty_one", Map.of("policy", "merge")).status())
        .isEqualTo(201);
    assertThat(
            admin
                .put("/api/v1/sync/collections/empty_one", Map.of("policy", "append_only"))
                .status())
        .isEqualTo(200);

    Api.Response badPolicy =
        admin.put("/api/v1/sync/collections/things", Map.of("policy", "newest"));
    assertThat(badPolicy.status()).isEqualTo(400);
    assertThat(badPolicy.json().get("errors").get(0).get("field").asText()).isEqualTo("policy");
    assertThat(admin.put("/api/v1/sync/collections/Bad-Name", Map.of("policy", "merge")).status())
        .isEqualTo(400);
    assertThat(admin.put("/api/v1/sync/collections/things", List.of()).status()).isEqualTo(400);
  }
}
