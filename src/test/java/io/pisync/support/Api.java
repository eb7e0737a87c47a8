package io.pisync.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A small HTTP client for tests: JSON in, status + headers + parsed JSON out. */
public final class Api {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String base;
  private final java.util.function.Function<String, String> authorization;

  public Api(String base) {
    this(base, body -> null);
  }

  private Api(String base, java.util.function.Function<String, String> authorization) {
    this.base = base;
    this.authorization = authorization;
  }

  /** The same server, sending {@code Authorization: Bearer <token>} (a device key or a JWT). */
  public Api withBearer(String token) {
    return new Api(base, body -> "Bearer " + token);
  }

  /** The same server, with a bearer token chosen from each request's body (null: none). */
  public Api withBearerFor(java.util.function.Function<String, String> tokenForBody) {
    return new Api(
        base,
        body -> {
          String token = tokenForBody.apply(body);
          return token == null ? null : "Bearer " + token;
        });
  }

  /** The same server, without credentials. */
  public Api anonymous() {
    return new Api(base);
  }

  public String base() {
    return base;
  }

  /** A response; {@code json} is null when the body is not JSON. */
  public record Response(int status, Map<String, java.util.List<String>> headers, String body) {
    public JsonNode json() {
      try {
        return MAPPER.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (status " + status + "): " + body, e);
      }
    }

    public String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().getFirst())
          .findFirst()
          .orElse(null);
    }

    public String contentType() {
      return header("Content-Type");
    }
  }

  public Response get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  public Response delete(String path) {
    return send("DELETE", path, null, null);
  }

  public Response patch(String path, Object body) {
    return send("PATCH", path, json(body), "application/json");
  }

  public Response put(String path, Object body) {
    return send("PUT", path, body == null ? null : json(body), "application/json");
  }

  /**
   * Opens a server-sent event stream: returns once the response headers arrived; events are read in
   * the background until {@link EventStream#close()}.
   */
  public EventStream stream(String path) {
    var builder = HttpRequest.newBuilder(uri(path)).GET().header("Accept", "text/event-stream");
    String credentials = authorization.apply(null);
    if (credentials != null) builder.header("Authorization", credentials);
    try {
      HttpResponse<java.io.InputStream> r =
          CLIENT.send(builder.build(), HttpResponse.BodyHandlers.ofInputStream());
      return new EventStream(r.statusCode(), r.headers().map(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public Response post(String path, String json) {
    return send("POST", path, json, "application/json");
  }

  public Response post(String path, Object body) {
    try {
      return post(path, MAPPER.writeValueAsString(body));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Any method, body and content type (null content type: header left out). */
  public Response send(String method, String path, String body, String contentType) {
    var builder =
        HttpRequest.newBuilder(uri(path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      builder.header("Content-Type", contentType);
    }
    return send(builder, body);
  }

  public Response send(HttpRequest.Builder builder) {
    return send(builder, null);
  }

  private Response send(HttpRequest.Builder builder, String body) {
    String credentials = authorization.apply(body);
    if (credentials != null && builder.build().headers().firstValue("Authorization").isEmpty()) {
      builder.header("Authorization", credentials);
    }
    try {
      HttpResponse<String> r =
          CLIENT.send(
              builder.timeout(Duration.ofSeconds(60)).build(),
              HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.headers().map(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Every item of a cursor-paginated list, and how many pages it took. */
  public record Pages(java.util.List<JsonNode> items, int count) {}

  /** Follows {@code next_cursor} from the first page to the last (at most 1,000 pages). */
  public Pages allPages(String path) {
    var items = new java.util.ArrayList<JsonNode>();
    String cursor = null;
    int pages = 0;
    do {
      String sep = path.contains("?") ? "&" : "?";
      Response r = get(path + (cursor == null ? "" : sep + "cursor=" + cursor));
      if (r.status() != 200) {
        throw new AssertionError(
            "page " + pages + " of " + path + ": " + r.status() + " " + r.body());
      }
      JsonNode page = r.json();
      page.get("items").forEach(items::add);
      cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
      pages++;
    } while (cursor != null && pages < 1000);
    return new Pages(items, pages);
  }

  public URI uri(String path) {
    return URI.create(base + path);
  }

  public static String json(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
