package io.pisync.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * A device as the sync protocol expects one to behave: it keeps a local copy of the records it
 * pulled (dropping revoked scopes first, removing deleted records) and its cursor.
 */
public final class SyncDevice {
  private final String id;
  private final Api api;
  private final Map<String, JsonNode> local = new LinkedHashMap<>();
  private String cursor;

  public SyncDevice(TestServer server, String id) {
    this.id = id;
    this.api = server.device(id);
  }

  public String id() {
    return id;
  }

  public Api api() {
    return api;
  }

  public String cursor() {
    return cursor;
  }

  /** Forgets its data and cursor (a reinstall, or a resync after 410). */
  public void wipe() {
    local.clear();
    cursor = null;
  }

  public void setCursor(String cursor) {
    this.cursor = cursor;
  }

  /** The local copy: "collection/scope/record_id" to the record as last pulled. */
  public Map<String, JsonNode> local() {
    return local;
  }

  public JsonNode local(String collection, String scope, String recordId) {
    return local.get(collection + "/" + scope + "/" + recordId);
  }

  // ---------------------------------------------------------------------------------- pushing

  /** Pushes mutations; fails the test unless the answer is 200. */
  public JsonNode push(List<Map<String, Object>> mutations) {
    Api.Response r = api.post("/api/v1/sync/push", Map.of("mutations", mutations));
    if (r.status() != 200) {
      throw new AssertionError("push by " + id + ": " + r.status() + " " + r.body());
    }
    JsonNode answer = r.json();
    keep(mutations, answer.get("results"));
    return answer;
  }

  /**
   * Keeps what the server stored: its own mutation when applied as sent, the stored record when
   * merged, the winning record on a conflict.
   */
  public void keep(List<Map<String, Object>> mutations, JsonNode results) {
    for (int i = 0; i < mutations.size(); i++) {
      JsonNode result = results.get(i);
      JsonNode record = result.get("record");
      String status = result.get("status").asText();
      if (status.equals("applied") && record == null) {
        record = asRecord(mutations.get(i), result.get("version").asLong());
      }
      if (record != null && (status.equals("applied") || status.equals("conflict"))) {
        String key = keyOf(record);
        if (record.get("deleted").asBoolean()) local.remove(key);
        else local.put(key, record);
      }
    }
  }

  private JsonNode asRecord(Map<String, Object> mutation, long version) {
    var node = MAPPER.createObjectNode();
    node.put("collection", (String) mutation.get("collection"));
    node.put("scope", (String) mutation.get("scope"));
    node.put("record_id", (String) mutation.get("record_id"));
    node.put("version", version);
    node.put("deleted", "delete".equals(mutation.get("op")));
    node.set("data", MAPPER.valueToTree(mutation.get("data")));
    node.put("updated_by", id);
    return node;
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
      new com.fasterxml.jackson.databind.ObjectMapper();

  public JsonNode push(Map<String, Object> mutation) {
    return push(List.of(mutation));
  }

  /** The single result of pushing one mutation. */
  public JsonNode pushOne(Map<String, Object> mutation) {
    return push(mutation).get("results").get(0);
  }

  public static Map<String, Object> upsert(
      String collection, String scope, String recordId, long baseVersion, Map<String, ?> data) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("mutation_id", UUID.randomUUID().toString());
    m.put("collection", collection);
    m.put("scope", scope);
    m.put("record_id", recordId);
    m.put("op", "upsert");
    m.put("base_version", baseVersion);
    m.put("data", data);
    return m;
  }

  public static Map<String, Object> delete(
      String collection, String scope, String recordId, long baseVersion) {
    Map<String, Object> m = upsert(collection, scope, recordId, baseVersion, Map.of());
    m.put("op", "delete");
    m.remove("data");
    return m;
  }

  /** The same mutation with another field set. */
  public static Map<String, Object> with(Map<String, Object> mutation, String field, Object value) {
    Map<String, Object> copy = new LinkedHashMap<>(mutation);
    copy.put(field, value);
    return copy;
  }

  // ---------------------------------------------------------------------------------- pulling

  /** One pull from the current cursor, applied locally; returns the whole answer. */
  public JsonNode pullPage(int limit) {
    String path = "/api/v1/sync/pull?limit=" + limit + (cursor == null ? "" : "&cursor=" + cursor);
    Api.Response r = api.get(path);
    if (r.status() != 200)
      throw new AssertionError("pull by " + id + ": " + r.status() + " " + r.body());
    JsonNode page = r.json();
    apply(page);
    return page;
  }

  /** Applies a pull answer: drop revoked scopes, then apply the changes; moves the cursor. */
  public void apply(JsonNode page) {
    for (JsonNode scope : page.get("revoked_scopes")) {
      local.keySet().removeIf(k -> k.split("/", 3)[1].equals(scope.asText()));
    }
    for (JsonNode change : page.get("changes")) {
      String key = keyOf(change);
      if (change.get("deleted").asBoolean()) {
        local.remove(key);
      } else {
        local.put(key, change);
      }
    }
    cursor = page.get("cursor").asText();
  }

  /** Pulls until nothing more remains; returns every change received, in order. */
  public List<JsonNode> pullAll() {
    return pullAll(1000);
  }

  public List<JsonNode> pullAll(int limit) {
    List<JsonNode> changes = new ArrayList<>();
    for (int pages = 0; pages < 100_000; pages++) {
      JsonNode page = pullPage(limit);
      page.get("changes").forEach(changes::add);
      if (!page.get("has_more").asBoolean()) return changes;
    }
    throw new AssertionError("pull never ended");
  }

  public static String keyOf(JsonNode change) {
    return change.get("collection").asText()
        + "/"
        + change.get("scope").asText()
        + "/"
        + change.get("record_id").asText();
  }

  @Override
  public String toString() {
    return "SyncDevice " + id + " at " + Objects.toString(cursor, "(no cursor)");
  }
}
