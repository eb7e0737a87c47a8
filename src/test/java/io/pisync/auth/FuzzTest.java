package io.pisync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.http.Routes;
import io.pisync.support.Api;
import io.pisync.support.Events;
import io.pisync.support.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * 10,000+ random and mutated requests over every route, with every kind of credential: none may get
 * a 5xx or a body that is not JSON/problem JSON on an API route, and the server stays healthy.
 */
class FuzzTest {
  static final int REQUESTS = 10_400;
  static final String[] WEIRD = {
    "",
    " ",
    "null",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "true",
    "[]",
    "{}",
    "%00",
    "%2e%2e%2f",
    "../../etc/passwd",
    "\u0000",
    "é",
    "😀",
    "\ud800",
    "a".repeat(300),
    "' OR 1=1 --",
    "<script>",
    "2025-13-45T99:99:99Z",
    "psk_",
    "eyJhbGciOiJub25lIn0.e30.",
  };

  @Test
  void randomAndMutatedRequestsNeverGetA5xx() throws Exception {
    long seed = System.nanoTime();
    try (TestServer server = TestServer.start()) {
      List<Routes.Route> routes = server.server().routes().all();
      List<Api> callers =
          List.of(
              server.anonymous(),
              server.device("fuzz-a"),
              server.device("fuzz-b"),
              server.person("fuzz-viewer", "viewer"),
              server.person("fuzz-operator", "operator"),
              server.api(),
              server.anonymous().withBearer("psk_" + "x".repeat(43)),
              server.anonymous().withBearer("not.a.jwt"));
      var failures = new ConcurrentLinkedQueue<String>();
      try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
        List<Future<?>> done = new ArrayList<>();
        for (int w = 0; w < 8; w++) {
          Random random = new Random(seed + w);
          done.add(
              pool.submit(() -> {
                for (int i = 0; i < REQUESTS / 8; i++) {
                  Routes.Route route = routes.get(random.nextInt(routes.size()));
                  Api api = callers.get(random.nextInt(callers.size()));
                  String path = path(route.path(), random);
                  String method =
                      random.nextInt(10) == 0
                          ? List.of("GET", "POST", "PUT", "PATCH", "DELETE").get(random.nextInt(5))
                          : route.method().name();
                  String body = method.equals("GET") ? null : body(route.path(), random);
                  String type = random.nextInt(12) == 0 ? "text/plain" : "application/json";
                  try {
                    Api.Response r = send(api, method, path, body, type);
                    if (r.status() >= 500 && r.status() != 503) {
                      failures.add(
                          method + " " + path + " " + body + " -> " + r.status() + " " + r.body());
                    }
                  } catch (RuntimeException e) {
                    failures.add(method + " " + path + " -> " + e);
                  }
                }
              }));
        }
        for (Future<?> f : done) f.get();
      }
      System.out.printf(
          "fuzz: %d requests, %d resent after a closed connection%n", REQUESTS, RESENT.get());
      assertThat(failures).as("seed %d", seed).isEmpty();
      assertThat(RESENT.get())
          .as("requests that needed a new connection")
          .isLessThan(REQUESTS / 100);
      assertThat(server.anonymous().get("/health/ready").status()).isEqualTo(200);
      assertThat(
              server
                  .device("fuzz-after")
                  .post(
                      "/api/v1/sync-events",
                      Events.success(
                          "fuzz-after", server.clock().instant().minus(Duration.ofHours(1))))
                  .status())
          .isEqualTo(201);
    }
  }

  /**
   * One request. A keep-alive connection the server closed after its previous answer can fail the
   * next request before it is read (any HTTP/1.1 client meets this and resends); such a request is
   * sent once more on a new connection, and only a second failure counts.
   */
  private static Api.Response send(Api api, String method, String path, String body, String type) {
    if (method.equals("GET") && path.startsWith("/api/v1/sync/stream")) {
      try (var stream = api.stream(path)) { // let through, it never ends by itself
        return new Api.Response(stream.status(), stream.headers(), "");
      }
    }
    try {
      return method.equals("GET") ? api.get(path) : api.send(method, path, body, type);
    } catch (java.io.UncheckedIOException closedBeforeRead) {
      RESENT.incrementAndGet();
      return method.equals("GET") ? api.get(path) : api.send(method, path, body, type);
    }
  }

  static final java.util.concurrent.atomic.AtomicInteger RESENT =
      new java.util.concurrent.atomic.AtomicInteger();

  private static String path(String template, Random random) {
    String path = template;
    for (String param :
        List.of(
            "{device_id}",
            "{id}",
            "{username}",
            "{file}",
            "{name}",
            "{collection}",
            "{scope}",
            "{record_id}")) {
      String value =
          switch (random.nextInt(4)) {
            case 0 -> "fuzz-a";
            case 1 -> "fuzz-b";
            case 2 -> "admin";
            default -> encode(WEIRD[random.nextInt(WEIRD.length)]);
          };
      path = path.replace(param, value.isEmpty() ? "x" : value);
    }
    if (random.nextInt(3) == 0) {
      String key =
          List.of("limit", "cursor", "since", "threshold", "status", "q", "consecutive", "page")
              .get(random.nextInt(8));
      path += "?" + key + "=" + encode(WEIRD[random.nextInt(WEIRD.length)]);
    }
    return path;
  }

  private static String encode(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static String body(String path, Random random) {
    Map<String, Object> valid =
        switch (path) {
          case "/api/v1/auth/login" -> Map.of("username", "admin", "password", "guess-guess-guess");
          case "/api/v1/accounts" ->
              Map.of(
                  "username",
                  "fz" + random.nextInt(1000),
                  "password",
                  "p".repeat(14),
                  "role",
                  "viewer");
          case "/api/v1/devices", "/api/v1/devices/enrol" ->
              Map.of("device_id", "fz" + random.nextInt(1000), "type", "PiBook", "group", "g");
          case "/api/v1/sync/push", "/api/v1/sync" ->
              Map.of(
                  "mutations",
                  List.of(
                      Map.of(
                          "mutation_id",
                          "m" + random.nextInt(1000),
                          "collection",
                          "notes",
                          "scope",
                          "fuzz",
                          "record_id",
                          "r" + random.nextInt(10),
                          "op",
                          "upsert",
                          "data",
                          Map.of("text", "x"))));
          case "/api/v1/sync/collections/{name}" -> Map.of("policy", "merge");
          case "/api/v1/sync-events/batch" ->
              Map.of(
                  "events",
                  List.of(Events.success("fuzz-a", java.time.Instant.now().minusSeconds(60))));
          default ->
              Events.success(
                  random.nextBoolean() ? "fuzz-a" : "fuzz-b",
                  java.time.Instant.now().minusSeconds(60));
        };
    return switch (random.nextInt(6)) {
      case 0 -> Api.json(valid);
      case 1 -> Api.json(mutate(valid, random));
      case 2 -> "[".repeat(random.nextInt(200)) + "]".repeat(random.nextInt(200));
      case 3 -> randomText(random);
      case 4 -> Api.json(mutate(mutate(valid, random), random));
      default -> Api.json(valid).substring(0, random.nextInt(Api.json(valid).length()));
    };
  }

  private static Map<String, Object> mutate(Map<String, Object> body, Random random) {
    Map<String, Object> copy = new LinkedHashMap<>(body);
    List<String> keys = new ArrayList<>(copy.keySet());
    String key = keys.isEmpty() ? "x" : keys.get(random.nextInt(keys.size()));
    switch (random.nextInt(6)) {
      case 0 -> copy.remove(key);
      case 1 -> copy.put(key, WEIRD[random.nextInt(WEIRD.length)]);
      case 2 -> copy.put(key, random.nextLong());
      case 3 -> copy.put(key, List.of(Map.of("nested", List.of(1, 2, 3))));
      case 4 -> copy.put("unexpected_" + random.nextInt(9), true);
      default -> copy.put(key, null);
    }
    return copy;
  }

  private static String randomText(Random random) {
    var sb = new StringBuilder();
    int n = random.nextInt(200);
    for (int i = 0; i < n; i++) sb.append((char) random.nextInt(0x3000));
    return sb.toString();
  }
}
