package io.pisync.server;

import io.javalin.http.Context;

/** Headers that keep browsers from sniffing, framing or leaking what PiSync serves. */
final class SecurityHeaders {
  private SecurityHeaders() {}

  static void apply(Context ctx) {
    ctx.header("X-Content-Type-Options", "nosniff");
    ctx.header("X-Frame-Options", "DENY");
    ctx.header("Referrer-Policy", "no-referrer");
    ctx.header("Cache-Control", "no-store");
  }
}
