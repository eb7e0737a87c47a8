package io.pisync.sync;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.pisync.auth.Access;
import io.pisync.auth.Principal;
import io.pisync.http.ApiProblem;
import io.pisync.http.FieldError;
import io.pisync.http.ProblemType;
import io.pisync.http.QueryParams;
import io.pisync.http.Routes;
import io.pisync.sync.MutationParser.Parsed;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The device side of record sync: push, pull, both in one round trip, and the stream. */
final class SyncRoutes {
  private static final Logger log = LoggerFactory.getLogger(SyncRoutes.class);
  static final int DEFAULT_PULL_LIMIT = 1_000;
  static final int MAX_PULL_LIMIT = 10_000;

  private final PushStore pushes;
  private final FeedReader feed;
  private final SyncStreams streams;
  private final MutationParser parser;
  private final InstantSource clock;
  private final SyncSettings settings;
  private final PushBody.Reader bodies;

  SyncRoutes(
      PushStore pushes,
      FeedReader feed,
      SyncStreams streams,
      MutationParser parser,
      ObjectMapper mapper,
      InstantSource clock,
      SyncSettings settings) {
    this.pushes = pushes;
    this.feed = feed;
    this.streams = streams;
    this.parser = parser;
    this.clock = clock;
    this.settings = settings;
    this.bodies = new PushBody.Reader(mapper);
  }

  void register(Routes routes) {
    routes
        .post("/api/v1/sync/push", Access.DEVICE, this::push)
        .get("/api/v1/sync/pull", Access.DEVICE, this::pull)
        .post("/api/v1/sync", Access.DEVICE, this::sync)
        .get("/api/v1/sync/stream", Access.DEVICE, ctx -> streams.serve(ctx, device(ctx)));
  }

  /** The calling device. The server lets only devices with their own key reach these routes. */
  static String device(Context ctx) {
    if (Principal.of(ctx) instanceof Principal.Device(String deviceId)) return deviceId;
    throw new IllegalStateException("a device route ran without a device principal");
  }

  /** The answer to a push: one result per mutation, in order, and how many of each. */
  record PushResponse(
      int applied, int duplicates, int conflicts, int rejected, List<PushResult> results) {
    static PushResponse of(List<PushResult> results) {
      int[] n = new int[4];
      for (PushResult r : results) {
        switch (r) {
          case PushResult.Applied a -> n[0]++;
          case PushResult.Duplicate d -> n[1]++;
          case PushResult.Conflict c -> n[2]++;
          case PushResult.Rejected x -> n[3]++;
        }
      }
      return new PushResponse(n[0], n[1], n[2], n[3], results);
    }
  }

  /** A page of changes. {@code revoked_scopes}: drop these scopes' data before applying. */
  record PullResponse(
      List<RecordView> changes, List<String> revokedScopes, String cursor, boolean hasMore) {
    static PullResponse of(FeedReader.Page page) {
      return new PullResponse(
          page.changes(), page.revokedScopes(), page.next().encode(), page.hasMore());
    }
  }

  record SyncResponse(PushResponse push, PullResponse pull) {}

  private void push(Context ctx) throws SQLException {
    String device = device(ctx);
    PushBody body = bodies.read(ctx);
    checkFields(body.tree(), Set.of("mutations"));
    List<Parsed> items = mutations(body, true);
    ctx.json(PushResponse.of(pushes.push(device, items, now())));
  }

  private void pull(Context ctx) throws SQLException {
    String device = device(ctx);
    var params = new QueryParams(ctx);
    int limit = params.integer("limit", DEFAULT_PULL_LIMIT, 1, MAX_PULL_LIMIT);
    Optional<String> cursor = params.text("cursor", 500);
    params.check();
    if (ctx.method() == HandlerType.HEAD) {
      // the same answer without its body: nothing was delivered, so nothing goes in the sync state
      Optional<SyncCursor> from = cursor.map(SyncCursor::decode);
      ctx.json(PullResponse.of(feed.pull(device, from, limit)));
      return;
    }
    Optional<SyncCursor> from = noted(device, () -> cursor.map(SyncCursor::decode));
    ctx.json(pullPage(device, from, limit));
  }

  private PullResponse pullPage(String device, Optional<SyncCursor> cursor, int limit)
      throws SQLException {
    FeedReader.Page page = noted(device, () -> feed.pull(device, cursor, limit));
    recordPull(device, page);
    return PullResponse.of(page);
  }

  private interface PullStep<T> {
    T run() throws SQLException;
  }

