package io.pisync.sync;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pisync.http.FieldError;
import io.pisync.http.Times;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Turns one JSON item of a push into a {@link Mutation}, or into every reason it is invalid. */
public final class MutationParser {
  /** Largest {@code data} object, as JSON text. Large files travel separately. */
  public static final int MAX_DATA_BYTES = 64 * 1024;

  private static final Set<String> FIELDS =
      Set.of(
          "mutation_id",
          "collection",
          "scope",
          "record_id",
          "op",
          "base_version",
          "data",
          "modified_at");

  /** The result: a mutation, or the errors and (when it was readable) the mutation id. */
  public sealed interface Parsed {
    record Valid(Mutation mutation) implements Parsed {}

    /** {@code digest} is present with the mutation id, so a replay is recognised too. */
    record Invalid(Optional<String> mutationId, Optional<String> digest, List<FieldError> errors)
        implements Parsed {}
  }

  private final ObjectMapper mapper;
  private final ObjectMapper canonical;

  public MutationParser(ObjectMapper mapper) {
    this.mapper = mapper;
    this.canonical = mapper.copy().configure(JsonNodeFeature.WRITE_PROPERTIES_SORTED, true);
  }

  /**
   * @param structural what reading the request found wrong inside this item (a duplicate key, too
   *     deep), or null
   */
  public Parsed parse(JsonNode item, FieldError structural) {
    if (!item.isObject()) {
      return new Parsed.Invalid(
          Optional.empty(),
          Optional.empty(),
          List.of(new FieldError("(mutation)", FieldError.shorten(item), "must be an object")));
    }
    List<FieldError> errors = new ArrayList<>();
    if (structural != null) errors.add(structural);
    item.fieldNames()
        .forEachRemaining(name -> {
          if (!FIELDS.contains(name)) errors.add(FieldError.unknown(name, item.get(name)));
        });
    String mutationId = id(item, "mutation_id", errors);
    String collection = collection(item, errors);
    String scope = id(item, "scope", errors);
    String recordId = id(item, "record_id", errors);
    Op op = op(item, errors);
    long baseVersion = baseVersion(item, errors);
    ObjectNode data = data(item, op, errors);
    Optional<Instant> modifiedAt = modifiedAt(item, errors);
    if (!errors.isEmpty()) {
      Optional<String> id = Optional.ofNullable(mutationId);
      return new Parsed.Invalid(id, id.map(x -> digest(item)), errors);
    }
    RecordKey key = new RecordKey(scope, collection, recordId);
    return new Parsed.Valid(
        new Mutation(mutationId, key, op, baseVersion, data, modifiedAt, digest(item)));
  }

  private static String text(JsonNode item, String field, List<FieldError> errors) {
    JsonNode node = item.get(field);
    if (node == null || node.isNull()) {
      errors.add(new FieldError(field, null, "is required"));
      return null;
    }
    if (!node.isTextual()) {
      errors.add(new FieldError(field, FieldError.shorten(node), "must be a string"));
      return null;
    }
    return node.textValue();
  }

  private static String id(JsonNode item, String field, List<FieldError> errors) {
    String value = text(item, field, errors);
    if (value != null && !SyncIds.isId(value)) {
      errors.add(new FieldError(field, value, SyncIds.ID_RULE));
      return null;
    }
    return value;
  }

  private static String collection(JsonNode item, List<FieldError> errors) {
    String value = text(item, "collection", errors);
    if (value != null && !SyncIds.isCollection(value)) {
      errors.add(new FieldError("collection", value, SyncIds.COLLECTION_RULE));
      return null;
    }
    return value;
  }

  private static Op op(JsonNode item, List<FieldError> errors) {
    String value = text(item, "op", errors);
    if (value == null) return null;
    return switch (value) {
      case "upsert" -> Op.UPSERT;
      case "delete" -> Op.DELETE;
      default -> {
        errors.add(new FieldError("op", value, "must be upsert or delete"));
        yield null;
      }
    };
  }

