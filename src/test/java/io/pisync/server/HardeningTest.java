package io.pisync.server;

import static io.pisync.support.Events.event;
import static io.pisync.support.Events.failed;
import static io.pisync.support.Events.success;
import static io.pisync.support.Events.withId;
import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.TestServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Odd input a client could send: always a 4xx problem, never a 500 or HTML. */
class HardeningTest {
  static TestServer server;
  static final Instant RECENT = Instant.now().minus(Duration.ofHours(2));

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static void assertProblem(Api.Response r, int status) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.contentType()).startsWith("application/problem+json");
    assertThat(r.json().get("status").asInt()).isEqualTo(status);
    assertThat(r.body()).doesNotContain("<html", "Exception");
  }

  @Test
  void aNulCharacterInATextFieldIsRefusedAndHarmsNoOtherEvent() {
    Map<String, Object> bad = new LinkedHashMap<>(success("nul-dev", RECENT));
    bad.put("app_version", "1.0\u0000");
    var single = server.api().post("/api/v1/sync-events", bad);
    assertProblem(single, 400);
    assertThat(single.json().get("errors").get(0).get("field").asText()).isEqualTo("app_version");

    var batch =
        server
            .api()
            .post(
                "/api/v1/sync-events/batch",
                Map.of("events", List.of(bad, success("nul-dev", RECENT))));
    assertThat(batch.status()).isEqualTo(200);
    assertThat(batch.json().get("created").asInt()).isEqualTo(1);
    assertThat(batch.json().get("invalid").asInt()).isEqualTo(1);

    Map<String, Object> legacy = new LinkedHashMap<>(success("nul-dev", RECENT));
    legacy.put("error_details", "disk\u0000full");
    assertProblem(server.fleet().post("/api/piSync/sync-event", legacy), 400);
  }

  @Test
  void cursorsAndQueryValuesThatCannotBeOursAre400() {
    String nul = Base64.getUrlEncoder().encodeToString(new byte[] {0});
    assertProblem(server.api().get("/api/v1/devices?cursor=" + nul), 400);
    assertProblem(server.api().get("/api/v1/devices?q=%00"), 400);
    String farFuture =
        Base64.getUrlEncoder()
            .encodeToString(
                ("+999999999-01-01T00:00:00Z\u001f" + UUID.randomUUID())
                    .getBytes(StandardCharsets.UTF_8));
    server.api().post("/api/v1/sync-events", success("cursor-dev", RECENT));
    assertProblem(
        server.api().get("/api/v1/devices/cursor-dev/sync-events?cursor=" + farFuture), 400);
    assertProblem(
        server.api().get("/api/v1/devices/repeated-failures?since=%2B999999999-01-01T00:00:00Z"),
        400);
    assertProblem(
        server.api().get("/api/v1/devices/repeated-failures?since=-5000-01-01T00:00:00Z"), 400);
    assertProblem(server.api().get("/api/v1/devices/repeated-failures?cursor=" + nul), 400);
  }

  @Test
  void jsonWithTrailingGarbageIs400() {
    String body = Api.json(success("trailing-dev", RECENT)) + " {\"more";
    assertProblem(server.api().post("/api/v1/sync-events", body), 400);
    assertThat(server.api().get("/api/v1/devices/trailing-dev").status()).isEqualTo(404);
  }

  @Test
  void requestsJettyRefusesAreProblemsToo() {
    var raw = HttpRequest.newBuilder(server.api().uri("/health/live"));
    assertProblem(server.api().send(raw.copy().header("X-Big", "a".repeat(70_000))), 431);
    assertProblem(server.api().get("/api/v1/devices?q=" + "a".repeat(70_000)), 414);
    assertProblem(server.api().get("/api/v1/devices/%00"), 400);
  }

  @Test
  void aRequestJettyRefusesSaysTheConnectionCloses() throws IOException {
    for (String target :
        List.of("/api/v1/devices/%00", "/api/v1/devices?q=" + "a".repeat(70_000))) {
      try (var socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
        socket.setSoTimeout(5_000);
        String request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
        socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        // Jetty closes the socket after answering, so reading to the end terminates.
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(answer)
            .startsWith("HTTP/1.1 4")
            .containsIgnoringCase("\r\nConnection: close\r\n");
      }
    }
  }

  @Test
  void aBrokenOrCutRequestIsTheClientsFaultNeverA500() throws IOException {
    String login =
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + "Content-Type: application/json\r\n";
    String badChunk = raw(login + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", false);
    assertThat(badChunk)
        .startsWith("HTTP/1.1 400")
        .contains("/problems/bad-request", "chunked framing is broken")
        .doesNotContain("Early EOF");

    String cut = raw(login + "Content-Length: 100\r\n\r\n{\"username\":", true);
    assertThat(cut).startsWith("HTTP/1.1 400").contains("/problems/bad-request");

    // refused on the declared length at once, not after waiting for a body it would refuse
    String tooLong = raw(login + "Content-Length: 999999999\r\n\r\n{\"a\":", false);
    assertThat(tooLong).startsWith("HTTP/1.1 413").contains("/problems/payload-too-large");

    String badPath = raw("DELETE /api/v1/accounts/%FF HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assertThat(badPath)
        .as("every method")
        .startsWith("HTTP/1.1 400")
        .contains("/problems/bad-request");

    String version = raw("GET /health/live HTTP/9.9\r\nHost: x\r\n\r\n", false);
    assertThat(version).startsWith("HTTP/1.1 505").contains("/problems/http-version-not-supported");
  }

  @Test
  void queryParametersAreReadStrictly() throws IOException {
    String key = server.deviceKey("query-dev");
    server.api().post("/api/v1/sync-events", event("query-dev", RECENT, 1, 0));
    String get =
        "GET /api/v1/devices/query-dev/sync-events?%s HTTP/1.1\r\nHost: x\r\n"
            + "Connection: close\r\nAuthorization: Bearer "
            + key
            + "\r\n\r\n";
    // a broken escape used to drop the parameter: cursor=%zz read the first page again
    Map<String, String> refused =
        Map.of(
            "cursor=%zz", "cursor",
            "limit=5%", "limit",
            "limit=+5", "limit",
            "limit=%D9%A3", "limit", // an Arabic-Indic three
            "limit=1&limit=2", "limit",
            "limit=2147483648", "limit");
    refused.forEach((query, field) -> {
      try {
        assertThat(raw(get.formatted(query), false))
            .as(query)
            .startsWith("HTTP/1.1 400")
            .contains("\"field\":\"" + field + "\"");
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertThat(raw(get.formatted("limit=5"), false)).startsWith("HTTP/1.1 200");
  }

  @Test
  void headSendsTheHeadersOfTheGetAndNoBody() throws IOException {
    // HEAD then GET on one connection: a body after the HEAD's headers would show up here
    String answer =
        raw(
            "HEAD /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            false);
    int second = answer.indexOf("HTTP/1.1 ", 1);
    assertThat(answer).startsWith("HTTP/1.1 200");
    assertThat(second).as(answer).isPositive();
    String head = answer.substring(0, second);
    assertThat(head).containsIgnoringCase("Content-Length: 15\r\n").endsWith("\r\n\r\n");
    assertThat(answer.substring(second)).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"up\"}");
  }

  @Test
  void aHeadThatFailsGetsTheGetsHeadersIncludingItsLength() {
    for (String path : List.of("/api/v1/no-such-route", "/api/v1/sync-events")) {
      var get = server.api().get(path);
      var head = server.api().send("HEAD", path, null, null);
      assertThat(head.status()).as(path).isEqualTo(get.status()).isIn(404, 405);
      assertThat(head.body()).isEmpty();
      assertThat(head.headers().get("content-length"))
          .as(path)
          .containsExactly(Integer.toString(get.body().getBytes(StandardCharsets.UTF_8).length));
    }
  }

  @Test
  void aHeadThatJettyRefusesBeforeRoutingGetsNoBody() throws IOException {
    String get = raw("GET /api/v1/devices HTTP/1.1\r\nHost: bad host\r\n\r\n", false);
    String head = raw("HEAD /api/v1/devices HTTP/1.1\r\nHost: bad host\r\n\r\n", false);
    assertThat(get).startsWith("HTTP/1.1 400").contains("\"status\":400");
    int body = get.length() - get.indexOf("\r\n\r\n") - 4;
    assertThat(head)
        .startsWith("HTTP/1.1 400")
        .containsIgnoringCase("Content-Length: " + body + "\r\n")
        .endsWith("\r\n\r\n");
  }

  /** Sends a request over a socket (then closes its sending side, if asked); the whole answer. */
  private static String raw(String request, boolean halfClose) throws IOException {
    try (var socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
      if (halfClose) socket.shutdownOutput();
      var answer = new java.io.ByteArrayOutputStream();
      byte[] buffer = new byte[4096];
      try {
        for (int n; (n = socket.getInputStream().read(buffer)) > 0; ) answer.write(buffer, 0, n);
      } catch (java.net.SocketTimeoutException e) {
        // the answer is read; the server kept the connection open
      }
      return answer.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void anEventIdOfAnotherDeviceIs409AndStoresNothing() {
    UUID id = UUID.randomUUID();
    assertThat(
            server
                .api()
                .post("/api/v1/sync-events", withId(success("owner-dev", RECENT), id))
                .status())
        .isEqualTo(201);

    var stolen =
        server.api().post("/api/v1/sync-events", withId(failed("intruder-dev", RECENT), id));
    assertProblem(stolen, 409);
    assertThat(stolen.json().get("type").asText()).endsWith("/event-id-conflict");
    assertThat(stolen.json().get("errors").get(0).get("field").asText()).isEqualTo("event_id");
    assertThat(stolen.body()).doesNotContain("owner-dev");

    var inBatch =
        server
            .api()
            .post(
                "/api/v1/sync-events/batch",
                Map.of("events", List.of(withId(failed("intruder-dev", RECENT), id))));
    assertThat(inBatch.json().at("/results/0/outcome").asText()).isEqualTo("invalid");
    assertThat(inBatch.json().at("/results/0/errors/0/field").asText())
        .isEqualTo("events[0].event_id");

    assertThat(server.api().get("/api/v1/devices/intruder-dev").status()).isEqualTo(404);
    assertThat(server.api().get("/api/v1/devices/owner-dev").json().at("/totals/syncs").asInt())
        .isEqualTo(1);
    assertThat(server.api().get("/api/v1/stats").json().get("devices").asInt())
        .isEqualTo(server.api().allPages("/api/v1/devices").items().size());
  }

  @Test
  void headAndOptionsAreAnsweredWithoutErrors() {
    var get = server.api().get("/api/v1/devices?limit=1");
    var head = server.api().send("HEAD", "/api/v1/devices?limit=1", null, null);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.headers().get("content-length"))
        .containsExactly(Integer.toString(get.body().getBytes(StandardCharsets.UTF_8).length));
    assertThat(server.api().send("HEAD", "/api/v1/devices?limit=0", null, null).status())
        .isEqualTo(400);
    assertThat(server.anonymous().send("HEAD", "/api/v1/devices", null, null).status())
        .isEqualTo(401);
    assertProblem(server.api().send("OPTIONS", "/api/v1/devices", null, null), 405);
  }

  @Test
  void jsonErrorsDoNotNameTheParsersSettings() {
    String event =
        "{\"device_id\":\"nan-dev\",\"timestamp\":\""
            + RECENT
            + "\",\"total_files_synced\":1,"
            + "\"total_errors\":0,\"internet_speed\":%s}";
    for (String number : List.of("NaN", "1" + "0".repeat(2000))) {
      var r =
          server
              .api()
              .send("POST", "/api/v1/sync-events", event.formatted(number), "application/json");
      assertProblem(r, 400);
      assertThat(r.json().get("type").asText()).endsWith("/malformed-json");
      assertThat(r.json().get("detail").asText())
          .as(number.substring(0, 3))
          .doesNotContain("`", "Feature", "Constraints");
    }
  }

  @Test
  void hugeNumbersAndUnicodeAreHandled() {
    Map<String, Object> e = new LinkedHashMap<>(event("unicode-dev", RECENT, 1, 0));
    e.put("total_files_synced", new java.math.BigInteger("1" + "0".repeat(40)));
    assertProblem(server.api().post("/api/v1/sync-events", e), 400);
    e = new LinkedHashMap<>(event("unicode-dev", RECENT, 1, 0));
    e.put(
        "error_message",
        "Fehler: Zugriff verweigert \uD83D\uDE00 \u0928\u092E\u0938\u094D\u0924\u0947");
    var ok = server.api().post("/api/v1/sync-events", e);
    assertThat(ok.status()).isEqualTo(201);
    assertThat(ok.json().get("error_message").asText()).contains("\uD83D\uDE00");
    e.put("internet_speed", 1e308);
    assertProblem(server.api().post("/api/v1/sync-events", e), 400);
  }

  @Test
  void textWithTabsNewlinesAndBackslashesIsStoredExactly() {
    String message = "line one\nline\ttwo \\N not null\r\n\\ end";
    Map<String, Object> e = new LinkedHashMap<>(event("escape-dev", RECENT, 0, 1));
    e.put("error_message", message);
    e.put("app_version", "v\\1\t");
    assertThat(server.api().post("/api/v1/sync-events", e).status()).isEqualTo(201);
    Map<String, Object> b = new LinkedHashMap<>(event("escape-dev", RECENT.plusSeconds(1), 0, 1));
    b.put("error_message", message);
    server.api().post("/api/v1/sync-events/batch", Map.of("events", List.of(b)));

    var items = server.api().get("/api/v1/devices/escape-dev/sync-events").json().get("items");
    assertThat(items).hasSize(2);
    assertThat(items).allMatch(i -> i.get("error_message").asText().equals(message));
    assertThat(items.get(1).get("app_version").asText()).isEqualTo("v\\1\t");
    assertThat(items.get(0).get("app_version").isNull()).isTrue();
  }

  @Test
  void anEmptyMessageStaysEmptyAndAnUnpairedSurrogateIsRefused() {
    Map<String, Object> e = new LinkedHashMap<>(event("empty-dev", RECENT, 0, 1));
    e.put("error_message", "");
    var stored = server.api().post("/api/v1/sync-events", e);
    assertThat(stored.status()).isEqualTo(201);
    var item = server.api().get("/api/v1/devices/empty-dev/sync-events").json().at("/items/0");
    assertThat(item.get("error_message").isTextual()).isTrue();
    assertThat(item.get("error_message").asText()).isEmpty();

    String lone =
        Api.json(event("surrogate-dev", RECENT, 0, 1))
            .replace("}", ",\"app_version\":\"v\\ud800\"}");
    var refused = server.api().post("/api/v1/sync-events", lone);
    assertProblem(refused, 400);
    assertThat(refused.json().at("/errors/0/field").asText()).isEqualTo("app_version");
  }
}
