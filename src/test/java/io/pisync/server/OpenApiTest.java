package io.pisync.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.http.Routes;
import io.pisync.support.Api;
import io.pisync.support.TestServer;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The API description and the documentation page, checked against the routes really served. */
class OpenApiTest {
  private static final Set<String> HTTP_METHODS =
      Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");

  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static JsonNode document() {
    Api.Response r = server.api().get("/openapi.json");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("application/json");
    return r.json();
  }

  @Test
  void isAnOpenApi31Document() {
    JsonNode doc = document();
    assertThat(doc.path("openapi").asText()).matches("3\\.1\\.\\d+");
    assertThat(doc.path("info").path("title").asText()).isNotBlank();
    assertThat(doc.path("info").path("version").asText()).isNotBlank();
    assertThat(doc.path("paths").isObject()).isTrue();
    assertThat(doc.path("components").path("schemas").has("Problem")).isTrue();
  }

  /** "METHOD /path" of every route the server registers, in OpenAPI path syntax. */
  private static Set<String> registered() {
    Set<String> out = new TreeSet<>();
    for (Routes.Route route : server.server().routes().all()) {
      out.add(route.method().name().toUpperCase(Locale.ROOT) + " " + openApiPath(route.path()));
    }
    return out;
  }

  /** Javalin's {@code {param}} is OpenAPI's syntax already; {@code <param>} becomes it too. */
  static String openApiPath(String javalinPath) {
    return javalinPath.replaceAll("<([^>/]+)>", "{$1}");
  }

  /** "METHOD /path" of every operation of the document. */
  private static Set<String> documented(JsonNode doc) {
    Set<String> out = new TreeSet<>();
    for (Iterator<String> paths = doc.path("paths").fieldNames(); paths.hasNext(); ) {
      String path = paths.next();
      for (Iterator<String> keys = doc.path("paths").path(path).fieldNames(); keys.hasNext(); ) {
        String key = keys.next();
        if (HTTP_METHODS.contains(key)) {
          out.add(key.toUpperCase(Locale.ROOT) + " " + path);
        }
      }
    }
    return out;
  }

  @Test
  void documentsEveryRegisteredRoute() {
    Set<String> undocumented = new TreeSet<>(registered());
    undocumented.removeAll(documented(document()));
    assertThat(undocumented).as("routes missing from openapi.json").isEmpty();
  }

  @Test
  void listsEveryProblemType() {
    JsonNode types = document().at("/components/schemas/Problem/properties/type/enum");
    Set<String> listed = new TreeSet<>();
    types.forEach(t -> listed.add(t.asText()));
    Set<String> missing = new TreeSet<>();
    for (var type : io.pisync.http.ProblemType.values()) {
      if (!listed.contains(type.uri())) missing.add(type.uri());
    }
    assertThat(missing).as("problem types missing from openapi.json").isEmpty();
  }

  @Test
  void documentsNoRouteTheServerDoesNotHave() {
    Set<String> unserved = new TreeSet<>(documented(document()));
    unserved.removeAll(registered());
    assertThat(unserved).as("operations in openapi.json that no route serves").isEmpty();
  }

  @Test
  void everyPathParameterIsDeclared() {
    JsonNode doc = document();
    Pattern template = Pattern.compile("\\{([^}]+)}");
    for (Iterator<String> paths = doc.path("paths").fieldNames(); paths.hasNext(); ) {
      String path = paths.next();
      for (Iterator<String> keys = doc.path("paths").path(path).fieldNames(); keys.hasNext(); ) {
        String method = keys.next();
        JsonNode operation = doc.path("paths").path(path).path(method);
        Set<String> declared = new TreeSet<>();
        for (JsonNode p : operation.path("parameters")) {
          JsonNode param = resolve(doc, p);
          if (param.path("in").asText().equals("path")) {
            declared.add(param.path("name").asText());
          }
        }
        Set<String> inTemplate = new TreeSet<>();
        Matcher m = template.matcher(path);
        while (m.find()) {
          inTemplate.add(m.group(1));
        }
        assertThat(declared).as(method + " " + path).isEqualTo(inTemplate);
        assertThat(operation.path("responses").size()).as(method + " " + path).isPositive();
      }
    }
  }

  private static JsonNode resolve(JsonNode doc, JsonNode node) {
    if (!node.has("$ref")) {
      return node;
    }
    return doc.at(node.get("$ref").asText().substring(1));
  }

  @Test
  void problemsAreDocumentedAsProblemJson() {
    JsonNode responses = document().path("components").path("responses");
    for (Iterator<String> names = responses.fieldNames(); names.hasNext(); ) {
      JsonNode response = responses.get(names.next());
      assertThat(response.path("content").has("application/problem+json")).isTrue();
    }
  }

  private static final Pattern REFERENCE =
      Pattern.compile("(?:src|href)\\s*=\\s*[\"']([^\"']+)[\"']", Pattern.CASE_INSENSITIVE);

  @Test
  void docsPageLoadsEveryAssetFromTheServer() {
    Api.Response page = server.api().get("/docs");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.contentType()).startsWith("text/html");
    assertThat(page.body()).contains("/openapi.json").contains("SwaggerUIBundle");

    Set<String> assets = new TreeSet<>();
    Matcher m = REFERENCE.matcher(page.body());
    while (m.find()) {
      if (m.group(1).startsWith("/docs/assets/")) {
        assets.add(m.group(1));
      }
    }
    assertThat(assets)
        .contains(
            "/docs/assets/swagger-ui.css",
            "/docs/assets/swagger-ui-bundle.js",
            "/docs/assets/swagger-ui-standalone-preset.js");
    for (String asset : assets) {
      Api.Response r = server.api().get(asset);
      assertThat(r.status()).as(asset).isEqualTo(200);
      assertThat(r.body()).as(asset).isNotEmpty();
      String expected =
          asset.endsWith(".css")
              ? "text/css"
              : asset.endsWith(".js") ? "text/javascript" : asset.endsWith(".png") ? "image/" : "";
      assertThat(r.contentType()).as(asset).startsWith(expected).doesNotContain("octet-stream");
    }
  }

  @Test
  void docsPageNeedsNoInternet() {
    String body = server.api().get("/docs").body();
    assertThat(body.toLowerCase(Locale.ROOT)).doesNotContain("http://").doesNotContain("https://");
    Matcher m = REFERENCE.matcher(body);
    while (m.find()) {
      assertThat(m.group(1)).as("reference in /docs").doesNotStartWith("//");
    }
  }

  @Test
  void unknownAssetIsAProblem() {
    Api.Response r = server.api().get("/docs/assets/no-such-file.js");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.contentType()).startsWith("application/problem+json");
  }
}
