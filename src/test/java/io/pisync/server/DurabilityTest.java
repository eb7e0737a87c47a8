package io.pisync.server;

import static io.pisync.support.Events.event;
import static io.pisync.support.Events.withId;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.support.Api;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real single-node deployment: {@code pisync serve} on the embedded database, killed with
 * SIGKILL under load, then started again on the same data directory.
 */
class DurabilityTest {
  @TempDir Path dataDir;

  record Acked(Map<String, Object> event, String deviceId) {}

  @Test
  void everyAcknowledgedEventSurvivesKillDashNineWithoutDuplicates() throws Exception {
    Started started = start(16);
    Api anonymous = started.anonymous();
    Api api = started.admin();
    Map<String, Api> devices = started.devices();

    Set<Acked> acked = ConcurrentHashMap.newKeySet();
    postWhileStopping(
        devices,
        Duration.ofMillis(2_500),
        () -> started.process().destroyForcibly().waitFor(),
        acked,
        java.util.Collections.synchronizedList(new ArrayList<>()));
    assertThat(acked).hasSizeGreaterThan(100);
    long orphan = postmasterPid(dataDir).orElseThrow();
    assertThat(ProcessHandle.of(orphan).map(ProcessHandle::isAlive)).contains(true);

    Path log2 = dataDir.resolve("second.log");
    Process second = serve(started.port(), log2);
    try {
      awaitReady(anonymous, second, log2);
      assertThat(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      assertThat(Files.readString(log2)).contains("stopping orphaned postmaster");

      // Replaying every acknowledged event finds it stored: 200, never 201.
      for (Acked a : acked) {
        if (!a.event().containsKey("event_id")) {
          continue;
        }
        var replay = devices.get(a.deviceId()).post("/api/v1/sync-events", a.event());
        assertThat(replay.status()).as("replay of %s", a.event().get("event_id")).isEqualTo(200);
      }
      assertCountersMatchHistoryWithoutDuplicates(api, acked);
      assertAccessLogLines(log2);
      // Device keys and access tokens went over the wire thousands of times: never into a log.
      for (Path log : List.of(started.log(), log2)) {
        assertThat(Files.readString(log)).doesNotContain("psk_").doesNotContain("eyJ");
      }
    } finally {
      second.destroy();
      second.waitFor();
    }
  }

  @Test
  void aGracefulStopUnderLoadAnswersEveryRequestItTookAndStopsItsPostgres() throws Exception {
    Started started = start(8);
    Api anonymous = started.anonymous();
    Api api = started.admin();
    Map<String, Api> devices = started.devices();
    Set<Acked> acked = ConcurrentHashMap.newKeySet();
    List<Integer> refused = java.util.Collections.synchronizedList(new ArrayList<>());
    postWhileStopping(
        devices,
        Duration.ofMillis(1_500),
        () -> {
          started.process().destroy(); // SIGTERM, as a service manager stops it
          assertThat(started.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        },
        acked,
        refused);
    assertThat(acked).hasSizeGreaterThan(100);
    // Requests it took were answered (no 503 while stopping); later ones found no server.
    assertThat(refused).isEmpty();
    String stopping = Files.readString(started.log());
    assertThat(stopping).doesNotContain("\"level\":\"WARN\"").doesNotContain("\"level\":\"ERROR\"");
    // The log is written in batches: none is lost at the stop, down to the last line.
    assertThat(accessLines(started.log()))
        .filteredOn(l -> l.get("route").asText().equals("/api/v1/sync-events"))
        .filteredOn(l -> l.get("status").asInt() == 201)
        .hasSizeGreaterThanOrEqualTo(acked.size());
    assertThat(stopping.strip().lines().toList().getLast()).contains("PiSync stopped");
    assertThat(postmasterPid(dataDir).flatMap(ProcessHandle::of).map(ProcessHandle::isAlive))
        .as("its PostgreSQL stopped too")
        .isNotEqualTo(Optional.of(true));

    Path log2 = dataDir.resolve("second.log");
    Process second = serve(started.port(), log2);
    try {
      awaitReady(anonymous, second, log2);
      assertCountersMatchHistoryWithoutDuplicates(api, acked);
    } finally {
      second.destroy();
      second.waitFor();
    }
  }

  /** The first server of a test, in its own process: ready, the admin signed in, devices added. */
  private record Started(
      int port, Path log, Process process, Api anonymous, Api admin, Map<String, Api> devices) {}

  private Started start(int deviceCount) throws Exception {
    int port = freePort();
    Path log = dataDir.resolve("first.log");
    Process process = serve(port, log);
    Api anonymous = new Api("http://127.0.0.1:" + port);
    awaitReady(anonymous, process, log);
    Api admin = signInWithGeneratedAdminPassword(anonymous);
    return new Started(
        port, log, process, anonymous, admin, registerDevices(admin, anonymous, deviceCount));
  }

  /** Registers {@code count} devices, even ones named durable-N, odd ones anon-N. */
  private static Map<String, Api> registerDevices(Api admin, Api anonymous, int count) {
    Map<String, Api> devices = new ConcurrentHashMap<>();
    for (int w = 0; w < count; w++) {
      String device = (w % 2 == 0 ? "durable-" : "anon-") + w;
      var registered =
          admin.post(
              "/api/v1/devices", Map.of("device_id", device, "type", "PiBox", "group", "lab"));
      assertThat(registered.status()).isEqualTo(201);
      devices.put(device, anonymous.withBearer(registered.json().get("api_key").asText()));
    }
    return devices;
  }

  interface Stop {
    void run() throws Exception;
  }

  /**
   * Every device posts events, one worker each, until {@code after} has passed and {@code stop} has
   * stopped the server. Acknowledged events go to {@code acked}, other answers to {@code refused}
   * (shared by the workers: a synchronized list).
   */
  private static void postWhileStopping(
      Map<String, Api> devices, Duration after, Stop stop, Set<Acked> acked, List<Integer> refused)
      throws Exception {
    var stopped = new AtomicBoolean();
    Instant base = Instant.now().minus(Duration.ofHours(6)).truncatedTo(ChronoUnit.MILLIS);
    try (ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int w = 0; w < devices.size(); w++) {
        int worker = w;
        load.submit(() -> postUntilStopped(devices, worker, base, stopped, acked, refused));
      }
      Thread.sleep(after);
      stop.run();
      stopped.set(true);
    }
  }

  private static void postUntilStopped(
      Map<String, Api> devices,
      int worker,
      Instant base,
      AtomicBoolean stop,
      Set<Acked> acked,
      List<Integer> refused) {
    for (int i = 0; !stop.get() && i < 100_000; i++) {
      // Half the devices send an event_id, half do not (older firmware).
      boolean withIds = worker % 2 == 0;
      String device = (withIds ? "durable-" : "anon-") + worker;
      Map<String, Object> e = event(device, base.plusMillis(i), i % 5, i % 7 == 0 ? 1 : 0);
      e = withIds ? withId(e, UUID.randomUUID()) : e;
      try {
        int status = devices.get(device).post("/api/v1/sync-events", e).status();
        if (status == 201) {
          acked.add(new Acked(e, device));
        } else {
          refused.add(status);
        }
      } catch (RuntimeException connectionLost) {
        return;
      }
    }
  }

  private static void assertCountersMatchHistoryWithoutDuplicates(Api api, Set<Acked> acked) {
    Map<String, Long> ackedPerDevice = new java.util.HashMap<>();
    acked.forEach(a -> ackedPerDevice.merge(a.deviceId(), 1L, Long::sum));
    for (var entry : ackedPerDevice.entrySet()) {
      List<JsonNode> history =
          api.allPages("/api/v1/devices/" + entry.getKey() + "/sync-events?limit=500").items();
      List<String> ids = history.stream().map(i -> i.get("event_id").asText()).toList();
      long counted =
          api.get("/api/v1/devices/" + entry.getKey()).json().at("/totals/syncs").asLong();
      assertThat(Set.copyOf(ids)).hasSize(ids.size());
      assertThat((long) ids.size()).isEqualTo(counted).isGreaterThanOrEqualTo(entry.getValue());
      // Every acknowledged event is there exactly once, found by its device time.
      Map<String, Long> stored = new java.util.HashMap<>();
      history.forEach(i -> stored.merge(i.get("timestamp").asText(), 1L, Long::sum));
      acked.stream()
          .filter(a -> a.deviceId().equals(entry.getKey()))
          .forEach(a ->
              assertThat(stored.get(Instant.parse((String) a.event().get("timestamp")).toString()))
                  .as("copies of %s", a.event())
                  .isEqualTo(1L));
    }
  }

  private static void assertAccessLogLines(Path log) throws IOException {
    List<JsonNode> access = accessLines(log);
    // The replays above: one line each, POST to the single-event route, answered 200.
    List<JsonNode> replays =
        access.stream().filter(l -> l.get("route").asText().equals("/api/v1/sync-events")).toList();
    assertThat(replays).isNotEmpty().allMatch(l -> l.get("status").asInt() == 200);
    JsonNode line = replays.getLast();
    assertThat(line.get("method").asText()).isEqualTo("POST");
    assertThat(line.get("path").asText()).isEqualTo("/api/v1/sync-events");
    assertThat(line.get("request_id").asText()).isNotBlank();
    assertThat(line.get("duration_ms").asDouble()).isPositive();
  }

  private static List<JsonNode> accessLines(Path log) throws IOException {
    var mapper = new ObjectMapper();
    List<JsonNode> access = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      if (line.startsWith("{") && line.contains("\"pisync.access\"")) {
        access.add(mapper.readTree(line));
      }
    }
    return access;
  }

