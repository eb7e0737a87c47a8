import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads the read-benchmark data set through POST /api/v1/sync-events/batch: exactly {@code events}
 * events over {@code devices} devices ("bench-dev-000000" ...), {@code batch} events per request,
 * {@code workers} requests in flight. Run with the JDK's source launcher:
 *
 * <pre>java bench/Load.java http://127.0.0.1:8080 1000000 100000 1000 4 [deadline-seconds]</pre>
 *
 * <p>Data shape: event g < devices goes to device g (so every device exists), the rest to a random
 * device, 10% of them to the first 1% of devices ("heavy" devices with ~100 events each). One
 * device in 20 is flaky (60% failed, 20% partial); the others fail 8% and are partial 9%, about
 * 20% unsuccessful overall. Timestamps are within the past day, with varied UTC offsets. Every
 * response must be 200 with "created" equal to the batch size, or the load fails.
 */
public final class Load {
  private static final Pattern CREATED = Pattern.compile("\"created\":(\\d+)");
  private static final String[] OFFSETS = {"Z", "+00:00", "+05:30", "-04:00", "+09:00", "-07:00"};
  private static final int[] OFFSET_MINUTES = {0, 0, 330, -240, 540, -420};
  private static final DateTimeFormatter LOCAL =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS");
  private static final String[] MESSAGES = {
    "connection reset by peer", "disk full", "timeout after 30s", "TLS handshake failed"
  };

  public static void main(String[] args) throws Exception {
    String base = args[0];
    long events = Long.parseLong(args[1]);
    int devices = Integer.parseInt(args[2]);
    int batch = Integer.parseInt(args[3]);
    int workers = Integer.parseInt(args[4]);
    long deadlineSeconds = args.length > 5 ? Long.parseLong(args[5]) : 900;
    if (events % batch != 0) {
      throw new IllegalArgumentException("events must be a multiple of the batch size");
    }
    long requests = events / batch;
    long nowSeconds = Instant.now().getEpochSecond();
    int heavy = Math.max(1, devices / 100);
    var client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    var next = new AtomicLong();
    var created = new AtomicLong();
    var failures = new AtomicLong();
    long deadline = System.nanoTime() + deadlineSeconds * 1_000_000_000L;
    long start = System.nanoTime();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      long seed = 0x5eed_0000L + w;
      threads.add(
          Thread.ofPlatform()
              .name("load-" + w)
              .start(() -> {
                var rnd = new SplittableRandom(seed);
                var body = new StringBuilder(batch * 220);
                for (long r = next.getAndIncrement(); r < requests; r = next.getAndIncrement()) {
                  if (System.nanoTime() > deadline || failures.get() > 0) {
                    return;
                  }
                  body.setLength(0);
                  body.append("{\"events\":[");
                  for (int j = 0; j < batch; j++) {
                    long g = r * batch + j;
                    int device;
                    if (g < devices) {
                      device = (int) g;
                    } else if (rnd.nextInt(10) == 0) {
                      device = rnd.nextInt(heavy);
                    } else {
                      device = rnd.nextInt(devices);
                    }
                    if (j > 0) body.append(',');
                    appendEvent(body, rnd, device, nowSeconds);
                  }
                  body.append("]}");
                  if (!sendWithRetry(client, base, body.toString(), batch, created)) {
                    failures.incrementAndGet();
                    return;
                  }
                }
              }));
    }
    for (Thread t : threads) {
      t.join();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "LOAD events=%d created=%d seconds=%.2f events_per_s=%.0f failures=%d%n",
        events, created.get(), seconds, created.get() / seconds, failures.get());
    System.exit(created.get() == events && failures.get() == 0 ? 0 : 1);
  }

  private static void appendEvent(StringBuilder b, SplittableRandom rnd, int device, long now) {
    boolean flaky = device % 20 == 0;
    int roll = rnd.nextInt(100);
    int files;
    int errors;
    if (roll < (flaky ? 60 : 8)) { // failed
      files = 0;
      errors = 1 + rnd.nextInt(20);
    } else if (roll < (flaky ? 80 : 17)) { // partial
      files = 1 + rnd.nextInt(100);
      errors = 1 + rnd.nextInt(10);
    } else {
      files = 1 + rnd.nextInt(300);
      errors = 0;
    }
    long epoch = now - 1 - rnd.nextInt(86_399);
    int o = rnd.nextInt(OFFSETS.length);
    String local =
        LOCAL.format(
            Instant.ofEpochSecond(epoch, rnd.nextInt(1000) * 1_000_000L)
                .atOffset(ZoneOffset.ofTotalSeconds(OFFSET_MINUTES[o] * 60))
                .toLocalDateTime());
    b.append("{\"device_id\":\"bench-dev-")
        .append(String.format("%06d", device))
        .append("\",\"timestamp\":\"")
        .append(local)
        .append(OFFSETS[o])
        .append("\",\"total_files_synced\":")
        .append(files)
        .append(",\"total_errors\":")
        .append(errors)
        .append(",\"internet_speed\":")
        .append(rnd.nextInt(2000) / 10.0)
        .append(",\"duration_ms\":")
        .append(500 + rnd.nextInt(60_000))
        .append(",\"bytes_synced\":")
        .append(files * 40_000L + rnd.nextInt(40_000))
        .append(",\"app_version\":\"2.")
        .append(rnd.nextInt(4))
        .append(".0\"");
    if (errors > 0) {
      b.append(",\"error_message\":\"").append(MESSAGES[rnd.nextInt(MESSAGES.length)]).append('"');
    }
    b.append('}');
  }

  /**
   * A 5xx answer means the server rolled the batch back, so sending it again cannot duplicate
   * events: up to 3 attempts. A lost connection is not retried (the batch may have committed).
   */
  private static boolean sendWithRetry(
      HttpClient client, String base, String body, int batch, AtomicLong created) {
    for (int attempt = 1; attempt <= 3; attempt++) {
      int status = send(client, base, body, batch, created);
      if (status == 200) return true;
      if (status < 500) return false;
      System.err.printf("load: HTTP %d, retrying the batch (attempt %d of 3)%n", status, attempt);
      try {
        Thread.sleep(1000L * attempt);
      } catch (InterruptedException e) {
        return false;
      }
    }
    return false;
  }

  private static int send(
      HttpClient client, String base, String body, int batch, AtomicLong created) {
    var request =
        HttpRequest.newBuilder(URI.create(base + "/api/v1/sync-events/batch"))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + System.getenv("BENCH_TOKEN"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      String text = response.body();
      Matcher m = CREATED.matcher(text.length() > 200 ? text.substring(0, 200) : text);
      if (response.statusCode() != 200 || !m.find() || Integer.parseInt(m.group(1)) != batch) {
        System.err.printf(
            "load: unexpected answer %d: %s%n",
            response.statusCode(), text.substring(0, Math.min(400, text.length())));
        return response.statusCode() == 200 ? 0 : response.statusCode();
      }
      created.addAndGet(batch);
      return 200;
    } catch (Exception e) {
      System.err.println("load: request failed: " + e);
      return 0;
    }
  }
}
