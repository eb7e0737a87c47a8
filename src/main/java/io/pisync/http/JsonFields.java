package io.pisync.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the fields of a small JSON object, collecting every problem for one 400. Unknown fields are
 * refused, so a misspelt field is never ignored silently. Secret fields are never echoed.
 */
public final class JsonFields {
  private static final String HIDDEN = "(not shown)";
  private final JsonNode body;
  private final List<FieldError> errors = new ArrayList<>();

  public JsonFields(JsonNode body, Set<String> allowed) {
    this.body = body;
    if (!body.isObject()) {
      errors.add(new FieldError("(body)", body.getNodeType().name(), "must be a JSON object"));
      return;
    }
    body.fieldNames()
        .forEachRemaining(name -> {
          if (!allowed.contains(name)) {
            errors.add(new FieldError(name, HIDDEN, "unknown field; known: " + allowed));
          }
        });
  }

  /** A text field; null when absent and optional. */
  public String text(String name, boolean required) {
    return text(name, required, false);
  }

  /** A text field whose value must never appear in an answer or a log (passwords, tokens). */
  public String secret(String name) {
    return text(name, true, true);
  }

  /** An optional secret field; null when absent. */
  public String optionalSecret(String name) {
    return text(name, false, true);
  }

  private String text(String name, boolean required, boolean secret) {
    JsonNode value = body.path(name);
    if (value.isMissingNode() || value.isNull()) {
      if (required) errors.add(new FieldError(name, null, "is required"));
      return null;
    }
    if (!value.isTextual()) {
      errors.add(
          new FieldError(name, secret ? HIDDEN : FieldError.shorten(value), "must be a string"));
      return null;
    }
    if (Unicode.hasUnpairedSurrogate(value.textValue())) {
      // stored or hashed, it would become '?': a password "pass\ud800" would match "pass\udfff"
      errors.add(new FieldError(name, secret ? HIDDEN : FieldError.shorten(value), UNPAIRED));
      return null;
    }
    return value.textValue();
  }

  private static final String UNPAIRED =
      "must be valid Unicode (it has an unpaired surrogate escape)";

  /** An optional object of string values (labels); empty when absent. */
  public Map<String, String> stringMap(String name) {
    JsonNode value = body.path(name);
    var map = new LinkedHashMap<String, String>();
    if (value.isMissingNode() || value.isNull()) return map;
    if (!value.isObject()) {
      errors.add(new FieldError(name, FieldError.shorten(value), "must be an object of strings"));
      return map;
    }
    value
        .properties()
        .forEach(e -> {
          if (Unicode.hasUnpairedSurrogate(e.getKey())) {
            errors.add(new FieldError(name, e.getKey(), UNPAIRED));
          } else if (!e.getValue().isTextual()) {
            errors.add(
                new FieldError(
                    name + "." + e.getKey(), FieldError.shorten(e.getValue()), "must be a string"));
          } else if (Unicode.hasUnpairedSurrogate(e.getValue().textValue())) {
            errors.add(
                new FieldError(
                    name + "." + e.getKey(), FieldError.shorten(e.getValue()), UNPAIRED));
          } else {
            map.put(e.getKey(), e.getValue().textValue());
          }
        });
    return map;
  }

  /**
   * Adds the problems found in the values read, except for fields already reported (a field that
   * was not a string is read as absent and would be reported twice).
   */
  public void add(List<FieldError> more) {
    Set<String> reported = new HashSet<>();
    errors.forEach(e -> reported.add(e.field()));
    more.stream().filter(e -> !reported.contains(e.field())).forEach(errors::add);
  }

  /** Throws a 400 listing every problem found so far. */
  public void check() {
    if (!errors.isEmpty()) throw ApiProblem.invalid(errors);
  }
}
