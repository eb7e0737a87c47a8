package io.pisync.server;

import io.javalin.http.Context;
import java.util.regex.Pattern;

/** The request id: the client's {@code X-Request-Id} when it is sane, else a new one. */
final class RequestIds {
  static final String HEADER = "X-Request-Id";
  private static final String ATTRIBUTE = "pisync.requestId";
  private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private RequestIds() {}

  static void assign(Context ctx) {
    String given = ctx.header(HEADER);
    String id = given != null && SANE.matcher(given).matches() ? given : newId();
    ctx.attribute(ATTRIBUTE, id);
    ctx.header(HEADER, id);
  }

  /** 128 random bits as hex: unique enough to find a request in logs, and cheap to make. */
  private static String newId() {
    var random = java.util.concurrent.ThreadLocalRandom.current();
    return java.util.HexFormat.of().toHexDigits(random.nextLong())
        + java.util.HexFormat.of().toHexDigits(random.nextLong());
  }

  static String of(Context ctx) {
    String id = ctx.attribute(ATTRIBUTE);
    return id == null ? "" : id;
  }
}
