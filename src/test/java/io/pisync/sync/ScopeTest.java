package io.pisync.sync;

import static io.pisync.support.SyncDevice.upsert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A device reads and writes only in the scopes an admin granted it. */
class ScopeTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static void fill(SyncDevice writer, String scope, int records) {
    List<Map<String, Object>> muts = new ArrayList<>();
    for (int i = 0; i < records; i++) {
      muts.add(upsert("notes", scope, "r" + i, 0, Map.of("text", scope + " " + i)));
    }
    JsonNode answer = writer.push(muts);
    assertThat(answer.get("applied").asInt()).isEqualTo(records);
  }

  @Test
  void accessGrantedLaterBringsTheScopesExistingRecordsAlthoughTheCursorPassedThem() {
    Grants.grant(server, "teacher", "class:7b");
    Grants.grant(server, "teacher", "class:8a");
    var teacher = new SyncDevice(server, "teacher");
    fill(teacher, "class:8a", 25); // written long before the student may see them

    Grants.grant(server, "student", "class:7b");
    var student = new SyncDevice(server, "student");
    student.pullAll();
    fill(teacher, "class:7b", 3);
    assertThat(student.pullAll()).hasSize(3); // its cursor is now past every 8a record

    Grants.grant(server, "student", "class:8a");
    teacher.push(upsert("notes", "class:7b", "after-grant", 0, Map.of("text", "x")));
    List<JsonNode> pulled = student.pullAll(4); // small pages: the backfill spans pages
    assertThat(pulled).extracting(SyncDevice::keyOf).doesNotHaveDuplicates();
    assertThat(pulled).hasSize(26);
    assertThat(student.local().keySet()).filteredOn(k -> k.contains("class:8a")).hasSize(25);
    assertThat(student.local()).containsKey("notes/class:7b/after-grant");
    assertThat(student.pullAll()).isEmpty();

    // a change to an old record after the grant comes again, once
    teacher.push(upsert("notes", "class:8a", "r3", 1, Map.of("text", "edited")));
    assertThat(student.pullAll())
        .extracting(c -> c.get("data").get("text").asText())
        .containsExactly("edited");
  }

  @Test
  void revokedAccessTellsTheDeviceToDropTheScopeAndEndsItsReadsAndWrites() {
    Grants.grant(server, "writer", "learner:ana");
    Grants.grant(server, "writer", "learner:ben");
    var writer = new SyncDevice(server, "writer");
    Grants.grant(server, "tablet", "learner:ana");
    Grants.grant(server, "tablet", "learner:ben");
    var tablet = new SyncDevice(server, "tablet");
    fill(writer, "learner:ana", 3);
    fill(writer, "learner:ben", 2);
    tablet.pullAll();
    assertThat(tablet.local()).hasSize(5);

    Grants.revoke(server, "tablet", "learner:ben");
    JsonNode page = tablet.pullPage(100);
    assertThat(page.get("revoked_scopes"))
        .extracting(JsonNode::asText)
        .containsExactly("learner:ben");
    assertThat(tablet.local().keySet()).allMatch(k -> k.contains("learner:ana")).hasSize(3);
    assertThat(tablet.pullPage(100).get("revoked_scopes")).as("told once").isEmpty();

    writer.push(upsert("notes", "learner:ben", "later", 0, Map.of("text", "private")));
    assertThat(tablet.pullAll()).isEmpty();
    var writtenWhileRevoked = upsert("notes", "learner:ben", "x", 0, Map.of("t", 1));
    JsonNode refused = tablet.pushOne(writtenWhileRevoked);
    assertThat(refused.get("status").asText()).isEqualTo("rejected");
    assertThat(refused.get("reason").asText()).isEqualTo("scope_not_granted");
    assertThat(tablet.api().get("/api/v1/sync/records/notes/learner:ben/r0").status())
        .isEqualTo(404);
    // pushed again while still refused: refused again, but one mutation counts once
    JsonNode first = server.api().get("/api/v1/sync/devices/tablet").json();
    for (int retry = 0; retry < 2; retry++) {
      assertThat(tablet.pushOne(writtenWhileRevoked).get("reason").asText())
          .isEqualTo("scope_not_granted");
    }
    JsonNode state = server.api().get("/api/v1/sync/devices/tablet").json();
    assertThat(state.at("/totals/rejected").asInt()).as(state.toString()).isEqualTo(1);
    assertThat(state.at("/totals/duplicates").asInt()).isEqualTo(2);
    assertThat(state.get("recent_rejections")).isEqualTo(first.get("recent_rejections"));
    assertThat(state.get("last_rejection_at")).isEqualTo(first.get("last_rejection_at"));
    assertThat(tablet.api().get("/api/v1/sync/records/notes/learner:ana/r0").status())
        .isEqualTo(200);

    // granted again: everything of the scope comes back, including what changed meanwhile
    Grants.grant(server, "tablet", "learner:ben");
    tablet.pullAll();
    assertThat(tablet.local().keySet()).filteredOn(k -> k.contains("learner:ben")).hasSize(3);

    // what the tablet wrote before its grant is applied when it pushes it again, then remembered
    JsonNode retried = tablet.pushOne(writtenWhileRevoked);
    assertThat(retried.get("status").asText()).as(retried.toString()).isEqualTo("applied");
    JsonNode replay = tablet.pushOne(writtenWhileRevoked);
    assertThat(replay.get("status").asText()).isEqualTo("duplicate");
    assertThat(replay.at("/original/status").asText()).isEqualTo("applied");
    assertThat(tablet.api().get("/api/v1/sync/records/notes/learner:ben/x").status())
        .isEqualTo(200);
  }

  @Test
  void aRevocationAndRegrantBetweenTwoPullsDropTheOldDataBeforeTheNewArrives() {
    Grants.grant(server, "regrant-writer", "class:x");
    Grants.grant(server, "regrant-tablet", "class:x");
    var writer = new SyncDevice(server, "regrant-writer");
    var tablet = new SyncDevice(server, "regrant-tablet");
    fill(writer, "class:x", 4);
    tablet.pullAll();
    Grants.revoke(server, "regrant-tablet", "class:x");
    writer.push(SyncDevice.delete("notes", "class:x", "r0", 1));
    Grants.grant(server, "regrant-tablet", "class:x");
    JsonNode first = tablet.pullPage(2);
    assertThat(first.get("revoked_scopes")).extracting(JsonNode::asText).containsExactly("class:x");
    tablet.pullAll(2);
    assertThat(tablet.local().keySet())
        .containsExactlyInAnyOrder("notes/class:x/r1", "notes/class:x/r2", "notes/class:x/r3");
  }

  @Test
  void theSameGrantSentManyTimesAtOnceIsCreatedOnce() throws Exception {
    server.deviceKey("grant-race");
    try (var pool = Executors.newFixedThreadPool(8)) {
      for (int round = 0; round < 5; round++) {
        String path = Grants.path("grant-race", "learner:race" + round);
        List<Future<Api.Response>> answers = new ArrayList<>();
        for (int i = 0; i < 8; i++) answers.add(pool.submit(() -> server.api().put(path, null)));
        List<Integer> statuses = new ArrayList<>();
        Set<String> grantedAt = new HashSet<>();
        for (var answer : answers) {
          statuses.add(answer.get().status());
          grantedAt.add(answer.get().json().get("granted_at").asText());
        }
        assertThat(statuses).as("round %d", round).containsOnlyOnce(201).containsOnly(200, 201);
        assertThat(grantedAt).hasSize(1);
      }
    }
  }

  @Test
  void grantsAreIdempotentAndTheirRoutesCheckTheirInput() {
    Api admin = server.api();
    Api.Response unknown = admin.put(Grants.path("never-registered", "learner:1"), null);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("type").asText()).endsWith("/device-not-found");
    server.deviceKey("grant-check");
    String path = Grants.path("grant-check", "learner:1");
    Api.Response first = admin.put(path, null);
    assertThat(first.status()).isEqualTo(201);
    assertThat(first.json().get("scope").asText()).isEqualTo("learner:1");
    Api.Response again = admin.put(path, null);
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("granted_at")).isEqualTo(first.json().get("granted_at"));
    assertThat(admin.delete(path).status()).isEqualTo(204);
    Api.Response gone = admin.delete(path);
    assertThat(gone.status()).isEqualTo(404);
    assertThat(gone.contentType()).startsWith("application/problem+json");
    Api.Response bad = admin.put(Grants.path("grant-check", "bad%20scope"), null);
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().get("errors").get(0).get("field").asText()).isEqualTo("scope");
    Api.Response badDevice = admin.put(Grants.path("x".repeat(65), "learner:1"), null);
    assertThat(badDevice.status()).isEqualTo(400);
  }
}
