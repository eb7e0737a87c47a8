package io.pisync.telemetry;

import io.pisync.http.ApiProblem;
import io.pisync.http.FieldError;
import io.pisync.http.ProblemType;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Stores reported events: singles through the group-commit writer, batches directly. */
public final class Ingestion {
  private final EventWriter writer;
  private final EventStore store;
  private final IngestMetrics metrics;
  private final InstantSource clock;

  public Ingestion(
      EventWriter writer, EventStore store, IngestMetrics metrics, InstantSource clock) {
    this.writer = writer;
    this.store = store;
    this.metrics = metrics;
    this.clock = clock;
  }

  /**
   * Returns once the event is committed (or found to be a replay), or throws the writer's 503 when
   * it was not committed in time. The wait itself has no timeout: see {@link EventWriter}.
   */
  public IngestOutcome single(SyncEvent event) throws SQLException {
    var future = writer.submit(Incoming.of(event, now()));
    try {
      return refuseConflict(future.get());
    } catch (ExecutionException | CompletionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiProblem.retryLater(ProblemType.OVERLOADED, "interrupted; retry the event", 1);
    }
  }

  private static IngestOutcome refuseConflict(IngestOutcome outcome) {
    if (outcome instanceof IngestOutcome.IdConflict conflict) {
      throw conflictProblem(conflict);
    }
    return outcome;
  }

  /** The 409 for an event_id another device already used; the other event is not shown. */
  public static ApiProblem conflictProblem(IngestOutcome.IdConflict conflict) {
    String id = conflict.event().eventId().toString();
    return new ApiProblem(
        ProblemType.EVENT_ID_CONFLICT,
        "event_id " + id + " is already used by another device's event; choose a new UUID",
        List.of(new FieldError("event_id", id, "already used by another device")),
        java.util.Map.of());
  }

  /** Stores many events in one transaction. */
  public List<IngestOutcome> batch(List<SyncEvent> events) throws SQLException {
    var receivedAt = now();
    List<IngestOutcome> outcomes =
        store.ingest(events.stream().map(e -> Incoming.of(e, receivedAt)).toList());
    metrics.record(outcomes);
    return outcomes;
  }

  /** PostgreSQL keeps microseconds; answering with more would differ from what a replay returns. */
  private java.time.Instant now() {
    return clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
  }

  private static SQLException rethrow(Throwable cause) {
    if (cause instanceof SQLException sql) {
      return sql;
    }
    if (cause instanceof RuntimeException runtime) {
      throw runtime;
    }
    throw new IllegalStateException(cause);
  }
}
