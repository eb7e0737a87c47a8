package io.pisync.sync;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pisync.http.FieldError;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The conflict policies: given a mutation and the record's current state, what to store. Pure
 * logic; the caller holds the record's lock and stores the outcome.
 *
 * <p>A mutation <em>follows</em> the current version when the device had seen it ({@code
 * base_version == version}) or wrote it itself (a device's mutations arrive in the order it made
 * them). Only mutations that do not follow the current version are concurrent edits, which the
 * policies settle. A {@code base_version} above the record's version names a version that never
 * existed: the mutation is rejected, never taken for one that follows.
 */
final class Policies {
  static final String SUPERSEDED = "superseded";
  static final String STALE_VERSION = "stale_version";
  static final String SUBMITTED = "submitted";
  static final String STALE_DELETE = "stale_delete";

  /** A version that lost, kept in the conflict history. {@code version} is null if never stored. */
  record Loser(
      Long version,
      String device,
      String mutationId,
      boolean deleted,
      String data,
      Instant modifiedAt,
      String reason) {}

  /** What to do with one mutation. */
  sealed interface Decision {
    /** Store {@code next}; {@code displaced} is a concurrent version it replaces. */
    record Apply(StoredRecord next, Optional<Loser> displaced) implements Decision {}

    /** Keep the current version; the mutation lost and is kept as {@code loser}. */
    record Refuse(String reason, String detail, Loser loser) implements Decision {}

    /** Refuse the mutation itself (invalid for its collection, nothing to delete...). */
    record Reject(String reason, String detail, List<FieldError> errors) implements Decision {}
  }

  private final ObjectMapper mapper;

