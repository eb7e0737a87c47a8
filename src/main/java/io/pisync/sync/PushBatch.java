package io.pisync.sync;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.http.FieldError;
import io.pisync.sync.MutationParser.Parsed;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The decisions of one push, in order, against the records as they are in its transaction: a
 * mutation sees the effect of the ones before it. Collects what the transaction then stores.
 */
final class PushBatch {
  /**
   * A mutation id the device used before, with the answer it got. A {@code retryable} answer was a
   * refusal for want of a grant or a collection, which an admin may have made since: the mutation
   * is decided again when pushed again, so a device that wrote before its grant loses nothing.
   * {@code reusedDigest}: the digest of the last other content refused under this id, if any.
   */
  record Seen(
      String digest, String result, Instant receivedAt, boolean retryable, String reusedDigest) {}

  static final String UNKNOWN_COLLECTION = "unknown_collection";
  static final String SCOPE_NOT_GRANTED = "scope_not_granted";

  /** The rejection reasons that depend on what an admin has set up, not on the mutation. */
  static final List<String> RETRYABLE_REASONS = List.of(UNKNOWN_COLLECTION, SCOPE_NOT_GRANTED);

  record ConflictRow(
      RecordKey key, Instant at, long winnerVersion, String winnerDevice, Policies.Loser loser) {}

  record MutationRow(String mutationId, String digest, String status, String result) {}

  record Counts(long applied, long duplicates, long conflicts, long rejected) {}

  /** One version of a record. */
  record RecordVersion(RecordKey key, long version) {}

  private final String device;
  private final Instant receivedAt;
  private final ObjectMapper mapper;
  private final Policies policies;
  private final Map<String, Seen> seen;
  private final Set<String> granted;
  private final Map<String, Policy> collections;
  private Map<RecordKey, StoredRecord> current = Map.of();
  private Map<RecordVersion, Instant> times = new HashMap<>();
  private final List<StoredRecord> timed = new ArrayList<>();
  private final Map<RecordKey, StoredRecord> changed = new LinkedHashMap<>();
  private final List<ConflictRow> conflicts = new ArrayList<>();
  private final List<MutationRow> stored = new ArrayList<>();

  /** Mutation id -> digest of the last other content refused under it in this push. */
  private final Map<String, String> reused = new LinkedHashMap<>();

  private long applied;
  private long duplicates;
  private long conflicted;
  private long rejected;

  PushBatch(
      String device,
      Instant receivedAt,
      ObjectMapper mapper,
      Policies policies,
      Map<String, Seen> seen,
      Set<String> granted,
      Map<String, Policy> collections) {
    this.device = device;
    this.receivedAt = receivedAt;
    this.mapper = mapper;
    this.policies = policies;
    this.seen = seen;
    this.granted = granted;
    this.collections = collections;
  }

  /** The records that mutations of this push may change: to lock and read first. */
  Set<RecordKey> candidates(List<Parsed> items) {
    Set<RecordKey> keys = new HashSet<>();
    for (Parsed item : items) {
      if (item instanceof Parsed.Valid(Mutation m) && candidate(m)) keys.add(m.key());
    }
    return keys;
  }

  /** The versions edited by mutations ordered by time: their times bound the edits' times. */
  Set<RecordVersion> bases(List<Parsed> items) {
    Set<RecordVersion> bases = new HashSet<>();
    for (Parsed item : items) {
      if (item instanceof Parsed.Valid(Mutation m)
          && candidate(m)
          && m.baseVersion() >= 1
          && collections.get(m.key().collection()).ordersByTime()) {
        bases.add(new RecordVersion(m.key(), m.baseVersion()));
      }
    }
    return bases;
  }

  private boolean candidate(Mutation m) {
    Seen before = seen.get(m.mutationId());
    return (before == null || before.retryable())
        && collections.containsKey(m.key().collection())
        && granted.contains(m.key().scope());
  }

  /**
   * @param records the current state of the candidates (locked)
   * @param times the known effective times of the {@link #bases}
   */
  void setCurrent(Map<RecordKey, StoredRecord> records, Map<RecordVersion, Instant> times) {
    this.current = records;
    this.times = new HashMap<>(times);
  }

  PushResult handle(Parsed item) {
    return switch (item) {
      case Parsed.Valid(Mutation m) -> once(m.mutationId(), m.digest(), () -> decide(m));
      case Parsed.Invalid(var id, var digest, var errors) when id.isPresent() ->
          once(id.get(), digest.orElseThrow(), () -> invalid(id.get(), errors));
      case Parsed.Invalid(var id, var digest, var errors) -> count(invalid(null, errors));
    };
  }

