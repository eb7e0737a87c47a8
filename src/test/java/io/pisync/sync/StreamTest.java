package io.pisync.sync;

import static io.pisync.support.SyncDevice.upsert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.support.Api;
import io.pisync.support.EventStream;
import io.pisync.support.SharedPostgres;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The stream pokes a connected device when changes become visible in its scopes. */
class StreamTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration QUIET = Duration.ofMillis(700);
  static final ObjectMapper JSON = new ObjectMapper();
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(Map.of("PISYNC_SYNC_STREAM_HEARTBEAT_SECONDS", "1"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static SyncDevice device(String id, String scope) {
    Grants.grant(server, id, scope);
    return new SyncDevice(server, id);
  }

  /** The feed position a poke names; it is a number, and nothing else is sent. */
  private static long headOf(EventStream.Event poke) throws Exception {
    JsonNode data = JSON.readTree(poke.data());
    assertThat(data.properties()).extracting(java.util.Map.Entry::getKey).containsExactly("head");
    assertThat(data.get("head").isIntegralNumber()).as(poke.data()).isTrue();
    return data.get("head").asLong();
  }

  private static long feedHead(String device) {
    return server.api().get("/api/v1/sync/devices/" + device).json().get("feed_head").asLong();
  }

  @Test
  void aPokeCarriesTheFeedPositionNotACursorWhenAnotherDeviceChangesTheScope() throws Exception {
    var reader = device("stream-reader", "class:stream");
    var writer = device("stream-writer", "class:stream");
    device("stream-outsider", "class:elsewhere");
    reader.pullAll();
    try (EventStream stream = reader.api().stream("/api/v1/sync/stream")) {
      assertThat(stream.status()).isEqualTo(200);
      assertThat(stream.header("Content-Type")).startsWith("text/event-stream");
      EventStream.Event hello = stream.next("poke", WAIT);
      assertThat(hello).as("a poke on connect").isNotNull();
      long before = headOf(hello);
      assertThat(before).isEqualTo(feedHead("stream-reader"));

      writer.push(upsert("notes", "class:stream", "n", 0, Map.of("text", "hi")));
      EventStream.Event poke = stream.next("poke", WAIT);
      assertThat(poke).isNotNull();
      assertThat(headOf(poke)).isGreaterThan(before).isEqualTo(feedHead("stream-reader"));
      // the position is not a cursor: a device that pulled from it would skip changes
      Api.Response misuse = reader.api().get("/api/v1/sync/pull?cursor=" + headOf(poke));
      assertThat(misuse.status()).isEqualTo(400);
      assertThat(misuse.json().get("type").asText()).endsWith("/bad-cursor");
      JsonNode page = reader.pullPage(100);
      assertThat(page.get("changes")).hasSize(1);

      // nothing for a scope it does not have, nor for its own writes
      new SyncDevice(server, "stream-outsider")
          .push(upsert("notes", "class:elsewhere", "n", 0, Map.of("text", "x")));
      reader.push(upsert("notes", "class:stream", "mine", 0, Map.of("text", "mine")));
      assertThat(stream.next("poke", QUIET)).isNull();
    }
  }

  @Test
  void aChangeTooWideToNameItsScopesPokesEveryStream() {
    var outsider = device("stream-far", "class:far");
    var writer = new SyncDevice(server, "stream-wide");
    var mutations = new java.util.ArrayList<Map<String, Object>>();
    for (int i = 0; i < 90; i++) {
      // 90 scopes of 100 characters: more than a NOTIFY payload can name
      String scope = "class:" + "w".repeat(90) + String.format("%04d", i);
      Grants.grant(server, "stream-wide", scope);
      mutations.add(upsert("notes", scope, "n", 0, Map.of("t", i)));
    }
    try (EventStream stream = outsider.api().stream("/api/v1/sync/stream")) {
      assertThat(stream.next("poke", WAIT)).as("the poke on connect").isNotNull();
      writer.push(mutations);
      assertThat(stream.next("poke", WAIT)).as("poked, spread over a few ms").isNotNull();
    }
    assertThat(outsider.pullAll()).as("nothing of its own changed").isEmpty();
  }

  @Test
  void idleStreamsGetHeartbeats() {
    var device = device("stream-idle", "class:idle");
    try (EventStream stream = device.api().stream("/api/v1/sync/stream")) {
      assertThat(stream.next("heartbeat", WAIT)).isNotNull();
      assertThat(stream.next("heartbeat", WAIT)).isNotNull();
    }
  }

  @Test
  void aGrantPokesTheDeviceAndItsNewScopeIsWatchedFromThenOn() {
    var device = device("stream-granted", "class:first");
    var writer = device("stream-granter", "class:second");
    try (EventStream stream = device.api().stream("/api/v1/sync/stream")) {
      stream.next("poke", WAIT);
      writer.push(upsert("notes", "class:second", "before", 0, Map.of("t", 1)));
      assertThat(stream.next("poke", QUIET)).isNull();
      Grants.grant(server, "stream-granted", "class:second");
      assertThat(stream.next("poke", WAIT)).as("poked by the grant").isNotNull();
      writer.push(upsert("notes", "class:second", "after", 0, Map.of("t", 2)));
      assertThat(stream.next("poke", WAIT)).as("poked for the new scope").isNotNull();
    }
    assertThat(device.pullAll()).hasSize(2);
  }

  @Test
  void aGrantMadeWhileTheListenerIsCutIsWatchedOnceItListensAgain() {
    var granted = device("stream-cut-granted", "class:cut-first");
    var bystander = device("stream-cut-bystander", "class:cut-first");
    var writer = device("stream-cut-writer", "class:cut-second");
    try (EventStream mine = granted.api().stream("/api/v1/sync/stream");
        EventStream theirs = bystander.api().stream("/api/v1/sync/stream")) {
      mine.next("poke", WAIT);
      theirs.next("poke", WAIT);
      // Cut the listener, then grant at once, while it waits to reconnect: the grant's notice
      // reaches nobody.
      String db = server.jdbcUrl().replaceAll(".*/([^/?]+)\\?.*", "$1");
      SharedPostgres.admin(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
              + " WHERE application_name = 'pisync-listen' AND datname = '"
              + db
              + "'");
      Grants.grant(server, "stream-cut-granted", "class:cut-second");

      assertThat(mine.next("poke", WAIT)).as("every stream is poked on reconnecting").isNotNull();
      assertThat(theirs.next("poke", WAIT)).isNotNull();
      writer.push(upsert("notes", "class:cut-second", "after-cut", 0, Map.of("t", 1)));
      assertThat(mine.next("poke", WAIT)).as("the grant missed was read again").isNotNull();
      assertThat(theirs.next("poke", QUIET)).as("another device's grant is not its own").isNull();
    }
  }

  @Test
  void streamsOnOneInstanceArePokedByChangesMadeThroughAnother() {
    var reader = device("stream-far", "class:two-instances");
    device("stream-near", "class:two-instances");
    try (TestServer second =
        TestServer.start(
            Map.of("PISYNC_SYNC_STREAM_HEARTBEAT_SECONDS", "1"),
            server.jdbcUrl(),
            server.clock())) {
      try (EventStream stream = reader.api().stream("/api/v1/sync/stream")) {
        stream.next("poke", WAIT);
        var viaSecond =
            new io.pisync.support.Api(second.anonymous().base())
                .withBearer(server.deviceKey("stream-near"));
        assertThat(
                viaSecond
                    .post(
                        "/api/v1/sync/push",
                        Map.of(
                            "mutations",
                            java.util.List.of(
                                upsert("notes", "class:two-instances", "n", 0, Map.of("t", 1)))))
                    .status())
            .isEqualTo(200);
        assertThat(stream.next("poke", WAIT)).isNotNull();
      }
    }
  }

  @Test
  void beyondTheStreamLimitTheServerAnswers503WithRetryAfter() throws InterruptedException {
    try (TestServer small =
        TestServer.start(
            Map.of("PISYNC_SYNC_MAX_STREAMS", "1", "PISYNC_SYNC_STREAM_HEARTBEAT_SECONDS", "1"))) {
      var api = small.device("stream-limited");
      try (EventStream first = api.stream("/api/v1/sync/stream")) {
        assertThat(first.status()).isEqualTo(200);
        try (EventStream second = api.stream("/api/v1/sync/stream")) {
          assertThat(second.status()).isEqualTo(503);
          assertThat(second.header("Retry-After")).matches("\\d+");
          assertThat(second.header("Content-Type")).startsWith("application/problem+json");
        }
        assertThat(api.send("HEAD", "/api/v1/sync/stream", null, null).status()).isEqualTo(503);
      }
      // the server sees the stream closed at its next heartbeat
      var streams = small.server().sync().streams();
      for (int i = 0; i < 50 && streams.open() > 0; i++) Thread.sleep(100);
      assertThat(streams.open()).isZero();
      // HEAD answers as a stream would start, and leaves no stream open
      var head = api.send("HEAD", "/api/v1/sync/stream", null, null);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.contentType()).startsWith("text/event-stream");
      assertThat(head.headers())
          .as("no length, as a stream has none")
          .doesNotContainKey("content-length");
      assertThat(streams.open()).isZero();
      try (EventStream again = api.stream("/api/v1/sync/stream")) {
        assertThat(again.status()).as("the one stream allowed is free").isEqualTo(200);
      }
    }
  }

  @Test
  void stoppingTheServerEndsItsStreams() throws Exception {
    TestServer other = TestServer.start();
    var api = other.device("stream-stopping");
    EventStream stream = api.stream("/api/v1/sync/stream");
    assertThat(stream.next("poke", WAIT)).isNotNull();
    long started = System.nanoTime();
    other.close();
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
    for (int i = 0; i < 50 && !stream.ended(); i++) Thread.sleep(50);
    assertThat(stream.ended()).isTrue();
  }
}
