import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The record-sync benchmark, against a running server signed in as admin ({@code BENCH_TOKEN}).
 * Run with the JDK's source launcher and the server jar on the class path (for Jackson):
 *
 * <pre>java -cp target/pisync.jar bench/SyncBench.java http://127.0.0.1:8080 100000 1000 SERVER_PID</pre>
 *
 * <ol>
 *   <li>registers devices and grants scopes through the admin API;
 *   <li>loads {@code records} records (progress, ~120 bytes of data each) by one device in pushes
 *       of 1,000;
 *   <li>pushes 10,000 new mutations in 10 pushes of 1,000, three times (the "10,000 in < 2 s"
 *       target);
 *   <li>initial sync: two fresh devices each pull all {@code records} records (pages of 1,000),
 *       checking that every record arrives exactly once;
 *   <li>poke latency: one device on the stream, another pushes one mutation at a time; time from
 *       the push's 200 (the commit is before it) and from sending it, to the poke;
 *   <li>{@code streams} devices connected to the stream at once: server heap (after a full GC, via
 *       jcmd) and RSS before and after, per connection; then the time for one change to poke all.
 * </ol>
 *
 * Prints {@code ROW} lines (the summary table of bench/run), {@code DETAIL} lines, and exits 1 when
 * an answer was not what the protocol promises (INVALID).
 */
public final class SyncBench {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  static String base;
  static String adminToken;
  static boolean invalid;

  public static void main(String[] args) throws Exception {
    base = args[0];
    int records = Integer.parseInt(args[1]);
    int streams = Integer.parseInt(args[2]);
    long serverPid = Long.parseLong(args[3]);
    adminToken = System.getenv("BENCH_TOKEN");
    if (adminToken == null || adminToken.isBlank()) throw new IllegalStateException("BENCH_TOKEN");

    String writer = register("bench-writer");
    for (String scope : List.of("school:bench", "school:push", "class:fanout")) {
      grant("bench-writer", scope);
    }
    load(writer, records);
    pushTenThousand(writer);
    initialSync(records);
    pokeLatency(writer);
    manyStreams(writer, streams, serverPid);
    System.exit(invalid ? 1 : 0);
  }

  // ------------------------------------------------------------------------------------ setup

  static String register(String device) throws Exception {
    var body = Map.of("device_id", device, "type", "PiBook", "group", "bench");
    HttpResponse<String> r = send(post("/api/v1/devices", body, adminToken));
    if (r.statusCode() != 201) throw new IllegalStateException("register " + device + ": " + r.body());
    return JSON.readTree(r.body()).get("api_key").asText();
  }