  private static long baseVersion(JsonNode item, List<FieldError> errors) {
    JsonNode node = item.get("base_version");
    if (node == null || node.isNull()) return 0;
    if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < 0) {
      errors.add(
          new FieldError(
              "base_version",
              FieldError.shorten(node),
              "must be a whole number >= 0 (0: never seen)"));
      return 0;
    }
    return node.longValue();
  }

  private ObjectNode data(JsonNode item, Op op, List<FieldError> errors) {
    JsonNode node = item.get("data");
    boolean absent = node == null || node.isNull();
    if (op == Op.DELETE) {
      if (!absent)
        errors.add(new FieldError("data", FieldError.shorten(node), "must be absent for delete"));
      return null;
    }
    if (absent) {
      if (op == Op.UPSERT) errors.add(new FieldError("data", null, "is required for upsert"));
      return null;
    }
    if (!node.isObject()) {
      errors.add(new FieldError("data", FieldError.shorten(node), "must be a JSON object"));
      return null;
    }
    String unstorable = unstorable(node, "data");
    if (unstorable != null) {
      errors.add(new FieldError("data", FieldError.shorten(node), unstorable));
      return null;
    }
    int size = utf8Length(node);
    if (size > MAX_DATA_BYTES) {
      errors.add(
          new FieldError(
              "data", size + " bytes", "must be at most " + MAX_DATA_BYTES + " bytes of JSON"));
      return null;
    }
    return (ObjectNode) node;
  }

  /** Largest decimal exponent kept in a number, far beyond any score or position. */
  private static final int MAX_EXPONENT = 1_000;

  /**
   * Why PostgreSQL's jsonb could not store this value as sent (NUL characters, unpaired UTF-16
   * surrogates, numbers beyond its range), or null when it can.
   */
  private static String unstorable(JsonNode node, String path) {
    if (node.isTextual()) return unstorableText(node.textValue(), path);
    if (node.isBigDecimal() || node.isBigInteger()) {
      java.math.BigDecimal value = node.decimalValue();
      if ((long) value.precision() - value.scale() > MAX_EXPONENT) {
        return path + " is a number larger than 1e" + MAX_EXPONENT;
      }
      // (a scale below -MAX_EXPONENT is caught above: precision is at least 1)
      if (value.scale() > MAX_EXPONENT) {
        return path
            + " is a number with digits beyond 1e-"
            + MAX_EXPONENT
            + " (too small or too precise)";
      }
    }
    for (var field : node.properties()) {
      String reason = unstorableText(field.getKey(), path + " (a key)");
      if (reason == null) reason = unstorable(field.getValue(), path + "." + field.getKey());
      if (reason != null) return reason;
    }
    for (int i = 0; node.isArray() && i < node.size(); i++) {
      String reason = unstorable(node.get(i), path + "[" + i + "]");
      if (reason != null) return reason;
    }
    return null;
  }

  private static String unstorableText(String text, String path) {
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (ch == 0) return path + " contains a NUL character (\\u0000)";
      if (Character.isHighSurrogate(ch)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(ch)) {
        return path + " contains an unpaired surrogate (not valid Unicode)";
      }
    }
    return null;
  }

  private int utf8Length(JsonNode node) {
    try {
      return mapper.writeValueAsBytes(node).length;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Optional<Instant> modifiedAt(JsonNode item, List<FieldError> errors) {
    JsonNode node = item.get("modified_at");
    if (node == null || node.isNull()) return Optional.empty();
    String rule = "must be an ISO-8601 time with offset, e.g. 2025-06-01T10:30:00Z";
    if (!node.isTextual()) {
      errors.add(new FieldError("modified_at", FieldError.shorten(node), rule));
      return Optional.empty();
    }
    try {
      Instant at = OffsetDateTime.parse(node.textValue()).toInstant();
      if (!Times.inRange(at)) {
        errors.add(new FieldError("modified_at", node.textValue(), "is out of range"));
        return Optional.empty();
      }
      return Optional.of(at.truncatedTo(ChronoUnit.MICROS));
    } catch (DateTimeParseException e) {
      errors.add(new FieldError("modified_at", node.textValue(), rule));
      return Optional.empty();
    }
  }

  /** SHA-256 of the item with its keys sorted: the same mutation always has the same digest. */
  private String digest(JsonNode item) {
    try {
      byte[] bytes = canonical.writeValueAsString(item).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
