package io.pisync.auth;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.pisync.http.ApiProblem;
import io.pisync.http.JsonBody;
import io.pisync.http.ProblemType;
import io.pisync.http.Routes;
import io.pisync.server.Config;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs before every route's handler: finds who is calling, applies their rate limit, and checks the
 * route's {@link Access}. A device key never passes for a person, nor a person's token for a
 * device.
 */
public final class Guard {
  static final String CHALLENGE = "Bearer realm=\"pisync\"";

  /** Path parameters that name a device: a device may only use its own id there. */
  private static final List<String> DEVICE_PARAMS = List.of("device_id", "id");

  /** What a gzip body may decompress to on routes anyone may call (their bodies are small). */
  private static final long PUBLIC_MAX_INFLATED_BYTES = 64 * 1024;

  private final DeviceKeys keys;
  private final Accounts accounts;
  private final Tokens tokens;
  private final RateLimits limits;
  private final Config.Security security;

  public Guard(
      DeviceKeys keys,
      Accounts accounts,
      Tokens tokens,
      RateLimits limits,
      Config.Security security) {
    this.keys = keys;
    this.accounts = accounts;
    this.tokens = tokens;
    this.limits = limits;
    this.security = security;
  }

  /** The route's handler behind the checks. */
  public Handler protect(Routes.Route route) {
    Handler handler = route.handler();
    Access access = route.access();
    return ctx -> {
      check(access, ctx);
      handler.handle(ctx);
    };
  }

  private void check(Access access, Context ctx) {
    switch (access) {
      case PROBE -> {}
      case METRICS -> checkMetricsToken(ctx);
      case PUBLIC -> {
        limit(ctx, "address:" + ctx.ip(), security.addressRequestsPerMinute());
        ctx.attribute(JsonBody.MAX_INFLATED_BYTES, PUBLIC_MAX_INFLATED_BYTES);
      }
      default -> {
        Principal principal = authenticate(ctx);
        switch (principal) {
          case Principal.Device d ->
              limit(ctx, "device:" + d.deviceId(), security.deviceRequestsPerMinute());
          case Principal.Person p ->
              limit(ctx, "account:" + p.username(), security.accountRequestsPerMinute());
          case Principal.Anonymous a -> throw new IllegalStateException("authenticated");
        }
        ctx.attribute(Principal.ATTRIBUTE, principal);
        authorize(access, principal, ctx);
      }
    }
  }

  private Principal authenticate(Context ctx) {
    requireOneCredential(ctx);
    Optional<String> apiKey = Optional.ofNullable(ctx.header("X-API-Key"));
    Optional<String> bearer = bearer(ctx);
    if (apiKey.isEmpty() && bearer.isEmpty()) {
      throw unauthenticated(
          ctx,
          "send a device key (Authorization: Bearer or X-API-Key) or an"
              + " access token from POST /api/v1/auth/login");
    }
    Optional<Principal> principal;
    if (apiKey.isPresent() || bearer.get().startsWith(DeviceKeys.KEY_PREFIX)) {
      principal = keys.authenticate(apiKey.orElseGet(bearer::get)).map(Principal.Device::new);
    } else {
      principal =
          tokens
              .verifyAccess(bearer.get())
              .flatMap(access ->
                  accounts
                      .role(access.username(), access.epoch())
                      .map(role -> new Principal.Person(access.username(), role)));
    }
    return principal.orElseThrow(
        () -> unauthenticated(ctx, "the credentials are wrong, expired or revoked"));
  }

  /**
   * Two credentials would leave it to the server which one acts (a device's key in one header and
   * another's in the other): refused, never picked. Only credentials PiSync reads count: an {@code
   * Authorization: Basic} a proxy in front passes on beside {@code X-API-Key} is no second.
   */
  private static void requireOneCredential(Context ctx) {
    int authorization = 0;
    for (String value : Collections.list(ctx.req().getHeaders("Authorization"))) {
      if (value.regionMatches(true, 0, "Bearer ", 0, 7)) authorization++;
    }
    int apiKey = count(ctx, "X-API-Key");
    if (authorization + apiKey > 1) {
      String field = apiKey > 1 ? "X-API-Key" : "Authorization";
      throw ApiProblem.invalid(
          field,
          "(not shown)",
          "send one credential: one Authorization: Bearer header or one X-API-Key header, not "
              + (authorization > 0 && apiKey > 0 ? "both" : "several"));
    }
  }

