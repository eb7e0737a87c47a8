package io.pisync.device;

import static io.pisync.support.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Streak counters equal a brute-force count over each device's history, whatever the arrival order,
 * batching and concurrency.
 */
class StreakPropertyTest {
  static TestServer server;
  static final Instant T0 =
      Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofDays(20));

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  record Sent(String device, Instant at, int files, int errors) {
    boolean failed() {
      return errors > 0 && files == 0;
    }

    boolean success() {
      return errors == 0;
    }
  }

  @Test
  void streaksMatchABruteForceCountForRandomArrivalOrders() throws Exception {
    var random = new Random(20261121);
    List<Sent> all = new ArrayList<>();
    for (int d = 0; d < 40; d++) {
      List<Integer> offsets = new ArrayList<>();
      for (int i = 0; i < 200; i++) offsets.add(i);
      Collections.shuffle(offsets, random);
      int n = 5 + random.nextInt(30);
      for (int i = 0; i < n; i++) {
        int kind = random.nextInt(10);
        int files = kind < 4 ? 10 : kind < 6 ? 5 : 0;
        int errors = kind < 4 ? 0 : 2;
        all.add(new Sent("streak-" + d, T0.plusSeconds(3600L * offsets.get(i)), files, errors));
      }
    }
    Collections.shuffle(all, random);
    sendInRandomChunksConcurrently(all, random);

    Map<String, List<Sent>> byDevice = new HashMap<>();
    all.forEach(s -> byDevice.computeIfAbsent(s.device(), k -> new ArrayList<>()).add(s));
    Map<String, Integer> unsuccessfulStreaks = unsuccessfulStreaksFromServer();
    for (var entry : byDevice.entrySet()) {
      List<Sent> events = entry.getValue();
      JsonNode device = server.api().get("/api/v1/devices/" + entry.getKey()).json();
      assertThat(device.get("consecutive_failures").asInt())
          .as("failure streak of %s", entry.getKey())
          .isEqualTo(streak(events, s -> !s.failed(), Sent::failed));
      assertThat(unsuccessfulStreaks.getOrDefault(entry.getKey(), 0))
          .as("unsuccessful streak of %s", entry.getKey())
          .isEqualTo(streak(events, Sent::success, s -> !s.success()));
      assertThat(device.at("/totals/syncs").asInt()).isEqualTo(events.size());
    }
  }

  private static int streak(
      List<Sent> events,
      java.util.function.Predicate<Sent> good,
      java.util.function.Predicate<Sent> bad) {
    Instant lastGood =
        events.stream().filter(good).map(Sent::at).max(Instant::compareTo).orElse(Instant.MIN);
    return (int) events.stream().filter(bad).filter(s -> s.at().isAfter(lastGood)).count();
  }

  private static void sendInRandomChunksConcurrently(List<Sent> all, Random random)
      throws Exception {
    List<List<Sent>> chunks = new ArrayList<>();
    for (int i = 0; i < all.size(); ) {
      int size = 1 + random.nextInt(12);
      chunks.add(all.subList(i, Math.min(all.size(), i + size)));
      i += size;
    }
    List<Future<Integer>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(6)) {
      for (List<Sent> chunk : chunks) {
        results.add(pool.submit(() -> send(chunk)));
      }
      for (Future<Integer> r : results) {
        assertThat(r.get()).isBetween(200, 201);
      }
    }
  }

  private static int send(List<Sent> chunk) {
    if (chunk.size() == 1) {
      Sent s = chunk.getFirst();
      return server
          .api()
          .post("/api/v1/sync-events", event(s.device(), s.at(), s.files(), s.errors()))
          .status();
    }
    List<Object> events = new ArrayList<>();
    chunk.forEach(s -> events.add(event(s.device(), s.at(), s.files(), s.errors())));
    return server.api().post("/api/v1/sync-events/batch", Map.of("events", events)).status();
  }

  private static Map<String, Integer> unsuccessfulStreaksFromServer() {
    Map<String, Integer> streaks = new HashMap<>();
    server
        .api()
        .allPages(
            "/api/v1/devices/repeated-failures?threshold=0&consecutive=true&include_partial=true&limit=500")
        .items()
        .forEach(i -> streaks.put(i.get("device_id").asText(), i.get("failures").asInt()));
    return streaks;
  }
}
