package io.pisync.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.pisync.http.ApiProblem;
import io.pisync.http.FieldError;
import io.pisync.http.JsonBody;
import io.pisync.http.JsonFields;
import io.pisync.http.ProblemType;
import io.pisync.http.Routes;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Sign-in with tokens, and account administration. */
public final class AuthRoutes {
  private final Accounts accounts;
  private final Tokens tokens;
  private final LoginThrottle throttle;
  private final ObjectMapper mapper;
  private final InstantSource clock;

  public AuthRoutes(
      Accounts accounts,
      Tokens tokens,
      ObjectMapper mapper,
      InstantSource clock,
      int addressMaxFailures,
      Duration lockDuration,
      Duration failureDelay) {
    this.accounts = accounts;
    this.tokens = tokens;
    this.mapper = mapper;
    this.clock = clock;
    this.throttle = new LoginThrottle(clock, addressMaxFailures, lockDuration, failureDelay);
  }

  public void register(Routes routes) {
    routes
        .post("/api/v1/auth/login", Access.PUBLIC, this::login)
        .post("/api/v1/auth/refresh", Access.PUBLIC, this::refresh)
        .post("/api/v1/auth/logout", Access.PUBLIC, this::logout)
        .get("/api/v1/auth/me", Access.VIEWER, this::me)
        .get("/api/v1/accounts", Access.ADMIN, this::list)
        .post("/api/v1/accounts", Access.ADMIN, this::create)
        .patch("/api/v1/accounts/{username}", Access.ADMIN, this::change)
        .delete("/api/v1/accounts/{username}", Access.ADMIN, this::delete);
  }

  /** The answer to a sign-in or refresh. */
  public record TokenAnswer(
      String accessToken,
      String tokenType,
      long expiresIn,
      String refreshToken,
      String username,
      String role) {
    static TokenAnswer of(Tokens.Issued issued) {
      return new TokenAnswer(
          issued.accessToken(),
          "Bearer",
          issued.expiresIn(),
          issued.refreshToken(),
          issued.username(),
          issued.role().wire());
    }
  }

  private void login(Context ctx) throws InterruptedException {
    var fields = new JsonFields(JsonBody.read(ctx, mapper), Set.of("username", "password"));
    String username = fields.text("username", true);
    String password = fields.secret("password");
    fields.check();
    String address = ctx.ip();
    throttle.lockedUntil(address).ifPresent(until -> throw429(until, "this address"));
    Accounts.SignIn outcome =
        Accounts.USERNAME.matcher(username).matches()
            ? accounts.signIn(username, password)
            : new Accounts.SignIn.WrongCredentials();
    switch (outcome) {
      case Accounts.SignIn.Success ok -> {
        throttle.succeeded(address);
        ctx.json(
            TokenAnswer.of(
                tokens.issue(ok.username(), ok.role(), ok.epoch(), Tokens.newSession())));
      }
      case Accounts.SignIn.Locked locked -> throw429(locked.until(), "this account");
      case Accounts.SignIn.WrongCredentials wrong -> {
        throttle.failed(address);
        ctx.header("WWW-Authenticate", Guard.CHALLENGE);
        throw new ApiProblem(ProblemType.UNAUTHENTICATED, "wrong username or password");
      }
    }
  }

  private void throw429(Instant until, String what) {
    long seconds = Math.max(1, Duration.between(clock.instant(), until).toSeconds());
    throw ApiProblem.retryLater(
        ProblemType.LOGIN_LOCKED,
        "too many failed sign-ins for " + what + "; locked until " + until,
        (int) Math.min(Integer.MAX_VALUE, seconds));
  }