  static void grant(String device, String scope) throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create(base + "/api/v1/sync/devices/" + device + "/scopes/" + scope))
            .header("Authorization", "Bearer " + adminToken)
            .PUT(HttpRequest.BodyPublishers.noBody())
            .build();
    HttpResponse<String> r = send(request);
    if (r.statusCode() != 201 && r.statusCode() != 200) {
      throw new IllegalStateException("grant " + scope + " to " + device + ": " + r.body());
    }
  }

  // ------------------------------------------------------------------------------------ pushes

  static List<Map<String, Object>> batch(String scope, int from, int count) {
    List<Map<String, Object>> muts = new ArrayList<>(count);
    for (int i = from; i < from + count; i++) {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("lesson", "unit-" + (i % 40) + "/lesson-" + (i % 17));
      data.put("position", i % 300);
      data.put("score", i % 101);
      data.put("completed", i % 3 == 0);
      data.put("minutes", i % 60);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("mutation_id", UUID.randomUUID().toString());
      m.put("collection", "progress");
      m.put("scope", scope);
      m.put("record_id", "r" + i);
      m.put("op", "upsert");
      m.put("base_version", 0);
      m.put("data", data);
      muts.add(m);
    }
    return muts;
  }

  /** Pushes one batch; returns the number applied. */
  static int push(String key, List<Map<String, Object>> muts) throws Exception {
    HttpResponse<String> r = send(post("/api/v1/sync/push", Map.of("mutations", muts), key));
    if (r.statusCode() != 200) {
      invalid = true;
      System.err.println("push: " + r.statusCode() + " " + r.body());
      return 0;
    }
    return JSON.readTree(r.body()).get("applied").asInt();
  }

  static void load(String writer, int records) throws Exception {
    long start = System.nanoTime();
    int applied = 0;
    for (int from = 0; from < records; from += 1000) {
      applied += push(writer, batch("school:bench", from, Math.min(1000, records - from)));
    }
    double secs = (System.nanoTime() - start) / 1e9;
    check(applied == records, "load: " + applied + " of " + records + " applied");
    detail(String.format(Locale.ROOT,
        "load: %,d records pushed in pushes of 1,000 by one device in %.2f s (%,.0f mutations/s)",
        records, secs, records / secs));
  }

  static void pushTenThousand(String writer) throws Exception {
    List<Double> runs = new ArrayList<>();
    for (int run = 0; run < 3; run++) {
      List<List<Map<String, Object>>> pushes = new ArrayList<>();
      for (int b = 0; b < 10; b++) pushes.add(batch("school:push", run * 10_000 + b * 1000, 1000));
      long start = System.nanoTime();
      int applied = 0;
      for (List<Map<String, Object>> muts : pushes) applied += push(writer, muts);
      double secs = (System.nanoTime() - start) / 1e9;
      check(applied == 10_000, "push run " + run + ": " + applied + " of 10000 applied");
      runs.add(secs);
      detail(String.format(Locale.ROOT,
          "push 10,000 run %d: %.3f s (%,.0f mutations/s), 10 pushes of 1,000, one device",
          run + 1, secs, 10_000 / secs));
    }
    double median = median(runs);
    row("sync push: 10,000 new mutations, 10 pushes of 1,000, one device", "1",
        String.format(Locale.ROOT, "%.2f s (%,.0f mutations/s)", median, 10_000 / median),
        "-", "-", "< 2 s", median < 2.0);
  }

  // ----------------------------------------------------------------------------- initial sync

  static void initialSync(int records) throws Exception {
    List<Double> runs = new ArrayList<>();
    for (int run = 1; run <= 2; run++) {
      String device = "bench-reader-" + run;
      String key = register(device);
      grant(device, "school:bench");
      Set<String> seen = new HashSet<>(records * 2);
      int repeated = 0;
      long bytes = 0;
      int pages = 0;
      String cursor = null;
      long start = System.nanoTime();
      while (true) {
        String path = "/api/v1/sync/pull?limit=1000" + (cursor == null ? "" : "&cursor=" + cursor);
        HttpResponse<String> r = send(get(path, key));
        if (r.statusCode() != 200) {
          check(false, "pull: " + r.statusCode() + " " + r.body());
          break;
        }
        bytes += r.body().length();
        pages++;
        JsonNode page = JSON.readTree(r.body());
        for (JsonNode change : page.get("changes")) {
          if (!seen.add(change.get("record_id").asText())) repeated++;
        }
        cursor = page.get("cursor").asText();
        if (!page.get("has_more").asBoolean()) break;
      }
      double secs = (System.nanoTime() - start) / 1e9;
      check(seen.size() == records && repeated == 0,
          "initial sync " + run + ": " + seen.size() + " distinct of " + records + ", " + repeated + " repeated");
      runs.add(secs);
      detail(String.format(Locale.ROOT,
          "initial sync run %d (%s): %,d records in %d pages of 1,000, %.2f s (%,.0f records/s), %.1f MB of JSON, none missing or repeated: %s",
          run, run == 1 ? "first pulls after start" : "warm", seen.size(), pages, secs,
          seen.size() / secs, bytes / 1e6, seen.size() == records && repeated == 0));
    }
    row("sync initial sync: " + String.format(Locale.ROOT, "%,d", records)
            + " records to one device (pages of 1,000, JSON parsed)", "1",
        String.format(Locale.ROOT, "%.2f s cold, %.2f s warm", runs.get(0), runs.get(1)),
        "-", "-", "< 5 s", runs.get(0) < 5.0);
  }

  // ------------------------------------------------------------------------------------ pokes

  /** A stream reader: records the arrival time of every poke. */
  static final class Listener {
    final BlockingQueue<Long> pokes = new LinkedBlockingQueue<>();
    volatile int status;
    volatile Stream<String> lines;

    void open(String key) throws Exception {
      var request =
          HttpRequest.newBuilder(URI.create(base + "/api/v1/sync/stream"))
              .header("Authorization", "Bearer " + key)
              .header("Accept", "text/event-stream")
              .GET()
              .build();
      HttpResponse<Stream<String>> r = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
      status = r.statusCode();
      lines = r.body();
      Thread.ofVirtual().start(() -> {
        try {
          lines.forEach(line -> {
            if (line.equals("event: poke")) pokes.add(System.nanoTime());
          });
        } catch (RuntimeException closed) {
          // the stream was closed
        }
      });
    }

    Long next(long timeoutMillis) throws InterruptedException {
      return pokes.poll(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    void close() {
      if (lines != null) lines.close();
    }
  }

  static void pokeLatency(String writer) throws Exception {
    String key = register("bench-watcher");
    grant("bench-watcher", "school:bench");
    var listener = new Listener();
    listener.open(key);
    check(listener.status == 200, "stream: " + listener.status);
    check(listener.next(5_000) != null, "no poke on connect");
    List<Double> afterAck = new ArrayList<>();
    List<Double> afterSend = new ArrayList<>();
    int missing = 0;
    for (int i = 0; i < 220; i++) {
      listener.pokes.clear();
      long sent = System.nanoTime();
      push(writer, batch("school:bench", 5_000_000 + i, 1));
      long acked = System.nanoTime();
      Long poked = listener.next(2_000);
      if (poked == null) {
        missing++;
        continue;
      }
      if (i >= 20) { // the first 20 warm up
        afterAck.add((poked - acked) / 1e6);
        afterSend.add((poked - sent) / 1e6);
      }
      Thread.sleep(20);
    }
    listener.close();
    check(missing == 0, missing + " pushes never poked the stream");
    Collections.sort(afterAck);
    Collections.sort(afterSend);
    detail(String.format(Locale.ROOT,
        "poke latency over %d single-mutation pushes (after 20 warm-up): from the push's 200: p50 %.2f ms, p99 %.2f ms, max %.2f ms (negative: the poke came before the 200); from sending the push: p50 %.2f ms, p99 %.2f ms",
        afterAck.size(), pct(afterAck, 50), pct(afterAck, 99), afterAck.getLast(),
        pct(afterSend, 50), pct(afterSend, 99)));
    row("sync stream: poke after a commit (push 200 -> poke)", "1",
        String.format(Locale.ROOT, "%d pokes, 0 missed", afterAck.size() + missing),
        String.format(Locale.ROOT, "%.2f", pct(afterAck, 50)),
        String.format(Locale.ROOT, "%.2f", pct(afterAck, 99)), "p50 <= 50 ms",
        pct(afterAck, 50) <= 50);
  }

  // ------------------------------------------------------------------------------ many streams

  static void manyStreams(String writer, int count, long serverPid) throws Exception {
    List<String> keys = new ArrayList<>(Collections.nCopies(count, null));
    var limit = new Semaphore(8);
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> setup = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int n = i;
        setup.add(pool.submit(() -> {
          limit.acquire();
          try {
            String device = String.format(Locale.ROOT, "bench-stream-%04d", n);
            keys.set(n, register(device));
            grant(device, "class:fanout");
          } finally {
            limit.release();
          }
          return null;
        }));
      }
      for (Future<?> f : setup) f.get();
    }
    Memory before = memory(serverPid);
    List<Listener> listeners = new ArrayList<>();
    var connected = new CountDownLatch(count);
    long start = System.nanoTime();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      var connecting = new Semaphore(64);
      for (String key : keys) {
        var listener = new Listener();
        listeners.add(listener);
        pool.submit(() -> {
          connecting.acquire();
          try {
            listener.open(key);
            if (listener.status == 200 && listener.next(30_000) != null) connected.countDown();
          } finally {
            connecting.release();
          }
          return null;
        });
      }
    }
    boolean all = connected.await(60, TimeUnit.SECONDS);
    double connectSecs = (System.nanoTime() - start) / 1e9;
    check(all, (count - connected.getCount()) + " of " + count + " streams connected");
    long open = gauge("pisync_sync_streams");
    // the stream of the latency phase may still count until its next heartbeat finds it closed
    check(open >= count && open <= count + 1, "server counts " + open + " open streams, expected " + count);
    Memory after = memory(serverPid);

    List<Double> fanout = new ArrayList<>();
    int missed = 0;
    for (int round = 0; round < 5; round++) {
      listeners.forEach(l -> l.pokes.clear());
      push(writer, batch("class:fanout", 9_000_000 + round, 1));
      long acked = System.nanoTime();
      for (Listener l : listeners) {
        Long t = l.next(10_000);
        if (t == null) missed++;
        else fanout.add((t - acked) / 1e6);
      }
    }
    listeners.forEach(Listener::close);
    check(missed == 0, missed + " pokes missed in the fan-out");
    Collections.sort(fanout);
    double heapPer = (after.heap - before.heap) / (double) count;
    double rssPer = (after.rss - before.rss) / (double) count;
    detail(String.format(Locale.ROOT,
        "%,d streams (one device each) connected in %.1f s; server reports %d open. Server heap after full GC: %.1f -> %.1f MB (%.1f KB per connection); RSS %.1f -> %.1f MB (%.1f KB per connection)",
        count, connectSecs, open, before.heap / 1e6, after.heap / 1e6, heapPer / 1024,
        before.rss / 1e6, after.rss / 1e6, rssPer / 1024));
    detail(String.format(Locale.ROOT,
        "fan-out: one change poking all %,d streams, 5 rounds: from the push's 200, p50 %.1f ms, p99 %.1f ms, last stream %.1f ms; %d missed",
        count, pct(fanout, 50), pct(fanout, 99), fanout.getLast(), missed));
    row(String.format(Locale.ROOT, "sync stream: %,d connections open at once, one change pokes all", count),
        Integer.toString(count),
        String.format(Locale.ROOT, "%.1f KB heap + %.1f KB RSS per connection", heapPer / 1024, rssPer / 1024),
        String.format(Locale.ROOT, "%.1f", pct(fanout, 50)),
        String.format(Locale.ROOT, "%.1f", pct(fanout, 99)), String.format(Locale.ROOT, "%,d connected", count),
        all && open >= count && missed == 0);
  }

  record Memory(long heap, long rss) {}

  static Memory memory(long pid) throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.run")
        .redirectErrorStream(true).start();
    gc.getInputStream().readAllBytes();
    gc.waitFor(60, TimeUnit.SECONDS);
    Thread.sleep(500);
    long heap = gauge("jvm_memory_used_bytes{area=\"heap\"");
    long rss = 0;
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
    }
    return new Memory(heap, rss);
  }

  /** Sum of the samples of a metric (lines starting with {@code prefix}) on /metrics. */
  static long gauge(String prefix) throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base + "/metrics")).GET().build());
    double sum = 0;
    for (String line : r.body().split("\n")) {
      if (line.startsWith(prefix)) sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
    return (long) sum;
  }

  // ---------------------------------------------------------------------------------- helpers

  static HttpRequest post(String path, Object body, String token) throws IOException {
    return HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
        .build();
  }

  static HttpRequest get(String path, String token) {
    return HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + token)
        .GET()
        .build();
  }

  static HttpResponse<String> send(HttpRequest request) throws Exception {
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  static double pct(List<Double> sorted, int p) {
    if (sorted.isEmpty()) return Double.NaN;
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }

  static void check(boolean ok, String what) {
    if (!ok) {
      invalid = true;
      System.out.println("DETAIL INVALID: " + what);
      System.err.println("INVALID: " + what);
    }
  }

  static void detail(String line) {
    System.out.println("DETAIL " + line);
    System.err.println(line);
  }

  static void row(String phase, String conns, String throughput, String p50, String p99,
      String target, boolean met) {
    System.out.println("ROW " + String.join(" | ", phase, conns, throughput, p50, p99,
        invalid ? "**yes: INVALID**" : "0", target, met ? "met" : "**MISSED**"));
  }
}
