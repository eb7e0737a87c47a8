package io.pisync.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import java.io.IOException;
import java.util.Locale;

/** Reads a request body as JSON: 415 unless it is declared JSON, 400 when it does not parse. */
public final class JsonBody {
  /** The request attribute holding the body size limit, set before every handler. */
  public static final String MAX_BODY_BYTES = "maxBodyBytes";

  private static final String BODY = "pisync.body";

  private JsonBody() {}

  public static JsonNode read(Context ctx, ObjectMapper mapper) {
    requireJsonContentType(ctx);
    byte[] body = bytes(ctx);
    if (body.length == 0) {
      throw new ApiProblem(ProblemType.MALFORMED_JSON, "the request body is empty");
    }
    try {
      JsonNode node = mapper.readTree(body);
      if (node == null || node.isMissingNode()) {
        throw new ApiProblem(ProblemType.MALFORMED_JSON, "the request body is empty");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new ApiProblem(
          ProblemType.MALFORMED_JSON,
          "the request body is not valid JSON: " + shortMessage(e) + location(e));
    } catch (IOException e) {
      throw new ApiProblem(ProblemType.MALFORMED_JSON, "the request body could not be read");
    }
  }

  /**
   * The request body, read once per request. A body of declared length within the limit is read
   * into an array of exactly that length: Javalin's own reading allocates an 8 KiB buffer and
   * copies, per request. Bodies of unknown length, or over the limit, are left to Javalin (413).
   */
  public static byte[] bytes(Context ctx) {
    byte[] body = ctx.attribute(BODY);
    if (body == null) {
      body = readBody(ctx);
      ctx.attribute(BODY, body);
    }
    return body;
  }

  private static byte[] readBody(Context ctx) {
    long length = ctx.req().getContentLengthLong();
    Long max = ctx.attribute(MAX_BODY_BYTES);
    if (length < 0 || max == null || length > max) {
      return ctx.bodyAsBytes();
    }
    try {
      return ctx.req().getInputStream().readNBytes((int) length);
    } catch (IOException e) {
      throw new ApiProblem(ProblemType.MALFORMED_JSON, "the request body could not be read");
    }
  }

  private static String shortMessage(JsonProcessingException e) {
    String message = String.valueOf(e.getOriginalMessage());
    int noise = message.indexOf(" (start marker");
    message = noise > 0 ? message.substring(0, noise) : message;
    int newline = message.indexOf('\n');
    return newline > 0 ? message.substring(0, newline) : message;
  }

  private static String location(JsonProcessingException e) {
    if (e.getLocation() == null) {
      return "";
    }
    return " (line "
        + e.getLocation().getLineNr()
        + ", column "
        + e.getLocation().getColumnNr()
        + ")";
  }

  static void requireJsonContentType(Context ctx) {
    String type = ctx.contentType();
    String base = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    boolean json = base.equals("application/json") || base.endsWith("+json");
    if (!json) {
      throw new ApiProblem(
          ProblemType.UNSUPPORTED_MEDIA_TYPE,
          "Content-Type must be application/json (got "
              + (type == null ? "none" : "'" + type + "'")
              + ")");
    }
  }
}
