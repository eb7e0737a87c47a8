package io.pisync.telemetry;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for single events. Requests put their event on a bounded queue; one writer thread
 * drains whatever is queued (no lingering) into one transaction and completes each request's future
 * after COMMIT. A full queue is refused at once (503), never dropped silently.
 *
 * <p>An event not committed within the commit timeout is answered 503 by a watchdog that looks once
 * every {@link #WATCHDOG_PERIOD}, so requests wait without a timeout of their own: a timed wait
 * costs a virtual thread two wake-ups of the JDK's timer thread (async-profiler: 17% of the JVM's
 * CPU on single events, docs/PERFORMANCE.md). The timeout is measured on the monotonic clock, so a
 * wall clock stepped forward or back does not answer events early or let them wait longer.
 */
public final class EventWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventWriter.class);

  private static final Duration WATCHDOG_PERIOD = Duration.ofMillis(250);

  private record Pending(
      Incoming incoming, long queuedNanos, CompletableFuture<IngestOutcome> result) {}

  private final EventStore store;
  private final IngestMetrics metrics;
  private final BlockingQueue<Pending> queue;
  private final int maxBatch;
  private final int capacity;
  private final DistributionSummary batchSizes;
  private final Timer transactions;
  private final List<Thread> threads;
  private final long commitTimeoutNanos;
  private final AtomicReferenceArray<List<Pending>> inFlight;
  private final Thread watchdog;
  private volatile boolean running = true;

  /**
   * Starts {@code writers} threads draining the queue. More than one overlaps one transaction's
   * COMMIT (the fsync) with the next one's statements; device row locks, taken in device-id order,
   * keep them from deadlocking and the counters exact.
   */
  public EventWriter(
      EventStore store,
      IngestMetrics metrics,
      MeterRegistry registry,
      int capacity,
      int maxBatch,
      int writers,
      Duration commitTimeout) {
    this.store = store;
    this.commitTimeoutNanos = commitTimeout.toNanos();
    this.metrics = metrics;
    this.capacity = capacity;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.maxBatch = maxBatch;
    this.batchSizes =
        DistributionSummary.builder("pisync.writer.batch.size")
            .description("events committed per group-commit transaction")
            .publishPercentileHistogram()
            .register(registry);
    this.transactions =
        Timer.builder("pisync.writer.transaction")
            .description(
                "time to store one group commit: connection, statements and COMMIT (with any"
                    + " retry after a deadlock)")
            .publishPercentileHistogram()
            .register(registry);
    registry.gauge("pisync.writer.queue.depth", queue, BlockingQueue::size);
    this.threads = new java.util.ArrayList<>();
    this.inFlight = new AtomicReferenceArray<>(writers);
    for (int i = 0; i < writers; i++) {
      int writer = i;
      inFlight.set(writer, List.of());
      Thread t = Thread.ofPlatform().name("pisync-group-commit-" + i).unstarted(() -> run(writer));
      threads.add(t);
      t.start();
    }
    this.watchdog =
        Thread.ofPlatform()
            .daemon()
            .name("pisync-group-commit-watchdog")
            .start(this::answerOverdueUntilClosed);
  }

  /** Queues an event; the future completes after its transaction commits. */
  public CompletableFuture<IngestOutcome> submit(Incoming incoming) {
    var pending = new Pending(incoming, System.nanoTime(), new CompletableFuture<>());
    if (!running) {
      throw shuttingDown();
    }
    if (!queue.offer(pending)) {
      throw ApiProblem.retryLater(
          ProblemType.OVERLOADED,
          "the ingest queue is full (" + capacity + " events waiting); retry in 1 s",
          1);
    }
    if (!running && queue.remove(pending)) {
      // close() may have drained the queue for the last time between the check and the offer.
      throw shuttingDown();
    }
    return pending.result;
  }

  private static ApiProblem shuttingDown() {
    return ApiProblem.retryLater(ProblemType.OVERLOADED, "the server is shutting down; retry", 1);
  }

  private void run(int writer) {
    List<Pending> batch = new ArrayList<>(maxBatch);
    while (running || !queue.isEmpty()) {
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, maxBatch - 1);
        inFlight.set(writer, List.copyOf(batch));
        write(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } finally {
        inFlight.set(writer, List.of());
        batch.clear();
      }
    }
  }

  /** Until close() interrupts it, after the writers have ended: they may finish late. */
  private void answerOverdueUntilClosed() {
    while (true) {
      try {
        Thread.sleep(WATCHDOG_PERIOD);
        answerOverdue();
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("could not answer overdue events: {}", e.toString());
      }
    }
  }

  /**
   * Answers 503 to every event that has waited longer than the commit timeout. One still queued is
   * taken off the queue first, so it is never stored and its sender may simply send it again; one
   * in a transaction may still be committed, so its sender is asked to resend it with the same
   * event_id (a replay of a stored event is then answered 200, not stored twice).
   */
  void answerOverdue() {
    long now = System.nanoTime();
    for (int writer = 0; writer < inFlight.length(); writer++) {
      for (Pending p : inFlight.get(writer)) {
        if (overdue(p, now)) {
          p.result.completeExceptionally(
              ApiProblem.retryLater(
                  ProblemType.OVERLOADED,
                  "the event was not committed within "
                      + timeoutSeconds()
                      + " s and may still be; resend it with the same event_id",
                  1));
        }
      }
    }
    // One copy under the queue's lock; the queue is in arrival order, so the first event that is
    // not overdue ends the look.
    for (Object queued : queue.toArray()) {
      Pending p = (Pending) queued;
      if (!overdue(p, now)) {
        break;
      }
      if (queue.remove(p)) {
        p.result.completeExceptionally(
            ApiProblem.retryLater(
                ProblemType.OVERLOADED,
                "the event waited "
                    + timeoutSeconds()
                    + " s for the database and was not stored; send it again",
                1));
      }
    }
  }

  private boolean overdue(Pending p, long nowNanos) {
    return nowNanos - p.queuedNanos > commitTimeoutNanos;
  }

  private long timeoutSeconds() {
    return TimeUnit.NANOSECONDS.toSeconds(commitTimeoutNanos);
  }

  private void write(List<Pending> batch) {
    List<IngestOutcome> outcomes;
    long started = System.nanoTime();
    try {
      outcomes = store.ingest(batch.stream().map(Pending::incoming).toList());
      transactions.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
    } catch (SQLException e) {
      if (batch.size() > 1 && isDataError(e)) {
        // One event the database refuses must not fail the others queued with it.
        log.warn(
            "group commit of {} events refused ({}); writing them one by one",
            batch.size(),
            e.getSQLState());
        batch.forEach(p -> write(List.of(p)));
        return;
      }
      fail(batch, e);
      return;
    } catch (RuntimeException | Error e) {
      // Whatever happened, no request may wait forever, and the writer keeps running.
      fail(batch, e);
      return;
    }
    // Committed: answer first, so a failure below can never turn a stored event into an error.
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).result.complete(outcomes.get(i));
    }
    try {
      batchSizes.record(batch.size());
      metrics.record(outcomes);
    } catch (RuntimeException e) {
      log.warn("could not record ingest metrics: {}", e.toString());
    }
  }

  private static void fail(List<Pending> batch, Throwable e) {
    log.warn("group commit of {} events failed: {}", batch.size(), e.toString());
    batch.forEach(p -> p.result.completeExceptionally(e));
  }

  /** SQLState classes 22 (data exception) and 23 (integrity): caused by a row, not the database. */
  private static boolean isDataError(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("22") || state.startsWith("23"));
  }

  /** Stops taking events, commits those already queued, then stops the writer threads. */
  @Override
  public void close() {
    running = false;
    try {
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    watchdog.interrupt();
    // Events that arrived as the writers stopped, or whose writer is still stuck in a
    // transaction: answer them (503), never leave them waiting.
    List<Pending> left = new ArrayList<>();
    queue.drainTo(left);
    for (int writer = 0; writer < inFlight.length(); writer++) {
      left.addAll(inFlight.get(writer));
    }
    if (left.isEmpty()) return;
    fail(left, shuttingDown());
  }
}
