package io.pisync.auth;

import io.javalin.http.Context;

/** Who is calling: a device with its key, or a signed-in person. Set before every handler. */
public sealed interface Principal {
  String ATTRIBUTE = "pisync.principal";

  /** A device that presented its own key. */
  record Device(String deviceId) implements Principal {}

  /** A person with a valid access token and their current role. */
  record Person(String username, Role role) implements Principal {}

  /** Nobody authenticated (public routes only). */
  record Anonymous() implements Principal {}

  static Principal of(Context ctx) {
    Principal principal = ctx.attribute(ATTRIBUTE);
    return principal == null ? new Anonymous() : principal;
  }
}