  private void refresh(Context ctx) {
    String token = refreshToken(ctx);
    Tokens.Spent spent =
        tokens
            .spendRefresh(token)
            .orElseThrow(() ->
                new ApiProblem(
                    ProblemType.UNAUTHENTICATED,
                    "the refresh token is unknown, spent, expired or revoked: sign in again"));
    // Gone, or signed out everywhere since this refresh token was issued: no new pair.
    Role role =
        accounts
            .role(spent.username(), spent.epoch())
            .orElseThrow(() ->
                new ApiProblem(
                    ProblemType.UNAUTHENTICATED,
                    "the account no longer exists or was signed out everywhere: sign in again"));
    ctx.json(TokenAnswer.of(tokens.issue(spent.username(), role, spent.epoch(), spent.session())));
  }

  private void logout(Context ctx) {
    tokens.logout(refreshToken(ctx));
    ctx.status(204);
  }

  private String refreshToken(Context ctx) {
    var fields = new JsonFields(JsonBody.read(ctx, mapper), Set.of("refresh_token"));
    String token = fields.secret("refresh_token");
    fields.check();
    return token;
  }

  private void me(Context ctx) {
    var person = (Principal.Person) Principal.of(ctx);
    ctx.json(Map.of("username", person.username(), "role", person.role().wire()));
  }

  private void list(Context ctx) {
    ctx.json(Map.of("items", accounts.list().stream().map(AuthRoutes::view).toList()));
  }

  private static Map<String, Object> view(Accounts.Account a) {
    var map = new java.util.LinkedHashMap<String, Object>();
    map.put("username", a.username());
    map.put("role", a.role().wire());
    map.put("created_at", a.createdAt());
    map.put("locked_until", a.lockedUntil());
    return map;
  }

  private void create(Context ctx) {
    var fields = new JsonFields(JsonBody.read(ctx, mapper), Set.of("username", "password", "role"));
    String username = fields.text("username", true);
    String password = fields.secret("password");
    Role role = role(fields, true);
    fields.add(Accounts.problems(username, password));
    fields.check();
    if (!accounts.create(username, password, role)) {
      throw new ApiProblem(
          ProblemType.ALREADY_EXISTS, "an account named '" + username + "' already exists");
    }
    ctx.status(201).json(view(accounts.find(username).orElseThrow()));
  }

  private void change(Context ctx) {
    String username = username(ctx);
    var fields = new JsonFields(JsonBody.read(ctx, mapper), Set.of("password", "role"));
    String password = fields.optionalSecret("password");
    Role role = role(fields, false);
    if (password != null) fields.add(Accounts.passwordProblems(password));
    fields.check();
    if (accounts.find(username).isEmpty()) throw noSuchAccount(username);
    if (role != null) outcome(accounts.setRole(username, role), username);
    if (password != null) accounts.setPassword(username, password);
    ctx.json(view(accounts.find(username).orElseThrow(() -> noSuchAccount(username))));
  }

  private void delete(Context ctx) {
    String username = username(ctx);
    outcome(accounts.delete(username), username);
    ctx.status(204);
  }

  /** The account named in the path; a name no account could have is a 400 naming it. */
  private static String username(Context ctx) {
    String username = ctx.pathParam("username");
    if (!Accounts.USERNAME.matcher(username).matches()) {
      throw ApiProblem.invalid("username", username, Accounts.USERNAME_RULE);
    }
    return username;
  }

  private static void outcome(Accounts.Change change, String username) {
    switch (change) {
      case DONE -> {}
      case NO_SUCH_ACCOUNT -> throw noSuchAccount(username);
      case LAST_ADMIN ->
          throw new ApiProblem(
              ProblemType.LAST_ADMIN,
              "'" + username + "' is the last admin; make another admin first");
    }
  }

  private static Role role(JsonFields fields, boolean required) {
    String text = fields.text("role", required);
    if (text == null) return null;
    return Role.parse(text)
        .orElseGet(() -> {
          fields.add(
              List.of(new FieldError("role", text, "must be one of admin, operator, viewer")));
          return null;
        });
  }

  private static ApiProblem noSuchAccount(String username) {
    return new ApiProblem(ProblemType.NOT_FOUND, "no account named '" + username + "'");
  }
}