  /** First start: the admin password was generated, shown once and kept in an owner-only file. */
  private Api signInWithGeneratedAdminPassword(Api anonymous) throws IOException {
    Path file = dataDir.resolve("admin-password");
    assertThat(java.nio.file.Files.getPosixFilePermissions(file))
        .containsExactlyInAnyOrder(
            java.nio.file.attribute.PosixFilePermission.OWNER_READ,
            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    String password = Files.readString(file).strip();
    var login =
        anonymous.post("/api/v1/auth/login", Map.of("username", "admin", "password", password));
    assertThat(login.status()).isEqualTo(200);
    return anonymous.withBearer(login.json().get("access_token").asText());
  }

  private Process serve(int port, Path log) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    var pb =
        new ProcessBuilder(
            java, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve");
    pb.environment().put("PISYNC_PORT", Integer.toString(port));
    pb.environment().put("PISYNC_HOST", "127.0.0.1");
    pb.environment().put("PISYNC_DATA_DIR", dataDir.toString());
    pb.environment()
        .keySet()
        .removeIf(name -> name.startsWith("PISYNC_") && !name.equals("PISYNC_JAVA_OPTS"));
    pb.environment().put("PISYNC_PORT", Integer.toString(port));
    pb.environment().put("PISYNC_HOST", "127.0.0.1");
    pb.environment().put("PISYNC_DATA_DIR", dataDir.toString());
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    return pb.start();
  }

  private static void awaitReady(Api api, Process process, Path log) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("server exited: " + Files.readString(log));
      }
      try {
        if (api.get("/health/ready").status() == 200) {
          return;
        }
      } catch (RuntimeException notYet) {
        // still starting
      }
      Thread.sleep(200);
    }
    throw new AssertionError("server not ready in 90 s: " + Files.readString(log));
  }

  private static Optional<Long> postmasterPid(Path dataDir) throws IOException {
    Path pid = dataDir.resolve("pg").resolve("postmaster.pid");
    if (!Files.exists(pid)) {
      return Optional.empty();
    }
    return Optional.of(Long.parseLong(Files.readAllLines(pid).getFirst().strip()));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
