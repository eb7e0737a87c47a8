package io.pisync.telemetry;

import static io.pisync.support.Events.event;
import static io.pisync.support.Events.failed;
import static io.pisync.support.Events.success;
import static io.pisync.support.Events.withId;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BatchTest {
  static TestServer server;
  static final Instant T0 = Instant.now().minus(Duration.ofDays(2));

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Map<String, Object> batch(List<?> events) {
    return Map.of("events", events);
  }

  @Test
  void eachItemGetsItsOwnResultAndOneBadItemNeverRejectsTheOthers() {
    UUID known = UUID.randomUUID();
    server.api().post("/api/v1/sync-events", withId(success("batch-a", T0), known));
    List<Object> events = new ArrayList<>();
    events.add(success("batch-a", T0.plusSeconds(60)));
    events.add(Map.of("device_id", "batch-a", "total_errors", -1));
    events.add(withId(success("batch-a", T0), known));
    events.add(failed("batch-b", T0.plusSeconds(120)));
    events.add("not an object");

    var r = server.api().post("/api/v1/sync-events/batch", batch(events));

    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.get("created").asInt()).isEqualTo(2);
    assertThat(body.get("duplicates").asInt()).isEqualTo(1);
    assertThat(body.get("invalid").asInt()).isEqualTo(2);
    JsonNode results = body.get("results");
    assertThat(results)
        .extracting(n -> n.get("outcome").asText())
        .containsExactly("created", "invalid", "duplicate", "created", "invalid");
    assertThat(results.get(2).at("/event_id").asText()).isEqualTo(known.toString());
    assertThat(results.get(1).get("errors"))
        .extracting(e -> e.get("field").asText())
        .contains("events[1].total_errors", "events[1].timestamp");
    assertThat(results.get(4).get("errors").get(0).get("field").asText()).isEqualTo("events[4]");
    assertThat(server.api().get("/api/v1/devices/batch-a").json().at("/totals/syncs").asInt())
        .isEqualTo(2);
    assertThat(server.api().get("/api/v1/devices/batch-b").json().at("/totals/failed").asInt())
        .isEqualTo(1);
  }

  @Test
  void theSameEventIdTwiceInOneBatchIsStoredOnce() {
    UUID id = UUID.randomUUID();
    var e = withId(success("batch-dup", T0), id);
    var r = server.api().post("/api/v1/sync-events/batch", batch(List.of(e, e, e)));

    assertThat(r.json().get("results"))
        .extracting(n -> n.get("outcome").asText())
        .containsExactly("created", "duplicate", "duplicate");
    assertThat(server.api().get("/api/v1/devices/batch-dup").json().at("/totals/syncs").asInt())
        .isEqualTo(1);
  }

  @Test
  void aRetriedBatchCountsNothingTwice() {
    List<Object> events = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      events.add(withId(event("batch-retry", T0.plusSeconds(i), i % 3, i % 2), UUID.randomUUID()));
    }
    var first = server.api().post("/api/v1/sync-events/batch", batch(events)).json();
    var second = server.api().post("/api/v1/sync-events/batch", batch(events)).json();

    assertThat(first.get("created").asInt()).isEqualTo(200);
    assertThat(second.get("duplicates").asInt()).isEqualTo(200);
    assertThat(second.get("created").asInt()).isZero();
    assertThat(server.api().get("/api/v1/devices/batch-retry").json().at("/totals/syncs").asInt())
        .isEqualTo(200);
  }

  @Test
  void acceptsAThousandEventsAndRefusesMore() {
    List<Object> events = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      events.add(success("fleet-" + (i % 37), T0.plusSeconds(i)));
    }
    var ok = server.api().post("/api/v1/sync-events/batch", batch(events));
    assertThat(ok.json().get("created").asInt()).isEqualTo(1000);

    events.add(success("fleet-1", T0));
    var tooMany = server.api().post("/api/v1/sync-events/batch", batch(events));
    assertThat(tooMany.status()).isEqualTo(400);
    assertThat(tooMany.json().get("errors").get(0).get("field").asText()).isEqualTo("events");
    assertThat(tooMany.json().get("errors").get(0).get("message").asText()).contains("1000");
  }

  @Test
  void anEnvelopeWithoutEventsIs400() {
    assertThat(server.api().post("/api/v1/sync-events/batch", Map.of()).status()).isEqualTo(400);
    assertThat(server.api().post("/api/v1/sync-events/batch", Map.of("events", List.of())).status())
        .isEqualTo(400);
    assertThat(server.api().post("/api/v1/sync-events/batch", "[]").status()).isEqualTo(400);
    var extra = new HashMap<String, Object>(batch(List.of(success("x", T0))));
    extra.put("device", "x");
    var r = server.api().post("/api/v1/sync-events/batch", extra);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("device");
    assertThat(r.json().get("errors").get(0).get("value").asText())
        .as("the value sent is named with the field")
        .isEqualTo("x");
  }

  @Test
  void aGzipCompressedBacklogIsStoredAndHeldToTheLimitOnceDecompressed() throws Exception {
    List<Object> events = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      events.add(success("gzip-dev", T0.plusSeconds(i)));
    }
    byte[] json = io.pisync.support.Api.json(batch(events)).getBytes(UTF_8);
    byte[] compressed = gzip(json);
    assertThat(compressed.length).isLessThan(json.length / 5);

    var stored = server.api().send(gzipped("/api/v1/sync-events/batch", compressed, "gzip"));
    assertThat(stored.status()).as(stored.body()).isEqualTo(200);
    assertThat(stored.json().get("created").asInt()).isEqualTo(1000);
    assertThat(server.api().get("/api/v1/devices/gzip-dev").json().at("/totals/syncs").asInt())
        .isEqualTo(1000);

    // About 2 KiB on the wire, 2 MiB once decompressed: over the 1 MiB limit.
    byte[] bomb = gzip(("{\"events\": [\"" + " ".repeat(2 << 20) + "\"]}").getBytes(UTF_8));
    var refused = server.api().send(gzipped("/api/v1/sync-events/batch", bomb, "gzip"));
    assertThat(refused.status()).isEqualTo(413);
    assertThat(refused.json().get("type").asText()).endsWith("/payload-too-large");

    // Routes anyone may call take small bodies: 64 KiB once decompressed.
    byte[] bigLogin =
        gzip(
            ("{\"username\": \"admin\", \"password\": \"" + "x".repeat(100_000) + "\"}")
                .getBytes(UTF_8));
    var anonymous = server.anonymous().send(gzipped("/api/v1/auth/login", bigLogin, "gzip"));
    assertThat(anonymous.status()).isEqualTo(413);
    assertThat(anonymous.json().get("max_bytes").asLong()).isEqualTo(65_536);

    var unknown = server.api().send(gzipped("/api/v1/sync-events/batch", compressed, "br"));
    assertThat(unknown.status()).isEqualTo(415);
    assertThat(unknown.json().get("type").asText()).endsWith("/unsupported-content-encoding");
    assertThat(unknown.json().get("detail").asText()).containsIgnoringCase("'br'");
    assertThat(unknown.header("Accept-Encoding")).isEqualTo("gzip");

    byte[] truncated = java.util.Arrays.copyOf(compressed, compressed.length / 2);
    var broken = server.api().send(gzipped("/api/v1/sync-events/batch", truncated, "gzip"));
    assertThat(broken.status()).isEqualTo(400);
    assertThat(broken.json().get("type").asText()).endsWith("/bad-request");
    assertThat(broken.json().get("detail").asText())
        .contains("could not be decompressed", "cut short")
        .doesNotContain("Exception");
    byte[] corrupt = compressed.clone();
    for (int i = 10; i < corrupt.length - 8; i++) corrupt[i] ^= 0x5a;
    var garbled = server.api().send(gzipped("/api/v1/sync-events/batch", corrupt, "gzip"));
    assertThat(garbled.status()).isEqualTo(400);
    assertThat(garbled.json().get("detail").asText())
        .endsWith("not a valid gzip stream")
        .doesNotContain("Exception");

    // Plain JSON under a wrong label, as some device HTTP stacks send it: read as it is.
    byte[] small =
        io.pisync.support.Api.json(batch(List.of(success("label-dev", T0)))).getBytes(UTF_8);
    var mislabelled = server.api().send(gzipped("/api/v1/sync-events/batch", small, "utf-8"));
    assertThat(mislabelled.status()).as(mislabelled.body()).isEqualTo(200);
    assertThat(server.api().send(gzipped("/api/v1/sync-events/batch", small, "gzip")).status())
        .isEqualTo(200);
  }

  private static byte[] gzip(byte[] data) throws java.io.IOException {
    var out = new java.io.ByteArrayOutputStream();
    try (var zip = new java.util.zip.GZIPOutputStream(out)) {
      zip.write(data);
    }
    return out.toByteArray();
  }

  private static java.net.http.HttpRequest.Builder gzipped(
      String path, byte[] body, String encoding) {
    return java.net.http.HttpRequest.newBuilder(server.api().uri(path))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", encoding.toUpperCase(java.util.Locale.ROOT))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body));
  }
}
