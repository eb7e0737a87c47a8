package io.pisync.http;

/** The stable catalogue of API errors. A type's URI never changes once published. */
public enum ProblemType {
  VALIDATION(400, "validation", "The request has invalid fields"),
  BAD_REQUEST(400, "bad-request", "The HTTP request could not be parsed"),
  MALFORMED_JSON(400, "malformed-json", "The request body is not valid JSON"),
  REQUEST_TIMEOUT(408, "request-timeout", "The request did not arrive in time"),
  LENGTH_REQUIRED(411, "length-required", "The request needs a Content-Length"),
  EXPECTATION_FAILED(417, "expectation-failed", "The Expect header cannot be met"),
  UPGRADE_REQUIRED(426, "upgrade-required", "Another protocol is required"),
  NOT_IMPLEMENTED(501, "not-implemented", "The server does not support this request"),
  HTTP_VERSION_NOT_SUPPORTED(
      505, "http-version-not-supported", "This HTTP version is not supported"),
  BAD_CURSOR(400, "bad-cursor", "The cursor is not one this server issued"),
  UNAUTHENTICATED(401, "unauthenticated", "Credentials are missing, wrong, expired or revoked"),
  FORBIDDEN(403, "forbidden", "These credentials may not do this"),
  NOT_FOUND(404, "not-found", "No such resource"),
  DEVICE_NOT_FOUND(404, "device-not-found", "No such device"),
  METHOD_NOT_ALLOWED(405, "method-not-allowed", "This method is not allowed on this resource"),
  NOT_ACCEPTABLE(406, "not-acceptable", "No acceptable representation"),
  EVENT_ID_CONFLICT(409, "event-id-conflict", "The event_id belongs to another device's event"),
  ALREADY_EXISTS(409, "already-exists", "A resource with this name already exists"),
  LAST_ADMIN(409, "last-admin", "The last admin account cannot be removed or demoted"),
  ENROLMENT_OFF(403, "enrolment-off", "Self-enrolment is switched off on this server"),
  COLLECTION_POLICY_CONFLICT(
      409, "collection-policy-conflict", "The collection already has records under another policy"),
  RESYNC_REQUIRED(
      410, "resync-required", "The cursor can no longer be followed; resync from scratch"),
  PAYLOAD_TOO_LARGE(413, "payload-too-large", "The request body is too large"),
  URI_TOO_LONG(414, "uri-too-long", "The URI is too long"),
  UNSUPPORTED_MEDIA_TYPE(415, "unsupported-media-type", "The request body must be JSON"),
  UNSUPPORTED_CONTENT_ENCODING(
      415, "unsupported-content-encoding", "The request body's Content-Encoding is not supported"),
  RATE_LIMITED(429, "rate-limited", "Too many requests; retry later"),
  LOGIN_LOCKED(429, "login-locked", "Too many failed sign-ins; retry later"),
  HEADERS_TOO_LARGE(431, "headers-too-large", "The request headers are too large"),
  OVERLOADED(503, "overloaded", "The server is busy; retry later"),
  DATABASE_UNAVAILABLE(503, "database-unavailable", "The database is unavailable; retry later"),
  INTERNAL(500, "internal", "Unexpected server error");

  private static final String BASE = "https://pisync.dev/problems/";

  private final int status;
  private final String slug;
  private final String title;

  ProblemType(int status, String slug, String title) {
    this.status = status;
    this.slug = slug;
    this.title = title;
  }

  public int status() {
    return status;
  }

  public String uri() {
    return BASE + slug;
  }

  public String title() {
    return title;
  }
}
