package io.pisync.sync;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pisync.http.Json;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The policies settle concurrent edits the same way whatever order they reach the server in, so
 * every device converges on the same record. Checked on random edits in random orders.
 */
class PoliciesOrderTest {
  static final ObjectMapper MAPPER = Json.newMapper(32, 200_000);
  static final Policies POLICIES = new Policies(MAPPER);
  static final RecordKey KEY = new RecordKey("learner:1", "notes", "n");
  static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");

  record Edit(String device, Mutation mutation) {}

  private static Edit edit(Random random, int i, String collection) {
    ObjectNode data = MAPPER.createObjectNode();
    data.put("text", "edit " + i);
    data.put("position", random.nextInt(100));
    data.put("score", random.nextInt(100));
    data.put("completed", random.nextInt(5) == 0);
    // some edits share a time: the device id decides
    Instant at = NOW.minusSeconds(random.nextInt(5) * 60L);
    var key = new RecordKey(KEY.scope(), collection, KEY.recordId());
    var m = new Mutation("m" + i, key, Op.UPSERT, 1, data, Optional.of(at), "digest" + i);
    return new Edit("device-" + (char) ('a' + i), m);
  }

  private static StoredRecord first(String collection) {
    return new StoredRecord(
        new RecordKey(KEY.scope(), collection, KEY.recordId()),
        1,
        false,
        "{\"text\": \"first\", \"position\": 1, \"score\": 1}",
        NOW.minusSeconds(3600),
        NOW.minusSeconds(3600),
        "device-z",
        "m-first",
        true,
        1);
  }

  /** The same edit made at another time by the device's clock. */
  private static Edit at(Edit e, Instant at) {
    Mutation m = e.mutation();
    return new Edit(
        e.device(),
        new Mutation(
            m.mutationId(),
            m.key(),
            m.op(),
            m.baseVersion(),
            m.data(),
            Optional.of(at),
            m.digest()));
  }

  /**
   * Applies the edits in this order, as the server does, and returns the final record. Every edit
   * is of version 1, whose effective time the server knows.
   */
  private static StoredRecord apply(Policy policy, String collection, List<Edit> edits) {
    StoredRecord current = first(collection);
    Optional<Instant> baseTime = Optional.of(current.modifiedAt());
    for (Edit e : edits) {
      if (POLICIES.decide(policy, e.mutation(), e.device(), current, baseTime, NOW)
          instanceof Policies.Decision.Apply(StoredRecord next, var displaced)) {
        current = next;
      }
    }
    return current;
  }

  @Test
  void lastWriterWinsPicksTheSameWinnerInEveryArrivalOrder() throws Exception {
    var random = new Random(42);
    for (int trial = 0; trial < 200; trial++) {
      List<Edit> edits = new ArrayList<>();
      for (int i = 0; i < 2 + random.nextInt(6); i++) edits.add(edit(random, i, "notes"));
      Edit expected =
          edits.stream()
              .max((x, y) -> {
                int c = x.mutation().modifiedAt().get().compareTo(y.mutation().modifiedAt().get());
                return c != 0 ? c : x.device().compareTo(y.device());
              })
              .orElseThrow();
      for (int order = 0; order < 10; order++) {
        Collections.shuffle(edits, random);
        StoredRecord result = apply(Policy.LAST_WRITER_WINS, "notes", edits);
        assertThat(MAPPER.readTree(result.data())).isEqualTo(expected.mutation().data());
      }
    }
  }

  /**
   * Edits of version 1 from clocks a year behind count as made just after version 1 (they were made
   * after the device saw it): still one winner whatever the arrival order, by that time and then
   * the device id.
   */
  @Test
  void lastWriterWinsWithClocksFarBehindPicksTheSameWinnerInEveryArrivalOrder() throws Exception {
    var random = new Random(99);
    Instant afterFirst = first("notes").modifiedAt().plus(1, ChronoUnit.MICROS);
    for (int trial = 0; trial < 200; trial++) {
      List<Edit> edits = new ArrayList<>();
      for (int i = 0; i < 2 + random.nextInt(6); i++) {
        Edit e = edit(random, i, "notes");
        edits.add(random.nextBoolean() ? at(e, NOW.minus(Duration.ofDays(365 + i))) : e);
      }
      Comparator<Edit> byEffectiveTime =
          Comparator.comparing(
                  (Edit e) -> Collections.max(List.of(e.mutation().modifiedAt().get(), afterFirst)))
              .thenComparing(Edit::device);
      Edit expected = Collections.max(edits, byEffectiveTime);
      for (int order = 0; order < 10; order++) {
        Collections.shuffle(edits, random);
        StoredRecord result = apply(Policy.LAST_WRITER_WINS, "notes", edits);
        assertThat(MAPPER.readTree(result.data())).isEqualTo(expected.mutation().data());
      }
    }
  }

  @Test
  void mergeKeepsTheFurthestPositionHighestScoreAndCompletionInEveryArrivalOrder()
      throws Exception {
    var random = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      List<Edit> edits = new ArrayList<>();
      for (int i = 0; i < 2 + random.nextInt(6); i++) edits.add(edit(random, i, "progress"));
      int position =
          edits.stream()
              .mapToInt(e -> e.mutation().data().get("position").asInt())
              .max()
              .orElseThrow();
      int score =
          edits.stream()
              .mapToInt(e -> e.mutation().data().get("score").asInt())
              .max()
              .orElseThrow();
      boolean completed =
          edits.stream().anyMatch(e -> e.mutation().data().get("completed").asBoolean());
      for (int order = 0; order < 10; order++) {
        Collections.shuffle(edits, random);
        var data = MAPPER.readTree(apply(Policy.MERGE, "progress", edits).data());
        assertThat(data.get("position").asInt()).isEqualTo(Math.max(1, position));
        assertThat(data.get("score").asInt()).isEqualTo(Math.max(1, score));
        assertThat(data.get("completed").asBoolean()).isEqualTo(completed);
      }
    }
  }

  @Test
  void aSubmissionSurvivesEveryArrivalOrder() throws Exception {
    var random = new Random(11);
    for (int trial = 0; trial < 100; trial++) {
      List<Edit> edits = new ArrayList<>();
      for (int i = 0; i < 2 + random.nextInt(6); i++) edits.add(edit(random, i, "assignments"));
      int submitter = random.nextInt(edits.size());
      edits.get(submitter).mutation().data().put("submitted", true);
      var expected = edits.get(submitter).mutation().data();
      for (int order = 0; order < 10; order++) {
        Collections.shuffle(edits, random);
        var result = apply(Policy.LOCKED_AFTER_SUBMIT, "assignments", edits);
        assertThat(MAPPER.readTree(result.data())).isEqualTo(expected);
      }
    }
  }
}
