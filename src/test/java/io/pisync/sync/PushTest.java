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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Pushing: one result per mutation, in order; a bad mutation never blocks the others. */
class PushTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static void grant(String device, String scope) {
    Grants.grant(server, device, scope);
  }

  @Test
  void eachMutationGetsItsOwnResultAndABadOneBlocksNothing() {
    grant("push-a", "learner:1");
    var device = new SyncDevice(server, "push-a");
    List<Map<String, Object>> batch =
        List.of(
            upsert("notes", "learner:1", "n1", 0, Map.of("text", "first")),
            upsert("notes", "learner:1", "n2", 0, Map.of("text", "second")),
            with(upsert("notes", "learner:1", "n3", 0, Map.of()), "data", "not an object"),
            upsert("notes", "learner:2", "n4", 0, Map.of("text", "not my scope")),
            upsert("no_such", "learner:1", "n5", 0, Map.of("text", "?")),
            delete("notes", "learner:1", "never-existed", 0),
            upsert("progress", "learner:1", "p1", 0, Map.of("position", "far")),
            upsert("notes", "learner:1", "n6", 0, Map.of("text", "after the bad ones")));
    JsonNode answer = device.push(batch);

    JsonNode results = answer.get("results");
    assertThat(results).hasSize(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      assertThat(results.get(i).get("mutation_id").asText())
          .isEqualTo(batch.get(i).get("mutation_id"));
    }
    assertThat(statuses(results))
        .containsExactly(
            "applied",
            "applied",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "applied");
    assertThat(results.get(0).get("version").asLong()).isEqualTo(1);
    assertThat(results.get(2).get("reason").asText()).isEqualTo("validation");
    assertThat(results.get(2).get("errors").get(0).get("field").asText()).isEqualTo("data");
    assertThat(results.get(3).get("reason").asText()).isEqualTo("scope_not_granted");
    assertThat(results.get(4).get("reason").asText()).isEqualTo("unknown_collection");
    assertThat(results.get(5).get("reason").asText()).isEqualTo("not_found");
    assertThat(results.get(6).get("errors").get(0).get("field").asText())
        .isEqualTo("data.position");
    assertThat(answer.get("applied").asInt()).isEqualTo(3);
    assertThat(answer.get("rejected").asInt()).isEqualTo(5);

    var reader = new SyncDevice(server, "push-reader");
    grant("push-reader", "learner:1");
    assertThat(reader.pullAll())
        .extracting(c -> c.get("record_id").asText())
        .containsExactly("n1", "n2", "n6");
  }

  @Test
  void anInvalidItemIsRejectedWithEveryReasonAndStillCounted() {
    grant("push-b", "learner:b");
    var device = new SyncDevice(server, "push-b");
    Map<String, Object> bad =
        Map.of(
            "mutation_id", "bad id with spaces",
            "collection", "Notes",
            "op", "replace",
            "base_version", -1,
            "extra", true);
    JsonNode answer =
        device.push(List.of(bad, upsert("notes", "learner:b", "ok", 0, Map.of("t", 1))));
    JsonNode rejected = answer.get("results").get(0);
    assertThat(rejected.get("status").asText()).isEqualTo("rejected");
    assertThat(rejected.has("mutation_id")).isFalse();
    assertThat(rejected.get("errors"))
        .extracting(e -> e.get("field").asText())
        .contains("mutation_id", "collection", "scope", "record_id", "op", "base_version", "extra");
    assertThat(answer.get("results").get(1).get("status").asText()).isEqualTo("applied");
  }

  @Test
  void malformedRequestsAre4xxNamingTheProblemNever500() {
    Api device = server.device("push-c");
    String[][] cases = {
      {"[]", "400"},
      {"{}", "400"},
      {"{\"mutations\": {}}", "400"},
      {"{\"mutations\": []}", "400"},
      {"{\"mutations\": [], \"other\": 1}", "400"},
      {"{\"mutations\": [", "400"},
      {"\"text\"", "400"},
    };
    for (String[] c : cases) {
      Api.Response r = device.post("/api/v1/sync/push", c[0]);
      assertThat(r.status()).as(c[0] + " -> " + r.body()).isEqualTo(Integer.parseInt(c[1]));
      assertThat(r.contentType()).startsWith("application/problem+json");
    }
    Api.Response wrongType = device.send("POST", "/api/v1/sync/push", "{}", "text/plain");
    assertThat(wrongType.status()).isEqualTo(415);

    List<Map<String, Object>> tooMany = new ArrayList<>();
    for (int i = 0; i < 1001; i++) tooMany.add(upsert("notes", "x", "r" + i, 0, Map.of()));
    Api.Response r = device.post("/api/v1/sync/push", Map.of("mutations", tooMany));
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("mutations");
    assertThat(r.json().get("errors").get(0).get("value").asText()).isEqualTo("1001 mutations");
  }

  @Test
  void oddButWellFormedValuesAreRejectedPerMutationNotAnError() {
    grant("push-d", "learner:d");
    var device = new SyncDevice(server, "push-d");
    List<Map<String, Object>> odd =
        List.of(
            with(upsert("notes", "learner:d", "a", 0, Map.of()), "base_version", 1.5),
            with(upsert("notes", "learner:d", "b", 0, Map.of()), "base_version", "3"),
            with(upsert("notes", "learner:d", "c", 0, Map.of()), "modified_at", "yesterday"),
            with(
                upsert("notes", "learner:d", "d", 0, Map.of()),
                "modified_at",
                "+99999-01-01T00:00:00Z"),
            with(upsert("notes", "learner:d", "e", 0, Map.of()), "record_id", "x".repeat(129)),
            with(
                upsert("notes", "learner:d", "f", 0, Map.of()),
                "data",
                Map.of("big", "x".repeat(70_000))),
            with(delete("notes", "learner:d", "g", 0), "data", Map.of("t", 1)),
            with(upsert("notes", "learner:d", "h", 0, Map.of()), "base_version", 1e30));
    JsonNode results = device.push(odd).get("results");
    assertThat(statuses(results)).containsOnly("rejected");
    assertThat(results)
        .extracting(r -> r.get("errors").get(0).get("field").asText())
        .containsExactly(
            "base_version",
            "base_version",
            "modified_at",
            "modified_at",
            "record_id",
            "data",
            "data",
            "base_version");
  }

  @Test
  void dataPostgreSqlCouldNotStoreIsRejectedAloneNotA500() {
    grant("push-e", "learner:e");
    Api device = server.device("push-e");
    String ok =
        "{\"mutation_id\":\"ok\",\"collection\":\"notes\",\"scope\":\"learner:e\","
            + "\"record_id\":\"ok\",\"op\":\"upsert\",\"data\":{\"t\":\"fine é 😀\"}}";
    String[] bad = {
      "{\"t\":\"nul \\u0000 inside\"}",
      "{\"nul\\u0000key\":1}",
      "{\"t\":\"lone \\ud800 surrogate\"}",
      "{\"list\":[1,{\"deep\":\"\\udc00\"}]}",
      "{\"n\":1e200000}",
      "{\"n\":-1e-5000}",
    };
    StringBuilder body = new StringBuilder("{\"mutations\":[");
    for (int i = 0; i < bad.length; i++) {
      body.append("{\"mutation_id\":\"bad")
          .append(i)
          .append("\",\"collection\":\"notes\",\"scope\":\"learner:e\",\"record_id\":\"b")
          .append(i)
          .append("\",\"op\":\"upsert\",\"data\":")
          .append(bad[i])
          .append("},");
    }
    body.append(ok).append("]}");
    Api.Response r = device.post("/api/v1/sync/push", body.toString());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode results = r.json().get("results");
    for (int i = 0; i < bad.length; i++) {
      assertThat(results.get(i).get("status").asText()).as(bad[i]).isEqualTo("rejected");
      assertThat(results.get(i).get("errors").get(0).get("field").asText()).isEqualTo("data");
    }
    assertThat(results.get(4).at("/errors/0/message").asText()).contains("larger than 1e1000");
    assertThat(results.get(5).at("/errors/0/message").asText()).contains("beyond 1e-1000");
    assertThat(results.get(bad.length).get("status").asText()).isEqualTo("applied");
    JsonNode stored = server.api().get("/api/v1/sync/records/notes/learner:e/ok").json();
    assertThat(stored.get("record").get("data").get("t").asText()).isEqualTo("fine é 😀");
  }

  private static String mutationJson(String id, String scope, String extra, String data) {
    return "{\"mutation_id\":\""
        + id
        + "\",\"collection\":\"notes\",\"scope\":\""
        + scope
        + "\",\"record_id\":\""
        + id
        + "\",\"op\":\"upsert\""
        + extra
        + ",\"data\":"
        + data
        + "}";
  }

  @Test
  void aDuplicateKeyOrTooDeepNestingInOneMutationRejectsOnlyThatMutation() {
    grant("push-f", "learner:f");
    Api device = server.device("push-f");
    String deep = "[".repeat(40) + "1" + "]".repeat(40);
    List<String> items =
        List.of(
            mutationJson("dup-data", "learner:f", "", "{\"t\":1,\"t\":2}"),
            mutationJson("dup-nested", "learner:f", "", "{\"a\":[{\"x\":1,\"x\":2}]}"),
            mutationJson("dup-field", "learner:f", ",\"scope\":\"learner:f\"", "{\"t\":1}"),
            mutationJson("too-deep", "learner:f", "", "{\"d\":" + deep + "}"),
            mutationJson("fine", "learner:f", "", "{\"t\":\"ok\"}"));
    String body = "{\"mutations\":[" + String.join(",", items) + "]}";
    Api.Response r = device.post("/api/v1/sync/push", body);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode results = r.json().get("results");
    assertThat(statuses(results))
        .containsExactly("rejected", "rejected", "rejected", "rejected", "applied");
    List<String> fields = new ArrayList<>();
    for (int i = 0; i < 4; i++)
      fields.add(results.get(i).get("errors").get(0).get("field").asText());
    assertThat(fields).containsExactly("data.t", "data.a[0].x", "scope", "data");
    assertThat(results.get(0).get("errors").get(0).get("value").asText()).isEqualTo("t");
    assertThat(results.get(0).get("errors").get(0).get("message").asText()).contains("duplicate");
    assertThat(results.get(3).get("errors").get(0).get("value").asText()).isEqualTo("41 levels");
    assertThat(results.get(3).get("errors").get(0).get("message").asText()).contains("29 levels");

    // rejected mutations are remembered like any other: sent again, they are duplicates
    Api.Response again = device.post("/api/v1/sync/push", body);
    assertThat(statuses(again.json().get("results"))).containsOnly("duplicate");

    // the same in a push and pull round trip
    String one = mutationJson("dup-sync", "learner:f", "", "{\"t\":1,\"t\":2}");
    Api.Response sync = device.post("/api/v1/sync", "{\"mutations\":[" + one + "]}");
    assertThat(sync.status()).as(sync.body()).isEqualTo(200);
    assertThat(sync.json().get("push").get("rejected").asInt()).isEqualTo(1);

    // outside a mutation, the request as a whole is malformed: 400 naming the field
    Api.Response twice =
        device.post("/api/v1/sync/push", "{\"mutations\":[],\"mutations\":[" + items.get(4) + "]}");
    assertThat(twice.status()).isEqualTo(400);
    assertThat(twice.json().get("errors").get(0).get("field").asText()).isEqualTo("mutations");
    String abyss = "[".repeat(300) + "]".repeat(300);
    Api.Response tooDeep =
        device.post(
            "/api/v1/sync/push",
            "{\"mutations\":["
                + mutationJson("abyss", "learner:f", "", "{\"d\":" + abyss + "}")
                + "]}");
    assertThat(tooDeep.status()).isEqualTo(400);
    assertThat(tooDeep.json().get("type").asText()).endsWith("/malformed-json");
  }

  @Test
  void aPushOverTheBodyLimitIs413SayingHowToSplitIt() {
    grant("push-g", "learner:g");
    var device = new SyncDevice(server, "push-g");
    List<Map<String, Object>> muts = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      muts.add(upsert("notes", "learner:g", "big" + i, 0, Map.of("pad", "x".repeat(60_000))));
    }
    Api.Response r = device.api().post("/api/v1/sync/push", Map.of("mutations", muts));
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.contentType()).startsWith("application/problem+json");
    assertThat(r.json().get("type").asText()).endsWith("/payload-too-large");
    assertThat(r.json().path("max_bytes").asLong()).isEqualTo(1_048_576);
    assertThat(r.json().get("detail").asText()).contains("1048576 bytes").contains("split");

    assertThat(device.push(muts.subList(0, 10)).get("applied").asInt()).isEqualTo(10);
    assertThat(device.push(muts.subList(10, 20)).get("applied").asInt()).isEqualTo(10);
  }

  @Test
  void unknownFieldsAreNamedWithTheValueSent() {
    grant("push-h", "learner:h");
    var device = new SyncDevice(server, "push-h");
    Api.Response body =
        device
            .api()
            .post(
                "/api/v1/sync/push",
                Map.of(
                    "mutations",
                    List.of(upsert("notes", "learner:h", "n", 0, Map.of("t", 1))),
                    "colour",
                    "red"));
    assertThat(body.status()).isEqualTo(400);
    assertThat(body.json().get("errors").get(0).get("field").asText()).isEqualTo("colour");
    assertThat(body.json().get("errors").get(0).get("value").asText()).isEqualTo("red");

    JsonNode item =
        device.pushOne(with(upsert("notes", "learner:h", "n", 0, Map.of("t", 1)), "priority", 7));
    assertThat(item.get("status").asText()).isEqualTo("rejected");
    assertThat(item.get("errors").get(0).get("field").asText()).isEqualTo("priority");
    assertThat(item.get("errors").get(0).get("value").asText()).isEqualTo("7");
    JsonNode badVersion =
        device.pushOne(
            with(upsert("notes", "learner:h", "n2", 0, Map.of("t", 1)), "base_version", "abc"));
    assertThat(badVersion.at("/errors/0/field").asText()).isEqualTo("base_version");
    assertThat(badVersion.at("/errors/0/value").isTextual()).isTrue();
    assertThat(badVersion.at("/errors/0/value").asText())
        .as("the value as sent, not its JSON text")
        .isEqualTo("abc");
    JsonNode notAnObject =
        device.api().post("/api/v1/sync/push", "{\"mutations\":[5]}").json().at("/results/0");
    assertThat(notAnObject.at("/errors/0/field").asText()).isEqualTo("(mutation)");
    assertThat(notAnObject.at("/errors/0/value").asInt()).isEqualTo(5);

    Api.Response declare =
        server
            .api()
            .put(
                "/api/v1/sync/collections/colours",
                Map.of("policy", "merge", "retention", Map.of("days", 3)));
    assertThat(declare.status()).isEqualTo(400);
    assertThat(declare.json().get("errors").get(0).get("field").asText()).isEqualTo("retention");
    assertThat(declare.json().get("errors").get(0).get("value").asText()).isEqualTo("{\"days\":3}");
    Api.Response shouting =
        server.api().put("/api/v1/sync/collections/colours", Map.of("policy", "MERGE"));
    assertThat(shouting.json().at("/errors/0/value").asText()).isEqualTo("MERGE");
    assertThat(shouting.json().at("/errors/0/message").asText())
        .as("a value was sent: not 'is required'")
        .startsWith("must be one of");
  }

  static List<String> statuses(JsonNode results) {
    List<String> out = new ArrayList<>();
    results.forEach(r -> out.add(r.get("status").asText()));
    return out;
  }
}
