package io.pisync.device;

import io.javalin.http.Context;
import io.pisync.auth.Access;
import io.pisync.http.ApiProblem;
import io.pisync.http.Cursor;
import io.pisync.http.FieldError;
import io.pisync.http.Page;
import io.pisync.http.QueryParams;
import io.pisync.http.Routes;
import io.pisync.telemetry.StoredEvent;
import io.pisync.telemetry.SyncEvent;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** The v1 device API: one device, the device list, repeated failures and fleet statistics. */
public final class DeviceRoutes {
  private static final Set<String> STATUSES = Set.of("success", "partial", "failed");
  private static final Set<String> HEALTH =
      Arrays.stream(Health.values()).map(Health::wire).collect(Collectors.toSet());

  private final DeviceStore store;

  public DeviceRoutes(DeviceStore store) {
    this.store = store;
  }

  public void register(Routes routes) {
    routes
        .get("/api/v1/devices", Access.VIEWER, this::list)
        .get("/api/v1/devices/repeated-failures", Access.VIEWER, this::repeatedFailures)
        .get("/api/v1/devices/{device_id}", Access.DEVICE_OR_VIEWER, this::device)
        .get("/api/v1/stats", Access.VIEWER, ctx -> ctx.json(store.stats()));
  }

  private void device(Context ctx) throws SQLException {
    String id = ctx.pathParam("device_id");
    if (!SyncEvent.isDeviceId(id)) {
      throw ApiProblem.invalid("device_id", id, SyncEvent.DEVICE_ID_RULE);
    }
    Optional<DeviceSummary> found = store.find(id);
    if (found.isEmpty()) throw store.notFound(id);
    ctx.json(found.get());
  }

  private void list(Context ctx) throws SQLException {
    var params = new QueryParams(ctx);
    var filter =
        new DeviceStore.ListFilter(
            params.oneOf("status", STATUSES), params.oneOf("health", HEALTH), params.text("q", 64));
    int limit = params.integer("limit", 50, 1, 500);
    Optional<String> cursor = params.text("cursor", 200);
    params.check();
    Optional<String> after = cursor.map(c -> Cursor.decodeOne(c, SyncEvent::isDeviceId));
    List<DeviceSummary> rows = store.list(filter, limit + 1, after);
    ctx.json(Page.of(rows, limit, d -> Cursor.encode(d.deviceId())));
  }

  /** One device in the repeated-failures list. */
  public record FailureItem(
      String deviceId,
      long failures,
      Double failureRate,
      Instant lastFailureAt,
      long totalSyncs,
      long failedSyncs,
      long partialSyncs,
      int consecutiveFailures,
      String health,
      Instant lastSeenAt,
      List<StoredEvent> recentFailures) {}

  /** The answer: the criteria applied, then a page of devices. */
  public record FailurePage(
      Map<String, Object> criteria, List<FailureItem> items, String nextCursor) {}

  private void repeatedFailures(Context ctx) throws SQLException {
    var params = new QueryParams(ctx);
    int threshold = params.integer("threshold", 3, 0, 1_000_000);
    Optional<Instant> since = params.instant("since");
    boolean consecutive = params.bool("consecutive");
    boolean includePartial = params.bool("include_partial");
    int limit = params.integer("limit", 50, 1, 500);
    Optional<String> cursor = params.text("cursor", 200);
    params.check();
    if (consecutive && since.isPresent()) {
      throw ApiProblem.invalid(
          List.of(
              new FieldError(
                  "since",
                  ctx.queryParam("since"),
                  "cannot be combined with consecutive=true (a streak is always the current"
                      + " one)")));
    }
    var criteria = new DeviceStore.FailureCriteria(threshold, since, consecutive, includePartial);
    Optional<DeviceStore.FailureKey> after = cursor.map(DeviceRoutes::decodeFailureCursor);
    List<DeviceStore.FailingDevice> rows = store.repeatedFailures(criteria, limit + 1, after);
    Page<FailureItem> page =
        Page.of(
            rows.stream().map(r -> item(r, includePartial)).toList(),
            limit,
            i -> Cursor.encode(Long.toString(i.failures()), i.deviceId()));
    ctx.json(new FailurePage(describe(criteria), page.items(), page.nextCursor()));
  }

  private static Map<String, Object> describe(DeviceStore.FailureCriteria c) {
    var map = new java.util.LinkedHashMap<String, Object>();
    map.put("threshold", c.threshold());
    map.put("since", c.since().orElse(null));
    map.put("consecutive", c.consecutive());
    map.put("include_partial", c.includePartial());
    return map;
  }

  private static FailureItem item(DeviceStore.FailingDevice f, boolean includePartial) {
    DeviceSummary d = f.device();
    long failing = d.totals().failed() + (includePartial ? d.totals().partial() : 0);
    Double rate =
        d.totals().syncs() == 0
            ? null
            : Math.round(10_000.0 * failing / d.totals().syncs()) / 10_000.0;
    return new FailureItem(
        d.deviceId(),
        f.failures(),
        rate,
        f.recent().isEmpty() ? null : f.recent().getFirst().timestamp(),
        d.totals().syncs(),
        d.totals().failed(),
        d.totals().partial(),
        d.consecutiveFailures(),
        d.health(),
        d.lastSeenAt(),
        f.recent());
  }

  private static DeviceStore.FailureKey decodeFailureCursor(String cursor) {
    List<String> parts = Cursor.decode(cursor, 2);
    try {
      long failures = Long.parseLong(parts.get(0));
      Cursor.requireIssued(cursor, Long.toString(failures), parts.get(1));
      if (!SyncEvent.isDeviceId(parts.get(1))) throw Cursor.badCursor(cursor);
      return new DeviceStore.FailureKey(failures, parts.get(1));
    } catch (NumberFormatException e) {
      throw Cursor.badCursor(cursor);
    }
  }
}
