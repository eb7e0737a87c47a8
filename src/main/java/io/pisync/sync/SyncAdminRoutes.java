package io.pisync.sync;

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
import io.pisync.http.ProblemType;
import io.pisync.http.QueryParams;
import io.pisync.http.Routes;
import io.pisync.telemetry.SyncEvent;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The operator side of record sync: collections and their policies, scope grants, each device's
 * sync state, and browsing records with their conflict history.
 */
final class SyncAdminRoutes {
  private final GrantStore grants;
  private final CollectionStore collections;
  private final RecordBrowser records;
  private final SyncStateStore states;
  private final FeedReader feed;
  private final ObjectMapper mapper;
  private final InstantSource clock;

  SyncAdminRoutes(
      GrantStore grants,
      CollectionStore collections,
      RecordBrowser records,
      SyncStateStore states,
      FeedReader feed,
      ObjectMapper mapper,
      InstantSource clock) {
    this.grants = grants;
    this.collections = collections;
    this.records = records;
    this.states = states;
    this.feed = feed;
    this.mapper = mapper;
    this.clock = clock;
  }

  void register(Routes routes) {
    String record = "/api/v1/sync/records/{collection}/{scope}/{record_id}";
    routes
        .get("/api/v1/sync/collections", Access.VIEWER, this::listCollections)
        .put("/api/v1/sync/collections/{name}", Access.ADMIN, this::declare)
        .put("/api/v1/sync/devices/{device_id}/scopes/{scope}", Access.ADMIN, this::grant)
        .delete("/api/v1/sync/devices/{device_id}/scopes/{scope}", Access.ADMIN, this::revoke)
        .get("/api/v1/sync/devices/{device_id}", Access.VIEWER, this::deviceState)
        .get("/api/v1/sync/records", Access.VIEWER, this::listRecords)
        .get(record, Access.DEVICE_OR_VIEWER, this::record)
        .get(record + "/conflicts", Access.DEVICE_OR_VIEWER, this::conflicts);
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }

  // ----------------------------------------------------------------------------- collections

  private void listCollections(Context ctx) throws SQLException {
    ctx.json(Map.of("items", collections.list()));
  }

  private void declare(Context ctx) throws SQLException {
    String name = ctx.pathParam("name");
    if (!SyncIds.isCollection(name)) {
      throw ApiProblem.invalid("name", name, SyncIds.COLLECTION_RULE);
    }
    JsonNode body = JsonBody.read(ctx, mapper);
    JsonNode policyNode = body.isObject() ? body.get("policy") : null;
    List<FieldError> errors = new ArrayList<>();
    if (body.isObject()) {
      body.fieldNames()
          .forEachRemaining(f -> {
            if (!f.equals("policy")) errors.add(FieldError.unknown(f, body.get(f)));
          });
    }
    Optional<Policy> policy =
        policyNode != null && policyNode.isTextual()
            ? Policy.parse(policyNode.textValue())
            : Optional.empty();
    if (policy.isEmpty()) {
      errors.add(
          new FieldError(
              "policy",
              FieldError.shorten(policyNode),
              (policyNode == null || policyNode.isNull() ? "is required: " : "must be ")
                  + "one of "
                  + Policy.choices()));
    }
    if (!errors.isEmpty()) throw ApiProblem.invalid(errors);
    CollectionStore.Declared declared = collections.declare(name, policy.get(), now());
    ctx.status(declared.created() ? 201 : 200).json(declared.collection());
  }

  // ---------------------------------------------------------------------------------- grants

  private record DeviceScope(String deviceId, String scope) {}

  private static DeviceScope deviceScope(Context ctx) {
    String device = ctx.pathParam("device_id");
    String scope = ctx.pathParam("scope");
    List<FieldError> errors = new ArrayList<>();
    if (!SyncEvent.isDeviceId(device)) {
      errors.add(new FieldError("device_id", device, SyncEvent.DEVICE_ID_RULE));
    }
    if (!SyncIds.isId(scope)) errors.add(new FieldError("scope", scope, SyncIds.ID_RULE));
    if (!errors.isEmpty()) throw ApiProblem.invalid(errors);
    return new DeviceScope(device, scope);
  }

  private void grant(Context ctx) throws SQLException {
    DeviceScope ds = deviceScope(ctx);
    GrantStore.Granted granted =
        grants.grant(ds.deviceId(), ds.scope(), now()).orElseThrow(() -> unregistered(ds));
    ctx.status(granted.created() ? 201 : 200).json(granted.grant());
  }

  private static ApiProblem unregistered(DeviceScope ds) {
    return new ApiProblem(
        ProblemType.DEVICE_NOT_FOUND,
        "no registered device '" + ds.deviceId() + "'; register it first (POST /api/v1/devices)");
  }

  private void revoke(Context ctx) throws SQLException {
    DeviceScope ds = deviceScope(ctx);
    if (grants.revoke(ds.deviceId(), ds.scope(), now()).isEmpty()) {
      throw new ApiProblem(
          ProblemType.NOT_FOUND,
          "device '" + ds.deviceId() + "' has no access to scope '" + ds.scope() + "'");
    }
    ctx.status(204);
  }

  // ----------------------------------------------------------------------------- sync state

  /** What operators see of a device's sync. */
  record DeviceState(
      String deviceId,
      List<ScopeView> scopes,
      long feedHead,
      SyncStateStore.LastPull lastPull,
      SyncStateStore.PullError lastPullError,
      SyncStateStore.LastPush lastPush,
      SyncStateStore.Totals totals,
      Instant lastConflictAt,
      Instant lastRejectionAt,
      List<SyncStateStore.Rejection> recentRejections) {}

