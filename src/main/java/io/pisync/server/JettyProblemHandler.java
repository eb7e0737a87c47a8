package io.pisync.server;

import io.pisync.http.ProblemType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty answers some requests before they reach Javalin (a URI it cannot decode, headers or URL too
 * long, a bad Host). Its default error page is HTML; this one answers problem+json like the rest of
 * the API, without internals.
 */
final class JettyProblemHandler extends ErrorHandler {

  @Override
  protected void generateResponse(
      Request request, Response response, int code, String message, Throwable cause, Callback cb) {
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problems.CONTENT_TYPE);
    // Jetty drops the connection after a request it could not parse; saying so lets a keep-alive
    // client open a new one instead of sending its next request into a closed socket.
    response.getHeaders().put(HttpHeader.CONNECTION, "close");
    byte[] body = body(code, request.getHttpURI().getPath());
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    // A HEAD gets the header fields of the answer and never its body (RFC 9110 9.3.2).
    boolean head = HttpMethod.HEAD.is(request.getMethod());
    response.write(true, head ? BufferUtil.EMPTY_BUFFER : ByteBuffer.wrap(body), cb);
  }

  /** Every method gets the problem body, not only GET, POST and HEAD (Jetty's default). */
  @Override
  public boolean errorPageForMethod(String method) {
    return true;
  }

  @Override
  public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
    fields.put(new HttpField(HttpHeader.CONTENT_TYPE, Problems.CONTENT_TYPE));
    return ByteBuffer.wrap(body(status, null));
  }

  /** The problem type of a status the HTTP layer answers with. */
  static ProblemType typeOf(int status) {
    return switch (status) {
      case 400 -> ProblemType.BAD_REQUEST;
      case 404 -> ProblemType.NOT_FOUND;
      case 405 -> ProblemType.METHOD_NOT_ALLOWED;
      case 408 -> ProblemType.REQUEST_TIMEOUT;
      case 411 -> ProblemType.LENGTH_REQUIRED;
      case 413 -> ProblemType.PAYLOAD_TOO_LARGE;
      case 414 -> ProblemType.URI_TOO_LONG;
      case 415 -> ProblemType.UNSUPPORTED_MEDIA_TYPE;
      case 417 -> ProblemType.EXPECTATION_FAILED;
      case 426 -> ProblemType.UPGRADE_REQUIRED;
      case 431 -> ProblemType.HEADERS_TOO_LARGE;
      case 501 -> ProblemType.NOT_IMPLEMENTED;
      case 503 -> ProblemType.OVERLOADED;
      case 505 -> ProblemType.HTTP_VERSION_NOT_SUPPORTED;
      default -> status >= 500 ? ProblemType.INTERNAL : ProblemType.BAD_REQUEST;
    };
  }

  private static byte[] body(int status, String path) {
    ProblemType type = typeOf(status);
    String detail =
        switch (status) {
          case 400 -> "the request could not be parsed (bad URI, header or Host)";
          case 414 -> "the URI is too long";
          case 431 -> "the request headers are too large";
          default -> type.title();
        };
    String json =
        "{\"type\":\""
            + type.uri()
            + "\",\"title\":\""
            + type.title()
            + "\",\"status\":"
            + status
            + ",\"detail\":\""
            + detail
            + "\""
            + (path == null || path.equals("/badMessage")
                ? ""
                : ",\"instance\":\"" + escape(path) + "\"")
            + "}";
    return json.getBytes(StandardCharsets.UTF_8);
  }

  private static String escape(String text) {
    StringBuilder out = new StringBuilder();
    for (char ch : text.toCharArray()) {
      if (ch == '"' || ch == '\\') {
        out.append('\\').append(ch);
      } else if (ch < 0x20) {
        out.append(String.format("\\u%04x", (int) ch));
      } else {
        out.append(ch);
      }
    }
    return out.toString();
  }
}