  Policies(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /**
   * @param current the record now, or null when it does not exist
   * @param baseTime the effective time of the version the mutation edits ({@code base_version}),
   *     when the server knows it
   * @param receivedAt when the server received the push (microsecond precision)
   */
  Decision decide(
      Policy policy,
      Mutation m,
      String device,
      StoredRecord current,
      Optional<Instant> baseTime,
      Instant receivedAt) {
    if (current != null && m.baseVersion() > current.version()) return baseAhead(m, current);
    Edit edit = new Edit(m, device, current, effectiveTime(m, baseTime, receivedAt), receivedAt);
    return switch (policy) {
      case MERGE -> merge(edit);
      case LAST_WRITER_WINS -> lastWriterWins(edit);
      case LOCKED_AFTER_SUBMIT -> lockedAfterSubmit(edit);
      case APPEND_ONLY -> appendOnly(edit);
    };
  }

  /**
   * The edit's time, as a hybrid logical clock: the device's clock, never later than the server
   * received it (clocks ahead gain nothing), and at least a microsecond after the version it edits
   * (it was made after the device saw that version, whatever a slow clock says).
   */
  static Instant effectiveTime(Mutation m, Optional<Instant> baseTime, Instant receivedAt) {
    Instant at = m.modifiedAt().filter(t -> t.isBefore(receivedAt)).orElse(receivedAt);
    Optional<Instant> floor = baseTime.map(t -> t.plus(1, ChronoUnit.MICROS));
    return floor.filter(at::isBefore).orElse(at);
  }

  /** One mutation against one current state. */
  private record Edit(
      Mutation m, String device, StoredRecord current, Instant at, Instant receivedAt) {
    boolean exists() {
      return current != null;
    }

    boolean live() {
      return current != null && !current.deleted();
    }

    boolean follows() {
      return current == null
          || m.baseVersion() == current.version()
          || current.updatedBy().equals(device);
    }

    /** Last writer wins: the later edit time; the greater device id on a tie. */
    boolean newerThanCurrent() {
      int c = at.compareTo(current.modifiedAt());
      return c > 0 || (c == 0 && device.compareTo(current.updatedBy()) > 0);
    }

    StoredRecord next(String data, boolean exact) {
      return next(data, exact, at);
    }

    StoredRecord next(String data, boolean exact, Instant modifiedAt) {
      return next(data, exact, modifiedAt, device);
    }

    /**
     * A merge into a later edit: the version keeps that edit's time and author (whose values it
     * holds), so a further queued edit of this device is still compared with it by time.
     */
    StoredRecord mergedIntoCurrent(String data) {
      return next(data, false, current.modifiedAt(), current.updatedBy());
    }

    private StoredRecord next(String data, boolean exact, Instant modifiedAt, String author) {
      long version = current == null ? 1 : current.version() + 1;
      return new StoredRecord(
          m.key(),
          version,
          data == null,
          data,
          modifiedAt,
          receivedAt,
          author,
          m.mutationId(),
          exact,
          0);
    }

    Loser incomingLoser(String data, String reason) {
      return new Loser(null, device, m.mutationId(), data == null, data, at, reason);
    }

    Loser currentLoser() {
      return new Loser(
          current.version(),
          current.updatedBy(),
          current.mutationId(),
          current.deleted(),
          current.data(),
          current.modifiedAt(),
          SUPERSEDED);
    }

    String changedSince() {
      return "the record changed since base_version "
          + m.baseVersion()
          + " (now version "
          + current.version()
          + " by "
          + current.updatedBy()
          + ")";
    }
  }

  private Decision lastWriterWins(Edit e) {
    String data = e.m.op() == Op.UPSERT ? json(e.m.data()) : null;
    if (!e.exists() && e.m.op() == Op.DELETE) return notFound(e);
    if (e.follows()) return new Decision.Apply(e.next(data, true), Optional.empty());
    if (e.newerThanCurrent()) {
      return new Decision.Apply(e.next(data, true), Optional.of(e.currentLoser()));
    }
    String detail =
        e.changedSince()
            + " and that edit is the later one ("
            + e.current.modifiedAt()
            + " against "
            + e.at
            + "); this version is kept in the record's conflict history";
    return new Decision.Refuse(STALE_VERSION, detail, e.incomingLoser(data, STALE_VERSION));
  }

  private Decision lockedAfterSubmit(Edit e) {
    if (e.m.op() == Op.UPSERT) {
      JsonNode submitted = e.m.data().get("submitted");
      if (submitted != null && !submitted.isBoolean()) {
        return invalid("data.submitted", FieldError.shorten(submitted), "must be true or false");
      }
    }
    String data = e.m.op() == Op.UPSERT ? json(e.m.data()) : null;
    if (e.live() && isSubmitted(parse(e.current.data()))) {
      String detail =
          "version "
              + e.current.version()
              + " was submitted by "
              + e.current.updatedBy()
              + "; a submitted assignment is not changed";
      return new Decision.Refuse(SUBMITTED, detail, e.incomingLoser(data, SUBMITTED));
    }
    if (e.m.op() == Op.UPSERT && isSubmitted(e.m.data()) && e.exists()) {
      Optional<Loser> displaced = e.follows() ? Optional.empty() : Optional.of(e.currentLoser());
      return new Decision.Apply(e.next(data, true), displaced);
    }
    return lastWriterWins(e);
  }

  private static boolean isSubmitted(JsonNode data) {
    JsonNode submitted = data.get("submitted");
    return submitted != null && submitted.isBoolean() && submitted.booleanValue();
  }

  private Decision appendOnly(Edit e) {
    if (e.m.op() == Op.DELETE) {
      return new Decision.Reject(
          "append_only", e.m.key().collection() + " records are never deleted", List.of());
    }
    if (e.exists()) {
      return new Decision.Reject(
          "append_only",
          "record "
              + e.m.key().recordId()
              + " already exists (version "
              + e.current.version()
              + "); "
              + e.m.key().collection()
              + " records are never changed: send a new record_id",
          List.of());
    }
    return new Decision.Apply(e.next(json(e.m.data()), true), Optional.empty());
  }

  private Decision merge(Edit e) {
    if (e.m.op() == Op.DELETE) {
      if (!e.exists()) return notFound(e);
      if (e.follows()) return new Decision.Apply(e.next(null, true), Optional.empty());
      String detail =
          e.changedSince() + "; progress is deleted only by a device that has seen all of it";
      return new Decision.Refuse(STALE_DELETE, detail, e.incomingLoser(null, STALE_DELETE));
    }
    List<FieldError> errors = checkProgress(e.m.data());
    if (!errors.isEmpty()) return new Decision.Reject("validation", describe(errors), errors);
    ObjectNode stored = e.live() ? (ObjectNode) parse(e.current.data()) : mapper.createObjectNode();
    // An edit of an older version keeps the later edit's other fields, by edit time: a tablet back
    // after days offline must not put back a bookmark another device has moved on since, whether
    // its first queued edit or its fifth arrives (its own earlier merge does not make the rest
    // "follow": the version may hold another device's later values).
    boolean concurrent = e.live() && e.m.baseVersion() != e.current.version();
    boolean older = concurrent && !e.newerThanCurrent();
    ObjectNode merged = stored.deepCopy();
    boolean valueLost = false;
    for (Map.Entry<String, JsonNode> field : e.m.data().properties()) {
      String name = field.getKey();
      JsonNode was = stored.get(name);
      merged.set(name, mergeField(name, was, field.getValue(), older));
      valueLost |=
          concurrent
              && !MERGED_FIELDS.contains(name)
              && was != null
              && !was.equals(field.getValue());
    }
    String data = json(merged);
    int size = data.getBytes(StandardCharsets.UTF_8).length;
    if (size > MutationParser.MAX_DATA_BYTES) {
      return invalid(
          "data",
          size + " bytes merged",
          "merged with the stored record it would exceed "
              + MutationParser.MAX_DATA_BYTES
              + " bytes of JSON; send fewer fields");
    }
    boolean exact = merged.equals(e.m.data());
    StoredRecord next = older ? e.mergedIntoCurrent(data) : e.next(data, exact, e.at);
    // Values that lost to another device's are kept in the conflict history, as with
    // last-writer-wins (a device replacing its own earlier value is no conflict).
    Optional<Loser> loser = Optional.empty();
    if (valueLost && older) {
      loser = Optional.of(e.incomingLoser(json(e.m.data()), STALE_VERSION));
    } else if (valueLost && !e.current.updatedBy().equals(e.device)) {
      loser = Optional.of(e.currentLoser());
    }
    return new Decision.Apply(next, loser);
  }

  /** The fields merged by their values; every other field takes the later edit's value. */
  private static final Set<String> MERGED_FIELDS = Set.of("position", "score", "completed");

  /**
   * Furthest position and highest score kept, completed stays completed; others: the later edit's
   * value ({@code older}: the stored one was edited later).
   */
  private static JsonNode mergeField(
      String name, JsonNode stored, JsonNode incoming, boolean older) {
    if (stored == null) return incoming;
    return switch (name) {
      case "position", "score" ->
          stored.isNumber() && stored.decimalValue().compareTo(incoming.decimalValue()) > 0
              ? stored
              : incoming;
      case "completed" -> stored.isBoolean() && stored.booleanValue() ? stored : incoming;
      default -> older ? stored : incoming;
    };
  }

  private static List<FieldError> checkProgress(ObjectNode data) {
    List<FieldError> errors = new ArrayList<>();
    JsonNode position = data.get("position");
    if (position != null && (!position.isNumber() || position.decimalValue().signum() < 0)) {
      errors.add(
          new FieldError("data.position", FieldError.shorten(position), "must be a number >= 0"));
    }
    JsonNode score = data.get("score");
    if (score != null && !score.isNumber()) {
      errors.add(new FieldError("data.score", FieldError.shorten(score), "must be a number"));
    }
    JsonNode completed = data.get("completed");
    if (completed != null && !completed.isBoolean()) {
      errors.add(
          new FieldError("data.completed", FieldError.shorten(completed), "must be true or false"));
    }
    return errors;
  }

  private static Decision baseAhead(Mutation m, StoredRecord current) {
    String message =
        "is above the record's version "
            + current.version()
            + ": send the version this device last pulled (0: never seen)";
    return new Decision.Reject(
        "validation",
        "base_version " + m.baseVersion() + " " + message,
        List.of(new FieldError("base_version", m.baseVersion(), message)));
  }

  private static Decision notFound(Edit e) {
    return new Decision.Reject(
        "not_found", "record " + e.m.key().recordId() + " does not exist: nothing to delete", null);
  }

  private static Decision invalid(String field, Object value, String message) {
    List<FieldError> errors = List.of(new FieldError(field, value, message));
    return new Decision.Reject("validation", describe(errors), errors);
  }

  /** A rejection's detail: "field: message" for each error. */
  static String describe(List<FieldError> errors) {
    return String.join(
        "; ", errors.stream().map(err -> err.field() + ": " + err.message()).toList());
  }

  private String json(JsonNode node) {
    try {
      return mapper.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private JsonNode parse(String text) {
    try {
      return mapper.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored record data is not JSON", e);
    }
  }
}