  /** A scope the device may use, since when. */
  record ScopeView(String scope, Instant grantedAt) {}

  private void deviceState(Context ctx) throws SQLException {
    String device = ctx.pathParam("device_id");
    if (!SyncEvent.isDeviceId(device)) {
      throw ApiProblem.invalid("device_id", device, SyncEvent.DEVICE_ID_RULE);
    }
    Optional<SyncStateStore.State> state = states.state(device);
    if (state.isEmpty() && !grants.registered(device)) throw noDevice(device);
    var s = state.orElse(SyncStateStore.NEVER_SYNCED);
    ctx.json(
        new DeviceState(
            device,
            grants.scopes(device).stream()
                .map(g -> new ScopeView(g.scope(), g.grantedAt()))
                .toList(),
            feed.head(),
            s.lastPull(),
            s.lastPullError(),
            s.lastPush(),
            s.totals(),
            s.lastConflictAt(),
            s.lastRejectionAt(),
            states.recentRejections(device)));
  }

  private static ApiProblem noDevice(String device) {
    return new ApiProblem(ProblemType.DEVICE_NOT_FOUND, "no registered device '" + device + "'");
  }

  // -------------------------------------------------------------------------------- records

  private void listRecords(Context ctx) throws SQLException {
    var params = new QueryParams(ctx);
    Optional<String> scope = params.text("scope", 128);
    Optional<String> collection = params.text("collection", 64);
    boolean includeDeleted = params.bool("include_deleted");
    int limit = params.integer("limit", 50, 1, 500);
    Optional<String> cursor = params.text("cursor", 1_000);
    params.check();
    scope.filter(s -> !SyncIds.isId(s)).ifPresent(s -> invalid("scope", s, SyncIds.ID_RULE));
    collection
        .filter(s -> !SyncIds.isCollection(s))
        .ifPresent(s -> invalid("collection", s, SyncIds.COLLECTION_RULE));
    Optional<RecordKey> after = cursor.map(SyncAdminRoutes::decodeKey);
    var filter = new RecordBrowser.Filter(scope, collection, includeDeleted);
    List<RecordView> rows =
        records.list(filter, limit + 1, after).stream().map(RecordView::of).toList();
    ctx.json(Page.of(rows, limit, r -> Cursor.encode(r.scope(), r.collection(), r.recordId())));
  }

  private static void invalid(String field, String value, String rule) {
    throw ApiProblem.invalid(field, value, rule);
  }

  private static RecordKey decodeKey(String cursor) {
    List<String> parts = Cursor.decode(cursor, 3);
    try {
      return new RecordKey(parts.get(0), parts.get(1), parts.get(2));
    } catch (IllegalArgumentException e) {
      throw Cursor.badCursor(cursor);
    }
  }

  /** A record, and how many entries its conflict history has. */
  record RecordDetail(RecordView record, long conflicts) {}

  private void record(Context ctx) throws SQLException {
    RecordKey key = visibleKey(ctx);
    StoredRecord found = records.find(key).orElseThrow(() -> noRecord(key));
    ctx.json(new RecordDetail(RecordView.of(found), records.conflictCount(key)));
  }

  private void conflicts(Context ctx) throws SQLException {
    RecordKey key = visibleKey(ctx);
    var params = new QueryParams(ctx);
    int limit = params.integer("limit", 50, 1, 500);
    Optional<String> cursor = params.text("cursor", 200);
    params.check();
    long after = cursor.map(SyncAdminRoutes::decodeId).orElse(0L);
    if (records.find(key).isEmpty() && records.conflictCount(key) == 0) throw noRecord(key);
    List<RecordBrowser.ConflictView> rows = records.conflicts(key, limit + 1, after);
    ctx.json(Page.of(rows, limit, c -> Cursor.encode(Long.toString(c.id()))));
  }

  private static long decodeId(String cursor) {
    try {
      long id = Long.parseLong(Cursor.decode(cursor, 1).getFirst());
      if (id < 0) throw Cursor.badCursor(cursor);
      Cursor.requireIssued(cursor, Long.toString(id));
      return id;
    } catch (NumberFormatException e) {
      throw Cursor.badCursor(cursor);
    }
  }

  /** The record named by the path; a device sees only records of its own scopes. */
  private RecordKey visibleKey(Context ctx) throws SQLException {
    String collection = ctx.pathParam("collection");
    String scope = ctx.pathParam("scope");
    String recordId = ctx.pathParam("record_id");
    List<FieldError> errors = new ArrayList<>();
    if (!SyncIds.isCollection(collection)) {
      errors.add(new FieldError("collection", collection, SyncIds.COLLECTION_RULE));
    }
    if (!SyncIds.isId(scope)) errors.add(new FieldError("scope", scope, SyncIds.ID_RULE));
    if (!SyncIds.isId(recordId)) {
      errors.add(new FieldError("record_id", recordId, SyncIds.ID_RULE));
    }
    if (!errors.isEmpty()) throw ApiProblem.invalid(errors);
    RecordKey key = new RecordKey(scope, collection, recordId);
    if (Principal.of(ctx) instanceof Principal.Device(String device)
        && grants.scopes(device).stream().noneMatch(g -> g.scope().equals(scope))) {
      throw noRecord(key);
    }
    return key;
  }

  private static ApiProblem noRecord(RecordKey key) {
    return new ApiProblem(ProblemType.NOT_FOUND, "no record " + key);
  }
}
