import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Registers {@code count} devices ({@code prefix} + 5 digits) through POST /api/v1/devices as the
 * admin and writes one "device_id key" line per device, so the load generator reports as the
 * devices themselves, each with its own key. Run with the JDK's source launcher:
 *
 * <pre>java bench/Keys.java http://127.0.0.1:8080 ADMIN_TOKEN bench-s- 10000 keys.txt</pre>
 */
public final class Keys {
  private static final Pattern KEY = Pattern.compile("\"api_key\":\"(psk_[A-Za-z0-9_-]+)\"");

  public static void main(String[] args) throws Exception {
    String base = args[0];
    String token = args[1];
    String prefix = args[2];
    int count = Integer.parseInt(args[3]);
    Path out = Path.of(args[4]);
    var client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    long start = System.nanoTime();
    String[] lines = new String[count];
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      List<Future<?>> work = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int n = i;
        work.add(pool.submit(() -> {
          String id = prefix + String.format("%05d", n);
          lines[n] = id + " " + register(client, base, token, id);
          return null;
        }));
      }
      for (Future<?> f : work) f.get();
    }
    Files.write(out, List.of(lines));
    System.out.printf(
        "registered=%d seconds=%.1f%n", count, (System.nanoTime() - start) / 1e9);
  }

  private static String register(HttpClient client, String base, String token, String id)
      throws IOException, InterruptedException {
    String body =
        "{\"device_id\":\"" + id + "\",\"type\":\"PiBook\",\"group\":\"bench\",\"labels\":{}}";
    var request =
        HttpRequest.newBuilder(URI.create(base + "/api/v1/devices"))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + token)
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    HttpResponse<String> answer = client.send(request, HttpResponse.BodyHandlers.ofString());
    Matcher key = KEY.matcher(answer.body());
    if (answer.statusCode() != 201 || !key.find()) {
      throw new IllegalStateException(
          "registering " + id + ": HTTP " + answer.statusCode() + " " + answer.body());
    }
    return key.group(1);
  }
}
