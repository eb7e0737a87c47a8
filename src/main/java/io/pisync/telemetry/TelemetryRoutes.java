package io.pisync.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.pisync.auth.Access;
import io.pisync.auth.Principal;
import io.pisync.http.ApiProblem;
import io.pisync.http.Cursor;
import io.pisync.http.FieldError;
import io.pisync.http.JsonBody;
import io.pisync.http.Page;
import io.pisync.http.QueryParams;
import io.pisync.http.Routes;
import io.pisync.http.Times;
import java.sql.SQLException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The v1 telemetry API: report events, one or many, and read a device's history. */
public final class TelemetryRoutes {
  private final Ingestion ingestion;
  private final EventStore store;
  private final EventParser parser;
  private final ObjectMapper mapper;
  private final int maxBatchEvents;
  private final DeviceExistence devices;

  /** Empty when a device is known, else the 404 to answer; the device feature answers it. */
  public interface DeviceExistence {
    Optional<ApiProblem> missing(String deviceId) throws SQLException;
  }

  public TelemetryRoutes(
      Ingestion ingestion,
      EventStore store,
      EventParser parser,
      ObjectMapper mapper,
      int maxBatchEvents,
      DeviceExistence devices) {
    this.ingestion = ingestion;
    this.store = store;
    this.parser = parser;
    this.mapper = mapper;
    this.maxBatchEvents = maxBatchEvents;
    this.devices = devices;
  }

  public void register(Routes routes) {
    routes
        .post("/api/v1/sync-events", Access.DEVICE_OR_ADMIN, this::report)
        .post("/api/v1/sync-events/batch", Access.DEVICE_OR_ADMIN, this::reportBatch)
        .get("/api/v1/devices/{device_id}/sync-events", Access.DEVICE_OR_VIEWER, this::history);
  }

  private void report(Context ctx) throws SQLException {
    SyncEvent event = valid(parser.parse(JsonBody.read(ctx, mapper)));
    Principal.requireSelf(ctx, event.deviceId());
    IngestOutcome outcome = ingestion.single(event);
    ctx.status(outcome instanceof IngestOutcome.Created ? 201 : 200).json(outcome.event());
  }

  private static SyncEvent valid(EventParser.Parsed parsed) {
    return switch (parsed) {
      case EventParser.Parsed.Valid v -> v.event();
      case EventParser.Parsed.Invalid i -> throw ApiProblem.invalid(i.errors());
    };
  }

