package io.pisync.auth;

/** Who may call a route. Every route declares one; the server checks it before the handler. */
public enum Access {
  /** Anyone, without credentials and without rate limits: health probes. */
  PROBE,
  /** Anyone, without credentials (docs, login); rate-limited per client address. */
  PUBLIC,
  /** A device with its own key. Handlers restrict it to its own data with {@link Principal}. */
  DEVICE,
  /** A device (as itself) or any signed-in person. */
  DEVICE_OR_VIEWER,
  /** A device (as itself) or a signed-in admin (imports and backfills for any device). */
  DEVICE_OR_ADMIN,
  /** Public, unless a metrics token is configured; then that token is required. */
  METRICS,
  /** A signed-in person with at least the viewer role. */
  VIEWER,
  /** A signed-in person with at least the operator role. */
  OPERATOR,
  /** A signed-in admin. */
  ADMIN
}
