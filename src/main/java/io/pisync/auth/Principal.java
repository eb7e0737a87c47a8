package io.pisync.auth;

import io.javalin.http.Context;
import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;

/** Who is calling: a device with its key, or a signed-in person. Set before every handler. */
public sealed interface Principal {
  String ATTRIBUTE = "pisync.principal";

  /** A device that presented its own key. */
  record Device(String deviceId) implements Principal {}

  /** A person with a valid access token and their current role. */
  record Person(String username, Role role) implements Principal {}

  /** Nobody authenticated (public routes only). */
  record Anonymous() implements Principal {}

  /**
   * Stops a device acting for another one: 403 when the caller is a device other than {@code
   * deviceId}. People pass (their role was checked before the handler).
   */
  static void requireSelf(Context ctx, String deviceId) {
    if (of(ctx) instanceof Device device && !device.deviceId().equals(deviceId)) {
      throw new ApiProblem(
          ProblemType.FORBIDDEN,
          "the key of device '"
              + device.deviceId()
              + "' may not act for device '"
              + deviceId
              + "'");
    }
  }

  static Principal of(Context ctx) {
    Principal principal = ctx.attribute(ATTRIBUTE);
    return principal == null ? new Anonymous() : principal;
  }
}