  private static int count(Context ctx, String header) {
    return Collections.list(ctx.req().getHeaders(header)).size();
  }

  /** Failed authentications count against the client address, to slow down guessing. */
  private ApiProblem unauthenticated(Context ctx, String detail) {
    limit(ctx, "address:" + ctx.ip(), security.addressRequestsPerMinute());
    ctx.header("WWW-Authenticate", CHALLENGE);
    return new ApiProblem(ProblemType.UNAUTHENTICATED, detail);
  }

  private static void authorize(Access access, Principal principal, Context ctx) {
    boolean allowed =
        switch (access) {
          case DEVICE -> principal instanceof Principal.Device;
          case DEVICE_OR_VIEWER -> true;
          case DEVICE_OR_ADMIN ->
              principal instanceof Principal.Device
                  || principal instanceof Principal.Person p && p.role() == Role.ADMIN;
          case VIEWER -> isPerson(principal, Role.VIEWER);
          case OPERATOR -> isPerson(principal, Role.OPERATOR);
          case ADMIN -> isPerson(principal, Role.ADMIN);
          case PROBE, PUBLIC, METRICS -> true;
        };
    if (!allowed) {
      throw new ApiProblem(ProblemType.FORBIDDEN, forbidden(access, principal));
    }
    if (principal instanceof Principal.Device) {
      Map<String, String> params = ctx.pathParamMap();
      for (String name : DEVICE_PARAMS) {
        if (params.containsKey(name)) Principal.requireSelf(ctx, params.get(name));
      }
    }
  }

  private static boolean isPerson(Principal principal, Role least) {
    return principal instanceof Principal.Person p && p.role().atLeast(least);
  }

  private static String forbidden(Access access, Principal principal) {
    String who =
        switch (principal) {
          case Principal.Device d -> "the key of device '" + d.deviceId() + "'";
          case Principal.Person p -> p.role().wire() + " '" + p.username() + "'";
          case Principal.Anonymous a -> "anonymous";
        };
    String needs =
        switch (access) {
          case DEVICE -> "a device key";
          case DEVICE_OR_ADMIN -> "a device key or an admin";
          case VIEWER -> "a signed-in person";
          case OPERATOR -> "an operator or admin";
          case ADMIN -> "an admin";
          default -> "other credentials";
        };
    return who + " may not do this: it needs " + needs;
  }

  private void checkMetricsToken(Context ctx) {
    if (security.metricsToken().isEmpty()) return;
    Optional<String> given = bearer(ctx);
    if (given.isEmpty() || !Secrets.equal(given.get(), security.metricsToken().get())) {
      throw unauthenticated(ctx, "metrics need the configured token (PISYNC_METRICS_TOKEN)");
    }
  }

  private void limit(Context ctx, String key, int perMinute) {
    RateLimits.Verdict verdict = limits.take(key, perMinute);
    ctx.header("RateLimit-Limit", Long.toString(verdict.limit()));
    ctx.header("RateLimit-Remaining", Long.toString(verdict.remaining()));
    ctx.header("RateLimit-Reset", Long.toString(verdict.resetSeconds()));
    if (!verdict.allowed()) {
      throw ApiProblem.retryLater(
          ProblemType.RATE_LIMITED,
          "more than " + perMinute + " requests per minute; retry after the given seconds",
          (int) Math.min(Integer.MAX_VALUE, verdict.retryAfterSeconds()));
    }
  }

  private static Optional<String> bearer(Context ctx) {
    String header = ctx.header("Authorization");
    if (header == null || header.length() < 8 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    String value = header.substring(7).strip();
    return value.isEmpty() ? Optional.empty() : Optional.of(value);
  }
}
