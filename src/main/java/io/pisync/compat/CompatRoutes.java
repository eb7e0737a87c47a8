package io.pisync.compat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.pisync.auth.Access;
import io.pisync.auth.Principal;
import io.pisync.device.DeviceStore;
import io.pisync.http.ApiProblem;
import io.pisync.http.JsonBody;
import io.pisync.http.ProblemType;
import io.pisync.http.QueryParams;
import io.pisync.http.Routes;
import io.pisync.telemetry.EventParser;
import io.pisync.telemetry.IngestOutcome;
import io.pisync.telemetry.Ingestion;
import io.pisync.telemetry.StoredEvent;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The routes of the two earlier PiSync APIs, so devices and tools built for them keep working:
 * contract A under {@code /api/piSync} and contract B under {@code /api/sync-event}. Both store
 * through the same ingestion as v1 and share its validation (in the parser's FIELD mode), and both
 * use v1's definition of repeated failures. {@code {id}} is the device's own id.
 */
public final class CompatRoutes {
  private static final String A = "/api/piSync";
  private static final String B = "/api/sync-event";
  private static final String TOTAL_COUNT = "X-Total-Count";
  private static final int HISTORY_DEFAULT_LIMIT = 50; // A's fixed page size
  private static final int HISTORY_MAX_LIMIT = 200;
  private static final int A_FAILURES_DEFAULT_LIMIT = 20; // A's fixed page size
  private static final int A_FAILURES_MAX_LIMIT = 100;
  private static final int B_FAILURES_DEFAULT_LIMIT = 100; // B had no limit at all
  private static final int B_FAILURES_MAX_LIMIT = 500;

  private final Ingestion ingestion;
  private final CompatStore store;
  private final DeviceStore devices;
  private final EventParser parser;
  private final ObjectMapper mapper;
  private final InstantSource clock;

  public CompatRoutes(
      Ingestion ingestion,
      DataSource dataSource,
      DeviceStore devices,
      EventParser parser,
      ObjectMapper mapper,
      InstantSource clock) {
    this.ingestion = ingestion;
    this.store = new CompatStore(dataSource);
    this.devices = devices;
    this.parser = parser;
    this.mapper = mapper;
    this.clock = clock;
  }

  public void register(Routes routes) {
    routes
        .post(A + "/sync-event", Access.DEVICE, this::reportA)
        .get(A + "/device/{id}/sync-history", Access.DEVICE_OR_VIEWER, this::historyA)
        .get(A + "/devices/repeated-failures", Access.VIEWER, this::repeatedFailuresA)
        .post(B, Access.DEVICE, this::reportB)
        .get(B + "/device/{id}/sync-history", Access.DEVICE_OR_VIEWER, this::historyB)
        .get(B + "/devices/repeated-failures", Access.VIEWER, this::repeatedFailuresB);
  }

  private void reportA(Context ctx) throws SQLException {
    IngestOutcome outcome = ingest(ctx);
    ctx.status(statusOf(outcome)).json(ContractA.Event.of(outcome.event()));
  }

  private void reportB(Context ctx) throws SQLException {
    IngestOutcome outcome = ingest(ctx);
    ctx.status(statusOf(outcome)).json(ContractB.Event.of(outcome.event()));
  }

  private IngestOutcome ingest(Context ctx) throws SQLException {
    return switch (parser.parse(JsonBody.read(ctx, mapper))) {
      case EventParser.Parsed.Valid v -> {
        Principal.requireSelf(ctx, v.event().deviceId());
        yield ingestion.single(v.event());
      }
      case EventParser.Parsed.Invalid i -> throw ApiProblem.invalid(i.errors());
    };
  }

  /** A replayed event_id answers 200 with the original. */
  private static int statusOf(IngestOutcome outcome) {
    return outcome instanceof IngestOutcome.Created ? 201 : 200;
  }

  private void historyA(Context ctx) throws SQLException {
    PageRequest page = historyPage(ctx);
    String deviceId = ctx.pathParam("id");
    CompatStore.Device device = store.device(deviceId).orElseThrow(() -> deviceNotFound(deviceId));
    List<StoredEvent> events = store.history(deviceId, page);
    ctx.json(ContractA.History.of(device, events, page));
  }

  /** B answered an unknown device with an empty list, never 404. */
  private void historyB(Context ctx) throws SQLException {
    PageRequest page = historyPage(ctx);
    String deviceId = ctx.pathParam("id");
    Optional<CompatStore.Device> device = store.device(deviceId);
    List<StoredEvent> events =
        device.isPresent() ? store.history(deviceId, page) : List.<StoredEvent>of();
    ctx.header(TOTAL_COUNT, Long.toString(device.map(CompatStore.Device::totalSyncs).orElse(0L)));
    ctx.json(events.stream().map(ContractB.Event::of).toList());
  }

  private static PageRequest historyPage(Context ctx) {
    var params = new QueryParams(ctx);
    PageRequest page = PageRequest.read(params, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT);
    params.check();
    return page;
  }

  /** A problem+json 404 that also carries A's {@code error} member, which A's clients read. */
  private static ApiProblem deviceNotFound(String deviceId) {
    return new ApiProblem(ProblemType.DEVICE_NOT_FOUND, "no device '" + deviceId + "'")
        .withMember("error", "Device not found");
  }

  private void repeatedFailuresA(Context ctx) throws SQLException {
    FailureRequest request =
        FailureRequest.read(ctx, clock, A_FAILURES_DEFAULT_LIMIT, A_FAILURES_MAX_LIMIT);
    CompatStore.FailureSummary summary = store.failureSummary(request.query());
    List<CompatStore.FailingDevice> page = store.failingDevices(request.query(), request.page());
    List<String> ids = page.stream().map(f -> f.device().deviceId()).toList();
    var failedOnly = new DeviceStore.FailureCriteria(0, request.query().since(), false, false);
    var recent = devices.newestFailures(ids, failedOnly);
    ctx.json(ContractA.RepeatedFailures.of(summary, page, recent, request));
  }

  private void repeatedFailuresB(Context ctx) throws SQLException {
    FailureRequest request =
        FailureRequest.read(ctx, clock, B_FAILURES_DEFAULT_LIMIT, B_FAILURES_MAX_LIMIT);
    long total = store.failureSummary(request.query()).devices();
    List<CompatStore.FailingDevice> page = store.failingDevices(request.query(), request.page());
    ctx.header(TOTAL_COUNT, Long.toString(total));
    ctx.json(page.stream().map(f -> new ContractB.DeviceRef(f.device().deviceId())).toList());
  }
}
