package io.pisync.http;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An RFC 9457 problem to send to the client. Handlers throw it to stop with a 4xx/5xx; the server
 * renders it as {@code application/problem+json}.
 */
public final class ApiProblem extends RuntimeException {
  private final ProblemType type;
  private final String detail;
  private final List<FieldError> errors;
  private final Map<String, String> headers;
  private final Map<String, Object> members;

  public ApiProblem(
      ProblemType type, String detail, List<FieldError> errors, Map<String, String> headers) {
    this(type, detail, errors, headers, Map.of());
  }

  private ApiProblem(
      ProblemType type,
      String detail,
      List<FieldError> errors,
      Map<String, String> headers,
      Map<String, Object> members) {
    super(detail, null, false, false);
    this.type = Objects.requireNonNull(type);
    this.detail = Objects.requireNonNull(detail);
    this.errors = List.copyOf(errors);
    this.headers = Map.copyOf(headers);
    this.members = Map.copyOf(members);
  }

  /** The same problem with an extension member (RFC 9457 section 3.2), e.g. for old clients. */
  public ApiProblem withMember(String name, Object value) {
    var more = new LinkedHashMap<>(members);
    more.put(name, value);
    return new ApiProblem(type, detail, errors, headers, more);
  }

  /** The same problem with a response header (e.g. {@code Allow} on a 405). */
  public ApiProblem withHeader(String name, String value) {
    var more = new LinkedHashMap<>(headers);
    more.put(name, value);
    return new ApiProblem(type, detail, errors, more, members);
  }

  public ApiProblem(ProblemType type, String detail) {
    this(type, detail, List.of(), Map.of());
  }

  public static ApiProblem invalid(List<FieldError> errors) {
    String detail =
        errors.size() == 1
            ? errors.getFirst().field() + ": " + errors.getFirst().message()
            : errors.size() + " fields are invalid";
    return new ApiProblem(ProblemType.VALIDATION, detail, errors, Map.of());
  }

  public static ApiProblem invalid(String field, Object value, String message) {
    return invalid(List.of(new FieldError(field, value, message)));
  }

  public static ApiProblem retryLater(ProblemType type, String detail, int retryAfterSeconds) {
    return new ApiProblem(
        type, detail, List.of(), Map.of("Retry-After", Integer.toString(retryAfterSeconds)));
  }

  public ProblemType type() {
    return type;
  }

  public String detail() {
    return detail;
  }

  public List<FieldError> errors() {
    return errors;
  }

  public Map<String, String> headers() {
    return headers;
  }

  public Map<String, Object> members() {
    return members;
  }
}