  /** One result per item, in order. */
  @com.fasterxml.jackson.annotation.JsonInclude(
      com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  /**
   * One result per item, in order: the id and status of a stored event (the device has the rest),
   * or the reasons an item was refused. Small on purpose: backlogs go over slow links.
   */
  public record BatchItem(
      int index, String outcome, UUID eventId, SyncStatus status, List<FieldError> errors) {

    static BatchItem stored(int index, String outcome, StoredEvent event) {
      return new BatchItem(index, outcome, event.eventId(), event.status(), null);
    }

    static BatchItem refused(int index, List<FieldError> errors) {
      return new BatchItem(index, "invalid", null, null, errors);
    }
  }

  public record BatchResponse(int created, int duplicates, int invalid, List<BatchItem> results) {}

  private void reportBatch(Context ctx) throws SQLException {
    JsonNode items = batchItems(JsonBody.read(ctx, mapper));
    // A device uploads only its own backlog: one event of another device refuses the whole batch.
    for (JsonNode item : items) {
      JsonNode deviceId = item.path("device_id");
      if (deviceId.isTextual()) Principal.requireSelf(ctx, deviceId.textValue());
    }
    List<SyncEvent> valid = new ArrayList<>();
    List<Integer> validIndexes = new ArrayList<>();
    BatchItem[] results = new BatchItem[items.size()];
    for (int i = 0; i < items.size(); i++) {
      switch (parser.parse(items.get(i))) {
        case EventParser.Parsed.Valid v -> {
          valid.add(v.event());
          validIndexes.add(i);
        }
        case EventParser.Parsed.Invalid inv -> {
          String prefix = "events[" + i + "]";
          results[i] =
              BatchItem.refused(
                  i,
                  inv.errors().stream()
                      .map(e -> e.prefixed(e.field().isEmpty() ? prefix : prefix + "."))
                      .toList());
        }
      }
    }
    List<IngestOutcome> outcomes = valid.isEmpty() ? List.of() : ingestion.batch(valid);
    int created = 0;
    int duplicates = 0;
    for (int k = 0; k < outcomes.size(); k++) {
      int index = validIndexes.get(k);
      results[index] = item(index, outcomes.get(k));
      created += outcomes.get(k) instanceof IngestOutcome.Created ? 1 : 0;
      duplicates += outcomes.get(k) instanceof IngestOutcome.Duplicate ? 1 : 0;
    }
    int invalid = items.size() - created - duplicates;
    ctx.json(new BatchResponse(created, duplicates, invalid, List.of(results)));
  }

  private static BatchItem item(int index, IngestOutcome outcome) {
    return switch (outcome) {
      case IngestOutcome.Created c -> BatchItem.stored(index, "created", c.event());
      case IngestOutcome.Duplicate d -> BatchItem.stored(index, "duplicate", d.event());
      case IngestOutcome.IdConflict c ->
          BatchItem.refused(
              index,
              Ingestion.conflictProblem(c).errors().stream()
                  .map(e -> e.prefixed("events[" + index + "]."))
                  .toList());
    };
  }

  private JsonNode batchItems(JsonNode body) {
    if (!body.isObject()) {
      throw ApiProblem.invalid(
          "",
          "(" + body.getNodeType().name().toLowerCase() + ")",
          "must be an object {\"events\": [...]}");
    }
    List<FieldError> errors = new ArrayList<>();
    body.fieldNames()
        .forEachRemaining(name -> {
          if (!name.equals("events")) {
            errors.add(FieldError.unknown(name, body.get(name)));
          }
        });
    JsonNode events = body.get("events");
    if (events == null || !events.isArray()) {
      errors.add(
          new FieldError(
              "events",
              events == null ? null : FieldError.shorten(events),
              "is required: an array of 1 to " + maxBatchEvents + " events"));
    } else if (events.isEmpty() || events.size() > maxBatchEvents) {
      errors.add(
          new FieldError(
              "events", events.size() + " events", "must hold 1 to " + maxBatchEvents + " events"));
    }
    if (!errors.isEmpty()) {
      throw ApiProblem.invalid(errors);
    }
    return events;
  }

  private void history(Context ctx) throws SQLException {
    String deviceId = ctx.pathParam("device_id");
    var params = new QueryParams(ctx);
    int limit = params.integer("limit", 50, 1, 500);
    Optional<String> cursor = params.text("cursor", 200);
    params.check();
    Optional<EventStore.HistoryKey> after = cursor.map(TelemetryRoutes::decodeHistoryCursor);
    if (!SyncEvent.isDeviceId(deviceId)) {
      throw ApiProblem.invalid("device_id", deviceId, SyncEvent.DEVICE_ID_RULE);
    }
    Optional<ApiProblem> missing = devices.missing(deviceId);
    if (missing.isPresent()) throw missing.get();
    List<StoredEvent> rows = store.history(deviceId, limit + 1, after);
    ctx.json(
        Page.of(rows, limit, e -> Cursor.encode(e.timestamp().toString(), e.eventId().toString())));
  }

  private static EventStore.HistoryKey decodeHistoryCursor(String cursor) {
    List<String> parts = Cursor.decode(cursor, 2);
    try {
      Instant at = Instant.parse(parts.get(0));
      if (!Times.inRange(at)) {
        throw Cursor.badCursor(cursor);
      }
      UUID id = UUID.fromString(parts.get(1));
      Cursor.requireIssued(cursor, at.toString(), id.toString());
      return new EventStore.HistoryKey(at, id);
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw Cursor.badCursor(cursor);
    }
  }
}
