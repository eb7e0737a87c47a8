package io.pisync.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** Counts stored events per status, and replays. */
public final class IngestMetrics {
  private final Map<SyncStatus, Counter> created = new EnumMap<>(SyncStatus.class);
  private final Counter duplicates;
  private final Counter conflicts;

  public IngestMetrics(MeterRegistry registry) {
    for (SyncStatus status : SyncStatus.values()) {
      created.put(
          status,
          Counter.builder("pisync.events.ingested")
              .description("sync events stored, per status")
              .tag("status", status.wire())
              .register(registry));
    }
    duplicates =
        Counter.builder("pisync.events.duplicates")
            .description("events whose event_id was already stored")
            .register(registry);
    conflicts =
        Counter.builder("pisync.events.id.conflicts")
            .description("events refused because their event_id belongs to another device")
            .register(registry);
  }

  public void record(List<IngestOutcome> outcomes) {
    for (IngestOutcome outcome : outcomes) {
      switch (outcome) {
        case IngestOutcome.Created c -> created.get(c.event().status()).increment();
        case IngestOutcome.Duplicate d -> duplicates.increment();
        case IngestOutcome.IdConflict c -> conflicts.increment();
      }
    }
  }
}
