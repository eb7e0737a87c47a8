package io.pisync.device;

import static io.pisync.support.Events.failed;
import static io.pisync.support.Events.success;
import static io.pisync.support.Events.withId;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Device counters stay exact under concurrency and whatever order events arrive in. */
class CountersTest {
  static TestServer server;
  static final Instant T0 = Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofDays(5));

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  JsonNode device(String id) {
    return server.api().get("/api/v1/devices/" + id).json();
  }

  @Test
  void fiftySimultaneousEventsForOneDeviceCountFifty() throws Exception {
    int n = 50;
    var start = new CountDownLatch(1);
    List<Future<Integer>> statuses = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < n; i++) {
        var event =
            i % 2 == 0
                ? success("busy-dev", T0.plusSeconds(i))
                : failed("busy-dev", T0.plusSeconds(i));
        statuses.add(
            pool.submit(() -> {
              start.await();
              return server.api().post("/api/v1/sync-events", event).status();
            }));
      }
      start.countDown();
      for (Future<Integer> s : statuses) {
        assertThat(s.get()).isEqualTo(201);
      }
    }
    JsonNode d = device("busy-dev");
    assertThat(d.at("/totals/syncs").asInt()).isEqualTo(n);
    assertThat(d.at("/totals/success").asInt()).isEqualTo(25);
    assertThat(d.at("/totals/failed").asInt()).isEqualTo(25);
    assertThat(d.at("/totals/files_synced").asInt()).isEqualTo(250);
    // The newest event (i = 49) failed; the one before it succeeded.
    assertThat(d.get("consecutive_failures").asInt()).isEqualTo(1);
    assertThat(
            server.api().get("/api/v1/devices/busy-dev/sync-events?limit=500").json().get("items"))
        .hasSize(n);
  }

  @Test
  void concurrentBatchesAndSinglesForTheSameDevicesCountExactly() throws Exception {
    int batches = 8;
    int perBatch = 250;
    List<Future<Integer>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int b = 0; b < batches; b++) {
        List<Object> events = new ArrayList<>();
        for (int i = 0; i < perBatch; i++) {
          events.add(success("shared-" + (i % 10), T0.plusSeconds(b * 1000L + i)));
        }
        results.add(
            pool.submit(() ->
                server.api().post("/api/v1/sync-events/batch", Map.of("events", events)).status()));
      }
      for (int i = 0; i < 100; i++) {
        var e = failed("shared-" + (i % 10), T0.plusSeconds(50_000 + i));
        results.add(pool.submit(() -> server.api().post("/api/v1/sync-events", e).status()));
      }
      for (int i = 0; i < results.size(); i++) {
        assertThat(results.get(i).get()).isEqualTo(i < batches ? 200 : 201);
      }
    }
    for (int d = 0; d < 10; d++) {
      JsonNode dev = device("shared-" + d);
      assertThat(dev.at("/totals/syncs").asInt()).isEqualTo(batches * perBatch / 10 + 10);
      assertThat(dev.at("/totals/failed").asInt()).isEqualTo(10);
      assertThat(dev.get("consecutive_failures").asInt()).isEqualTo(10);
    }
  }

  @Test
  void concurrentReplaysOfOneEventIdCountOnce() throws Exception {
    var event = withId(success("replay-storm", T0), UUID.randomUUID());
    List<Future<String>> outcomes = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 30; i++) {
        outcomes.add(pool.submit(() -> single(event)));
        outcomes.add(pool.submit(() -> inBatch(event)));
      }
      List<String> all = new ArrayList<>();
      for (Future<String> o : outcomes) {
        all.add(o.get());
      }
      assertThat(all).containsOnly("created", "duplicate");
      assertThat(all).filteredOn("created"::equals).hasSize(1);
    }
    assertThat(device("replay-storm").at("/totals/syncs").asInt()).isEqualTo(1);
  }

  private static String single(Object event) {
    int status = server.api().post("/api/v1/sync-events", event).status();
    return switch (status) {
      case 201 -> "created";
      case 200 -> "duplicate";
      default -> "status " + status;
    };
  }

  private static String inBatch(Object event) {
    var r = server.api().post("/api/v1/sync-events/batch", Map.of("events", List.of(event)));
    return r.status() == 200 ? r.json().at("/results/0/outcome").asText() : "status " + r.status();
  }

  @Test
  void theFailureStreakFollowsDeviceTimeNotArrivalOrder() {
    // Device was offline: it reports a failure streak, then an older success arrives late.
    for (int i = 1; i <= 4; i++) {
      server.api().post("/api/v1/sync-events", failed("late-dev", T0.plus(Duration.ofHours(i))));
    }
    assertThat(device("late-dev").get("consecutive_failures").asInt()).isEqualTo(4);

    server.api().post("/api/v1/sync-events", success("late-dev", T0.plus(Duration.ofMinutes(150))));
    JsonNode d = device("late-dev");
    assertThat(d.get("consecutive_failures").asInt()).isEqualTo(2);
    assertThat(d.get("last_status").asText()).isEqualTo("failed");

    server.api().post("/api/v1/sync-events", failed("late-dev", T0.plus(Duration.ofMinutes(10))));
    assertThat(device("late-dev").get("consecutive_failures").asInt()).isEqualTo(2);

    server.api().post("/api/v1/sync-events", success("late-dev", T0.plus(Duration.ofHours(5))));
    d = device("late-dev");
    assertThat(d.get("consecutive_failures").asInt()).isZero();
    assertThat(d.get("last_status").asText()).isEqualTo("success");
    assertThat(d.at("/totals/syncs").asInt()).isEqualTo(7);
  }
}
