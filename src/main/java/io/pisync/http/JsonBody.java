package io.pisync.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/** Reads a request body as JSON: 415 unless it is declared JSON, 400 when it does not parse. */
public final class JsonBody {
  /** The request attribute holding the body size limit, set before every handler. */
  public static final String MAX_BODY_BYTES = "maxBodyBytes";

  private static final String BODY = "pisync.body";
  private static final String RAW_BODY = "pisync.body.raw";

  /**
   * The request attribute holding the most a gzip body may decompress to, when it is below the body
   * limit: routes anyone may call (sign-in, enrolment) take small bodies, and a 2 KiB request
   * should not make the server hold a megabyte.
   */
  public static final String MAX_INFLATED_BYTES = "maxInflatedBytes";

  private JsonBody() {}

  public static JsonNode read(Context ctx, ObjectMapper mapper) {
    requireJsonContentType(ctx);
    byte[] body = bytes(ctx);
    if (body.length == 0) {
      throw new ApiProblem(ProblemType.MALFORMED_JSON, "the request body is empty");
    }
    int firstNonAscii = firstNonAscii(body);
    if (firstNonAscii < body.length) {
      // an ASCII body reads the same in any charset a client may declare; others must be UTF-8
      requireUtf8Declared(ctx);
      requireUtf8(body, firstNonAscii);
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
   * The request body, read once per request (a route that reads it twice gets the same bytes, or
   * the same refusal). A body of declared length within the limit is read with {@code readNBytes}
   * (no 8 KiB buffer and growing copy per request, as Javalin's own reading does); one declared
   * over the limit is refused at once (413); bodies of unknown length are left to Javalin.
   */
  public static byte[] bytes(Context ctx) {
    byte[] raw = ctx.attribute(RAW_BODY);
    if (raw == null) {
      raw = readBody(ctx);
      ctx.attribute(RAW_BODY, raw);
    }
    byte[] body = ctx.attribute(BODY);
    if (body == null) {
      body = decode(ctx, raw);
      ctx.attribute(BODY, body);
    }
    return body;
  }

  /**
   * A body sent with {@code Content-Encoding: gzip} (a backlog over a slow link shrinks about
   * tenfold) is decompressed; the limit applies to what it decompresses to, so a small bomb cannot
   * fill the memory.
   */
  private static byte[] decode(Context ctx, byte[] raw) {
    String encoding = ctx.header("Content-Encoding");
    String coding = encoding == null ? "" : encoding.strip().toLowerCase(Locale.ROOT);
    if (coding.isEmpty() || coding.equals("identity") || raw.length == 0 || looksLikeJson(raw)) {
      // Plain JSON under a compression label (some device HTTP stacks send "Content-Encoding:
      // utf-8"): before gzip was supported the header was ignored, so such devices still work.
      return raw;
    }
    if (!coding.equals("gzip") && !coding.equals("x-gzip")) {
      ctx.header("Accept-Encoding", "gzip");
      throw new ApiProblem(
          ProblemType.UNSUPPORTED_CONTENT_ENCODING,
          "Content-Encoding '"
              + FieldError.shorten(encoding)
              + "' is not supported: send the body uncompressed or gzip-compressed");
    }
    long max = maxBodyBytes(ctx);
    Long inflated = ctx.attribute(MAX_INFLATED_BYTES);
    if (inflated != null && inflated < max) max = inflated;
    try (var in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
      byte[] body = in.readNBytes((int) Math.min(max + 1, Integer.MAX_VALUE - 8));
      if (body.length > max) {
        throw new ApiProblem(
                ProblemType.PAYLOAD_TOO_LARGE,
                "the body decompresses to more than " + max + " bytes, the most this route takes")
            .withMember("max_bytes", max);
      }
      return body;
    } catch (EOFException e) {
      throw undecompressable("it ends before the compressed data does (cut short?)");
    } catch (IOException e) {
      throw undecompressable("it is not a valid gzip stream");
    }
  }

  /** Not a JSON problem: the bytes never got as far as the parser. */
  private static ApiProblem undecompressable(String why) {
    return new ApiProblem(
        ProblemType.BAD_REQUEST,
        "the body is declared gzip-compressed (Content-Encoding) but could not be decompressed: "
            + why);
  }

  /**
   * Jackson decodes some malformed UTF-8 without complaint: overlong forms such as {@code C0 AD}
   * become {@code -}, so {@code dev\xC0\xAD1} would be stored as {@code dev-1}. JSON is UTF-8 (RFC
   * 8259); anything else is refused before parsing. Bodies are ASCII up to their first non-ASCII
   * byte, checked byte by byte; the rest, if any, by the JDK's strict decoder.
   */
  private static int firstNonAscii(byte[] body) {
    int first = 0;
    while (first < body.length && body[first] >= 0) first++;
    return first;
  }

  private static void requireUtf8(byte[] body, int first) {
    // newDecoder() reports malformed input (overlong forms, encoded surrogates, stray bytes)
    ByteBuffer in = ByteBuffer.wrap(body, first, body.length - first);
    CoderResult result =
        StandardCharsets.UTF_8
            .newDecoder()
            .decode(in, CharBuffer.allocate(body.length - first), true);
    if (result.isError()) {
      throw new ApiProblem(
          ProblemType.MALFORMED_JSON,
          "the request body is not valid UTF-8 (at byte " + in.position() + ")");
    }
  }

  /** A gzip stream starts with 0x1f 0x8b, never with the first character of a JSON document. */
  private static boolean looksLikeJson(byte[] raw) {
    for (byte b : raw) {
      if (b == ' ' || b == '\t' || b == '\r' || b == '\n') continue;
      return b == '{' || b == '[';
    }
    return false;
  }

  private static long maxBodyBytes(Context ctx) {
    Long max = ctx.attribute(MAX_BODY_BYTES);
    return max == null ? DEFAULT_MAX_BODY_BYTES : max;
  }

  private static final long DEFAULT_MAX_BODY_BYTES = 1_048_576;

  private static byte[] readBody(Context ctx) {
    long length = ctx.req().getContentLengthLong();
    Long max = ctx.attribute(MAX_BODY_BYTES);
    if (max != null && length > max) {
      // refused on the declared length, before waiting for a body it would refuse anyway
      throw new ApiProblem(
              ProblemType.PAYLOAD_TOO_LARGE,
              "the request body is larger than " + max + " bytes (Content-Length " + length + ")")
          .withMember("max_bytes", max);
    }
    if (length < 0 || max == null) {
      return ctx.bodyAsBytes();
    }
    try {
      return ctx.req().getInputStream().readNBytes((int) length);
    } catch (IOException e) {
      throw unreadable(e);
    }
  }

  /** A body that stopped arriving (408) or ended before its declared length (400). */
  private static ApiProblem unreadable(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.util.concurrent.TimeoutException) {
        return new ApiProblem(
            ProblemType.REQUEST_TIMEOUT, "the request body stopped arriving before its end");
      }
    }
    return new ApiProblem(
        ProblemType.BAD_REQUEST, "the request body ended before its Content-Length");
  }

  private static String shortMessage(JsonProcessingException e) {
    String message = String.valueOf(e.getOriginalMessage());
    int noise = message.indexOf(" (start marker");
    message = noise > 0 ? message.substring(0, noise) : message;
    int newline = message.indexOf('\n');
    message = newline > 0 ? message.substring(0, newline) : message;
    // Jackson names its own settings ("enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to
    // allow", "from `StreamReadConstraints.getMaxNumberLength()`"): nothing a client can change
    return message.replaceAll(": enable `[^`]*` to allow", "").replaceAll(", from `[^`]*`", "");
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
    String type = ctx.header("Content-Type"); // raw: Jetty throws on an unknown charset
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

  /** A body with non-ASCII bytes declared in a charset other than UTF-8 is refused (415). */
  private static void requireUtf8Declared(Context ctx) {
    String charset = charset(ctx.header("Content-Type"));
    if (charset == null || isUtf8(charset)) return;
    throw new ApiProblem(
        ProblemType.UNSUPPORTED_MEDIA_TYPE,
        "JSON bodies are UTF-8 (RFC 8259); a body in charset '"
            + FieldError.shorten(charset)
            + "' is not supported");
  }

  /** UTF-8 under any of its names ({@code utf8}, {@code UTF-8}...). */
  private static boolean isUtf8(String charset) {
    try {
      return Charset.forName(charset).equals(StandardCharsets.UTF_8);
    } catch (IllegalArgumentException unknownOrIllegalName) {
      return false;
    }
  }

  /** The charset parameter of a media type, lower case without quotes; null when absent. */
  private static String charset(String type) {
    if (type == null) return null;
    for (String parameter : type.split(";")) {
      int eq = parameter.indexOf('=');
      if (eq > 0 && parameter.substring(0, eq).strip().equalsIgnoreCase("charset")) {
        String value = parameter.substring(eq + 1).strip();
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
          value = value.substring(1, value.length() - 1);
        }
        return value.toLowerCase(Locale.ROOT);
      }
    }
    return null;
  }
}