  /**
   * Runs a step of a pull; a cursor the server refuses (not its own, or older than its deletions)
   * is noted in the device's sync state before the problem goes back, so a device stuck on it shows
   * up for operators.
   */
  private <T> T noted(String device, PullStep<T> step) throws SQLException {
    try {
      return step.run();
    } catch (ApiProblem problem) {
      if (problem.type() == ProblemType.BAD_CURSOR
          || problem.type() == ProblemType.RESYNC_REQUIRED) {
        try {
          feed.recordFailedPull(device, problem, now());
        } catch (SQLException | RuntimeException e) {
          log.warn("refused pull by {} not noted in its sync state: {}", device, e.toString());
        }
      }
      throw problem;
    }
  }

  /**
   * Notes the pull for operators. The page is correct whatever becomes of the note: a failure is
   * logged, never turned into an error for the device (which would pull the same page again).
   */
  private void recordPull(String device, FeedReader.Page page) {
    try {
      feed.recordPull(device, page, now());
    } catch (SQLException | RuntimeException e) {
      log.warn("pull by {} answered, but not noted in its sync state: {}", device, e.toString());
    }
  }

  /**
   * Push, then pull. Without a cursor the pull is an initial sync that leaves out what this push
   * just stored (the device has it). When the pull finds the cursor too old (410), the push is
   * stored all the same and its answer travels in the problem's {@code push} member.
   */
  private void sync(Context ctx) throws SQLException {
    String device = device(ctx);
    PushBody body = bodies.read(ctx);
    checkFields(body.tree(), Set.of("mutations", "cursor", "limit"));
    List<Parsed> items = body.tree().has("mutations") ? mutations(body, false) : List.of();
    Optional<SyncCursor> cursor =
        noted(device, () -> textField(body.tree(), "cursor").map(SyncCursor::decode));
    int limit = limit(body.tree());
    if (cursor.isEmpty()) cursor = Optional.of(SyncCursor.initial(feed.head()));
    PushResponse pushed =
        PushResponse.of(items.isEmpty() ? List.of() : pushes.push(device, items, now()));
    try {
      ctx.json(new SyncResponse(pushed, pullPage(device, cursor, limit)));
    } catch (ApiProblem problem) {
      throw problem.type() == ProblemType.RESYNC_REQUIRED
          ? problem.withMember("push", pushed)
          : problem;
    }
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }

  private static void checkFields(JsonNode body, Set<String> allowed) {
    if (!body.isObject()) {
      throw ApiProblem.invalid(
          "", "(" + body.getNodeType().name().toLowerCase() + ")", "must be a JSON object");
    }
    List<FieldError> errors = new ArrayList<>();
    body.fieldNames()
        .forEachRemaining(name -> {
          if (!allowed.contains(name)) errors.add(FieldError.unknown(name, body.get(name)));
        });
    if (!errors.isEmpty()) throw ApiProblem.invalid(errors);
  }

  /** Parses every item; an invalid item becomes a rejected result, never a 400 for the rest. */
  private List<Parsed> mutations(PushBody body, boolean required) {
    JsonNode array = body.tree().get("mutations");
    int max = settings.maxPushMutations();
    if ((array == null || array.isNull()) && !required) return List.of();
    if (array == null || !array.isArray()) {
      throw ApiProblem.invalid(
          "mutations",
          array == null ? null : FieldError.shorten(array),
          "is required: an array of 1 to " + max + " mutations");
    }
    if ((required && array.isEmpty()) || array.size() > max) {
      throw ApiProblem.invalid(
          "mutations",
          array.size() + " mutations",
          "must hold " + (required ? 1 : 0) + " to " + max + " mutations");
    }
    List<Parsed> items = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      items.add(parser.parse(array.get(i), body.itemErrors().get(i)));
    }
    return items;
  }

  private static Optional<String> textField(JsonNode body, String field) {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) return Optional.empty();
    if (!node.isTextual() || node.textValue().length() > 500) {
      throw ApiProblem.invalid(
          field, FieldError.shorten(node), "must be a cursor this server issued");
    }
    return Optional.of(node.textValue());
  }

  private static int limit(JsonNode body) {
    JsonNode node = body.get("limit");
    if (node == null || node.isNull()) return DEFAULT_PULL_LIMIT;
    if (!node.isIntegralNumber()
        || !node.canConvertToInt()
        || node.intValue() < 1
        || node.intValue() > MAX_PULL_LIMIT) {
      throw ApiProblem.invalid(
          "limit", FieldError.shorten(node), "must be between 1 and " + MAX_PULL_LIMIT);
    }
    return node.intValue();
  }
}