  private PushResult once(String mutationId, String digest, Supplier<PushResult> decide) {
    Seen before = seen.get(mutationId);
    if (before != null && before.digest().equals(digest) && !before.retryable()) {
      duplicates++;
      return new PushResult.Duplicate(mutationId, before.result());
    }
    if (before != null && !before.digest().equals(digest)) {
      return reusedId(mutationId, digest, before);
    }
    // New, or refused before for want of a grant or collection: decided now. Within this push the
    // answer is final, as grants and collections cannot change under it.
    PushResult result = decide.get();
    String text = json(result);
    boolean again = before != null && text.equals(before.result());
    seen.put(
        mutationId,
        new Seen(
            digest,
            text,
            again ? before.receivedAt() : receivedAt,
            false,
            before == null ? null : before.reusedDigest()));
    if (again) {
      // the same mutation pushed again and refused again as before (its grant is still missing):
      // the device hears the refusal again, but one refusal is counted once and kept as it was.
      // Refused for another reason now, it is a new refusal, counted and stored as one.
      duplicates++;
      return result;
    }
    count(result);
    stored.add(new MutationRow(mutationId, digest, result.status(), text));
    return result;
  }

  /**
   * Other content under a used mutation id is refused. The same other content again (the refused
   * push retried, or twice in one push) hears the same refusal, counted once.
   */
  private PushResult reusedId(String mutationId, String digest, Seen before) {
    var refusal =
        new PushResult.Rejected(
            mutationId,
            "mutation_id_reused",
            "mutation_id "
                + mutationId
                + " was used on "
                + before.receivedAt()
                + " for a different mutation; a new change needs a new mutation_id",
            null);
    if (digest.equals(before.reusedDigest())) {
      duplicates++;
      return refusal;
    }
    seen.put(
        mutationId,
        new Seen(
            before.digest(), before.result(), before.receivedAt(), before.retryable(), digest));
    reused.put(mutationId, digest);
    return count(refusal);
  }

  private static PushResult invalid(String mutationId, List<FieldError> errors) {
    return new PushResult.Rejected(mutationId, "validation", Policies.describe(errors), errors);
  }

  private PushResult decide(Mutation m) {
    RecordKey key = m.key();
    Policy policy = collections.get(key.collection());
    if (policy == null) {
      return new PushResult.Rejected(
          m.mutationId(),
          UNKNOWN_COLLECTION,
          "no collection '" + key.collection() + "'; an admin declares collections",
          null);
    }
    if (!granted.contains(key.scope())) {
      return new PushResult.Rejected(
          m.mutationId(),
          SCOPE_NOT_GRANTED,
          "this device has no access to scope '" + key.scope() + "'",
          null);
    }
    StoredRecord now = current.get(key);
    return switch (policies.decide(policy, m, device, now, baseTime(m, now), receivedAt)) {
      case Policies.Decision.Apply(StoredRecord next, var displaced) -> {
        current.put(key, next);
        changed.put(key, next);
        times.put(new RecordVersion(key, next.version()), next.modifiedAt());
        if (policy.ordersByTime()) timed.add(next);
        // the winner is the author of the values kept: this device, or, when its older edit was
        // merged into a later one, that edit's device
        displaced.ifPresent(loser ->
            conflicts.add(
                new ConflictRow(key, receivedAt, next.version(), next.updatedBy(), loser)));
        yield new PushResult.Applied(
            m.mutationId(),
            key.collection(),
            key.scope(),
            key.recordId(),
            next.version(),
            next.exact() ? null : RecordView.of(next));
      }
      case Policies.Decision.Refuse(String reason, String detail, Policies.Loser loser) -> {
        conflicts.add(new ConflictRow(key, receivedAt, now.version(), now.updatedBy(), loser));
        yield new PushResult.Conflict(
            m.mutationId(),
            key.collection(),
            key.scope(),
            key.recordId(),
            reason,
            detail,
            RecordView.of(now));
      }
      case Policies.Decision.Reject(String reason, String detail, List<FieldError> errors) ->
          new PushResult.Rejected(m.mutationId(), reason, detail, errors);
    };
  }

  /** The effective time of the version {@code m} edits, when known. */
  private Optional<Instant> baseTime(Mutation m, StoredRecord now) {
    if (now != null && m.baseVersion() == now.version()) return Optional.of(now.modifiedAt());
    return Optional.ofNullable(times.get(new RecordVersion(m.key(), m.baseVersion())));
  }

  private PushResult count(PushResult result) {
    switch (result) {
      case PushResult.Applied a -> applied++;
      case PushResult.Conflict c -> conflicted++;
      case PushResult.Rejected r -> rejected++;
      case PushResult.Duplicate d -> duplicates++;
    }
    return result;
  }

  private String json(PushResult result) {
    try {
      return mapper.writeValueAsString(result);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  Map<RecordKey, StoredRecord> changed() {
    return changed;
  }

  /** The versions stored by this push whose effective times are kept. */
  List<StoredRecord> timed() {
    return timed;
  }

  List<ConflictRow> conflicts() {
    return conflicts;
  }

  List<MutationRow> stored() {
    return stored;
  }

  /** Mutation id -> digest of other content refused under it, to be recognised when resent. */
  Map<String, String> reused() {
    return reused;
  }

  Counts counts() {
    return new Counts(applied, duplicates, conflicted, rejected);
  }
}
