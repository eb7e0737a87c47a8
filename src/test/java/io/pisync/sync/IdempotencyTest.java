package io.pisync.sync;

import static io.pisync.support.SyncDevice.delete;
import static io.pisync.support.SyncDevice.upsert;
import static io.pisync.support.SyncDevice.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.Api;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A retried push never counts twice: replays change nothing and get the first answers. */
class IdempotencyTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** Applied, conflict and rejected results, all in one push. */
  private static List<Map<String, Object>> mixedPush(String scope) {
    return List.of(
        upsert("notes", scope, "note", 0, Map.of("text", "mine")),
        upsert("progress", scope, "lesson", 0, Map.of("position", 3, "score", 40)),
        upsert("assignments", scope, "essay", 0, Map.of("text", "late edit")),
        upsert("quiz_answers", scope, "q1", 0, Map.of("answer", "B")),
        with(upsert("notes", scope, "bad", 0, Map.of()), "base_version", -5),
        delete("notes", scope, "gone", 0));
  }

  private SyncDevice preparedDevice(String id, String scope) {
    Grants.grant(server, id, scope);
    Grants.grant(server, id + "-other", scope);
    var other = new SyncDevice(server, id + "-other");
    other.push(upsert("assignments", scope, "essay", 0, Map.of("text", "done", "submitted", true)));
    return new SyncDevice(server, id);
  }

  @Test
  void replayingAWholePushChangesNothingAndReturnsTheSameAnswers() {
    SyncDevice device = preparedDevice("idem-a", "class:idem-a");
    var watcher = new SyncDevice(server, "idem-a-other");
    watcher.pullAll();
    List<Map<String, Object>> push = mixedPush("class:idem-a");

    JsonNode first = device.push(push);
    assertThat(PushTest.statuses(first.get("results")))
        .containsExactly("applied", "applied", "conflict", "applied", "rejected", "rejected");
    List<JsonNode> changes = watcher.pullAll();
    assertThat(changes).hasSize(3);
    String stateBefore = state("idem-a");

    for (int replay = 0; replay < 3; replay++) {
      JsonNode again = device.push(push);
      assertThat(again.get("duplicates").asInt()).isEqualTo(push.size());
      for (int i = 0; i < push.size(); i++) {
        JsonNode result = again.get("results").get(i);
        assertThat(result.get("status").asText()).isEqualTo("duplicate");
        assertThat(result.get("original")).isEqualTo(first.get("results").get(i));
      }
    }
    assertThat(watcher.pullAll()).as("nothing changed for other devices").isEmpty();
    assertThat(
            server
                .api()
                .get("/api/v1/sync/records/notes/class:idem-a/note")
                .json()
                .get("record")
                .get("version")
                .asLong())
        .isEqualTo(1);
    assertThat(state("idem-a")).isEqualTo(stateBefore);
  }

  /** The counters, without the times and duplicates that a replay does move. */
  private static String state(String device) {
    JsonNode s = server.api().get("/api/v1/sync/devices/" + device).json();
    JsonNode t = s.get("totals");
    return t.get("applied") + "/" + t.get("conflicts") + "/" + t.get("rejected");
  }

  @Test
  void replayingPartOfAPushInAnotherOrderWithNewMutationsAppliesOnlyTheNewOnes() {
    SyncDevice device = preparedDevice("idem-b", "class:idem-b");
    List<Map<String, Object>> push = mixedPush("class:idem-b");
    JsonNode first = device.push(push);

    Map<String, Object> fresh = upsert("notes", "class:idem-b", "note", 1, Map.of("text", "new"));
    List<Map<String, Object>> partial = List.of(push.get(3), fresh, push.get(0), push.get(4));
    JsonNode again = device.push(partial);

    assertThat(PushTest.statuses(again.get("results")))
        .containsExactly("duplicate", "applied", "duplicate", "duplicate");
    assertThat(again.get("results").get(0).get("original")).isEqualTo(first.get("results").get(3));
    assertThat(again.get("results").get(2).get("original")).isEqualTo(first.get("results").get(0));
    assertThat(again.get("results").get(3).get("original")).isEqualTo(first.get("results").get(4));
    assertThat(again.get("results").get(1).get("version").asLong()).isEqualTo(2);
  }

  @Test
  void theSamePushSentTenTimesAtOnceIsAppliedOnce() throws Exception {
    Grants.grant(server, "idem-c", "class:idem-c");
    Api device = server.device("idem-c");
    List<Map<String, Object>> push = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      push.add(upsert("progress", "class:idem-c", "lesson-" + (i % 5), 0, Map.of("score", i)));
    }
    var start = new CountDownLatch(1);
    List<Future<Api.Response>> answers = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 10; i++) {
        answers.add(
            pool.submit(() -> {
              start.await();
              return device.post("/api/v1/sync/push", Map.of("mutations", push));
            }));
      }
      start.countDown();
    }
    int applied = 0;
    int duplicates = 0;
    for (Future<Api.Response> f : answers) {
      JsonNode body = f.get().json();
      applied += body.get("applied").asInt();
      duplicates += body.get("duplicates").asInt();
    }
    assertThat(applied).isEqualTo(50);
    assertThat(duplicates).isEqualTo(450);
    for (int lesson = 0; lesson < 5; lesson++) {
      JsonNode record =
          server.api().get("/api/v1/sync/records/progress/class:idem-c/lesson-" + lesson).json();
      assertThat(record.get("record").get("version").asLong()).isEqualTo(10);
      assertThat(record.get("record").get("data").get("score").asInt()).isEqualTo(45 + lesson);
    }
  }

  @Test
  void aMutationIdReusedForDifferentContentIsRejectedAndChangesNothing() {
    Grants.grant(server, "idem-d", "class:idem-d");
    var device = new SyncDevice(server, "idem-d");
    Map<String, Object> original = upsert("notes", "class:idem-d", "n", 0, Map.of("text", "a"));
    device.push(original);
    Map<String, Object> reused = with(original, "data", Map.of("text", "b"));
    JsonNode result = device.pushOne(reused);
    assertThat(result.get("status").asText()).isEqualTo("rejected");
    assertThat(result.get("reason").asText()).isEqualTo("mutation_id_reused");
    assertThat(result.get("detail").asText()).contains(original.get("mutation_id").toString());
    JsonNode record = server.api().get("/api/v1/sync/records/notes/class:idem-d/n").json();
    assertThat(record.get("record").get("data").get("text").asText()).isEqualTo("a");
    // and the original is still answered as the original
    assertThat(device.pushOne(original).get("status").asText()).isEqualTo("duplicate");
  }

  @Test
  void aRefusedReuseSentAgainIsRefusedAgainButCountedOnce() {
    Grants.grant(server, "idem-g", "class:idem-g");
    var device = new SyncDevice(server, "idem-g");
    Map<String, Object> original = upsert("notes", "class:idem-g", "n", 0, Map.of("text", "a"));
    device.push(original);
    Map<String, Object> reused = with(original, "data", Map.of("text", "b"));
    JsonNode first = device.pushOne(reused);
    assertThat(first.get("reason").asText()).isEqualTo("mutation_id_reused");
    assertThat(rejected("idem-g")).isEqualTo(1);

    // the refused push retried, and the same content twice in one push: refused each time
    assertThat(device.pushOne(reused)).isEqualTo(first);
    JsonNode twice = device.push(List.of(reused, reused));
    assertThat(twice.get("results").get(0)).isEqualTo(first);
    assertThat(twice.get("results").get(1)).isEqualTo(first);
    assertThat(rejected("idem-g")).as("one refusal, however often it is sent").isEqualTo(1);

    // other content again under that id is another refusal, and counts
    Map<String, Object> third = with(original, "data", Map.of("text", "c"));
    assertThat(device.pushOne(third).get("reason").asText()).isEqualTo("mutation_id_reused");
    assertThat(rejected("idem-g")).isEqualTo(2);
    assertThat(device.pushOne(original).get("status").asText()).isEqualTo("duplicate");
    JsonNode record = server.api().get("/api/v1/sync/records/notes/class:idem-g/n").json();
    assertThat(record.get("record").get("data").get("text").asText()).isEqualTo("a");
  }

  @Test
  void aReuseInThePushThatDecidesItsOriginalAgainIsCountedOnceWhenRetried() {
    // the original is refused for want of a grant, so each push decides it again
    Grants.grant(server, "idem-h", "class:idem-h");
    var device = new SyncDevice(server, "idem-h");
    Map<String, Object> original =
        upsert("notes", "class:idem-h-missing", "n", 0, Map.of("text", "a"));
    Map<String, Object> reused = with(original, "data", Map.of("text", "b"));
    JsonNode first = device.push(List.of(original, reused, reused));
    assertThat(first.at("/results/0/reason").asText()).isEqualTo("scope_not_granted");
    assertThat(first.at("/results/1/reason").asText()).isEqualTo("mutation_id_reused");
    assertThat(first.at("/results/2")).isEqualTo(first.at("/results/1"));
    assertThat(rejected("idem-h")).isEqualTo(2);

    server.clock().advance(java.time.Duration.ofSeconds(5));
    JsonNode again = device.push(List.of(original, reused));
    assertThat(again.at("/results/0")).isEqualTo(first.at("/results/0"));
    assertThat(again.at("/results/1")).as("the same bytes").isEqualTo(first.at("/results/1"));
    assertThat(rejected("idem-h")).as("the retried push counts nothing new").isEqualTo(2);
  }

  @Test
  void ofTwoReusesInOnePushTheLastIsRemembered() {
    Grants.grant(server, "idem-i", "class:idem-i");
    var device = new SyncDevice(server, "idem-i");
    Map<String, Object> original = upsert("notes", "class:idem-i", "n", 0, Map.of("text", "a"));
    device.push(original);
    Map<String, Object> b = with(original, "data", Map.of("text", "b"));
    Map<String, Object> c = with(original, "data", Map.of("text", "c"));
    device.push(List.of(b, c));
    assertThat(rejected("idem-i")).isEqualTo(2);
    device.pushOne(c);
    assertThat(rejected("idem-i")).as("the last refused content, sent again").isEqualTo(2);
  }

  private static int rejected(String device) {
    return server.api().get("/api/v1/sync/devices/" + device).json().at("/totals/rejected").asInt();
  }

  @Test
  void aMutationIdIsTheDevicesOwnAnotherDeviceMayUseTheSameOne() {
    Grants.grant(server, "idem-e", "class:idem-e");
    Grants.grant(server, "idem-f", "class:idem-e");
    Map<String, Object> m = upsert("notes", "class:idem-e", "shared-id", 0, Map.of("t", 1));
    assertThat(new SyncDevice(server, "idem-e").pushOne(m).get("status").asText())
        .isEqualTo("applied");
    List<Map<String, Object>> same = Collections.singletonList(with(m, "record_id", "other"));
    assertThat(new SyncDevice(server, "idem-f").push(same).get("applied").asInt()).isEqualTo(1);
  }
}
