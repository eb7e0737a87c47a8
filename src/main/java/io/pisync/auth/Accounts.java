package io.pisync.auth;

import io.pisync.http.FieldError;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/** Admin accounts: Argon2id password hashes, roles, and lockout after repeated failed sign-ins. */
public final class Accounts {
  public static final Pattern USERNAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
  public static final String USERNAME_RULE = "must be 1-64 of A-Z a-z 0-9 . _ @ -";
  public static final int MIN_PASSWORD = 12;
  public static final int MAX_PASSWORD = 1024;

  private final Jdbi jdbi;
  private final InstantSource clock;
  private final int maxFailures;
  private final Duration lockDuration;
  private final CredentialCache cache;

  public Accounts(
      Jdbi jdbi,
      InstantSource clock,
      int maxFailures,
      Duration lockDuration,
      CredentialCache cache) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.maxFailures = maxFailures;
    this.lockDuration = lockDuration;
    this.cache = cache;
  }

  /** An account as listed; never carries the hash. */
  public record Account(String username, Role role, Instant createdAt, Instant lockedUntil) {}

  /** Outcome of a sign-in attempt. */
  public sealed interface SignIn {
    /** {@code epoch}: the account's token epoch, read with the password hash it checked. */
    record Success(String username, Role role, int epoch) implements SignIn {}

    record WrongCredentials() implements SignIn {}

    record Locked(Instant until) implements SignIn {}
  }

  /** Problems of a new username/password pair; the password itself is never echoed. */
  public static List<FieldError> problems(String username, String password) {
    var errors = new ArrayList<FieldError>();
    if (username == null || !USERNAME.matcher(username).matches()) {
      errors.add(new FieldError("username", username, USERNAME_RULE));
    }
    errors.addAll(passwordProblems(password));
    return errors;
  }

  public static List<FieldError> passwordProblems(String password) {
    if (password == null
        || password.length() < MIN_PASSWORD
        || password.length() > MAX_PASSWORD
        || password.indexOf('\0') >= 0) {
      return List.of(
          new FieldError(
              "password",
              "(not shown)",
              "must be " + MIN_PASSWORD + "-" + MAX_PASSWORD + " characters, without NUL"));
    }
    return List.of();
  }

  /** Creates an account; false if the name is taken. */
  public boolean create(String username, String password, Role role) {
    String hash = Passwords.hash(password);
    return jdbi.withHandle(h ->
        h.createUpdate(
                """
                INSERT INTO accounts (username, password_hash, role, created_at)
                VALUES (:u, :h, :r, :now) ON CONFLICT (username) DO NOTHING\
                """)
            .bind("u", username)
            .bind("h", hash)
            .bind("r", role.wire())
            .bind("now", DeviceKeys.at(clock.instant()))
            .execute())
        == 1;
  }

  /** Creates the first admin when there is no account at all; false if accounts exist. */
  public boolean createFirstAdmin(String username, String password) {
    // Every start but the first: no password hash to compute (Argon2id, 19 MiB).
    if (jdbi.withHandle(
        h -> h.createQuery("SELECT EXISTS (SELECT 1 FROM accounts)").mapTo(Boolean.class).one())) {
      return false;
    }
    String hash = Passwords.hash(password);
    return jdbi.inTransaction(h -> {
      // Two instances starting together on one database: only one creates the admin.
      h.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE");
      if (h.createQuery("SELECT count(*) FROM accounts").mapTo(Long.class).one() > 0) {
        return false;
      }
      h.createUpdate(
              "INSERT INTO accounts (username, password_hash, role, created_at)"
                  + " VALUES (:u, :h, 'admin', :now)")
          .bind("u", username)
          .bind("h", hash)
          .bind("now", DeviceKeys.at(clock.instant()))
          .execute();
      return true;
    });
  }

  /**
   * The role of an account for a token of {@code epoch}: none when the account is gone or was
   * signed out everywhere (a password change starts a new epoch) since the token was issued.
   * Remembered until roles or epochs change anywhere (a change announces itself to every instance
   * at commit), so such changes and deletions apply at once.
   */
  public Optional<Role> role(String username, int epoch) {
    return standing(username).filter(s -> s.epoch() == epoch).map(Standing::role);
  }

  /** What a token's holder may do, remembered until any role or epoch changes. */
  private record Standing(Role role, int epoch) {}

  private Optional<Standing> standing(String username) {
    return cache.get("account:" + username, () -> lookUpStanding(username));
  }

  private Optional<Standing> lookUpStanding(String username) {
    return Reads.retryingLostConnection(() ->
        jdbi.withHandle(h ->
            h.createQuery("SELECT role, token_epoch FROM accounts WHERE username = :u")
                .bind("u", username)
                .map((rs, ctx) ->
                    new Standing(Role.parse(rs.getString(1)).orElseThrow(), rs.getInt(2)))
                .findOne()));
  }

  private static final String SELECT_ACCOUNT =
      "SELECT a.username, a.role, a.created_at, f.locked_until FROM accounts a"
          + " LEFT JOIN sign_in_failures f ON f.username = a.username";

  public List<Account> list() {
    return jdbi.withHandle(
        h -> h.createQuery(SELECT_ACCOUNT + " ORDER BY a.username").map(Accounts::account).list());
  }

  public Optional<Account> find(String username) {
    return jdbi.withHandle(h ->
        h.createQuery(SELECT_ACCOUNT + " WHERE a.username = :u")
            .bind("u", username)
            .map(Accounts::account)
            .findOne());
  }

  private static Account account(
      java.sql.ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx)
      throws java.sql.SQLException {
    return new Account(
        rs.getString("username"),
        Role.parse(rs.getString("role")).orElseThrow(),
        rs.getObject("created_at", OffsetDateTime.class).toInstant(),
        Optional.ofNullable(rs.getObject("locked_until", OffsetDateTime.class))
            .map(OffsetDateTime::toInstant)
            .orElse(null));
  }

  /** Outcome of a change that must leave at least one admin. */
  public enum Change {
    DONE,
    NO_SUCH_ACCOUNT,
    LAST_ADMIN
  }

  public Change setRole(String username, Role role) {
    return keepingAnAdmin(
        username,
        role != Role.ADMIN,
        h ->
            h.createUpdate("UPDATE accounts SET role = :r WHERE username = :u")
                .bind("u", username)
                .bind("r", role.wire())
                .execute());
  }

  /** Deletes the account and its refresh tokens. */
  public Change delete(String username) {
    return keepingAnAdmin(
        username,
        true,
        h ->
            h.createUpdate("DELETE FROM accounts WHERE username = :u")
                .bind("u", username)
                .execute());
  }

  /**
   * Runs a change that may take away an admin, under a lock, so two admins removing each other at
   * once cannot leave PiSync without one.
   */
  private Change keepingAnAdmin(
      String username,
      boolean removesAdmin,
      java.util.function.ToIntFunction<org.jdbi.v3.core.Handle> change) {
    Change outcome =
        jdbi.inTransaction(h -> {
          h.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE");
          Optional<String> role =
              h.createQuery("SELECT role FROM accounts WHERE username = :u")
                  .bind("u", username)
                  .mapTo(String.class)
                  .findOne();
          if (role.isEmpty()) return Change.NO_SUCH_ACCOUNT;
          if (removesAdmin
              && role.get().equals("admin")
              && h.createQuery("SELECT count(*) FROM accounts WHERE role = 'admin'")
                      .mapTo(Long.class)
                      .one()
                  <= 1) {
            return Change.LAST_ADMIN;
          }
          change.applyAsInt(h);
          return Change.DONE;
        });
    if (outcome == Change.DONE) cache.forgetAll();
    return outcome;
  }

  /**
   * Sets a new password, lifts any lock and signs the account out everywhere: its refresh tokens
   * are revoked and its access tokens refused from now on, on every instance.
   */
  public boolean setPassword(String username, String password) {
    String hash = Passwords.hash(password);
    boolean changed =
        jdbi.inTransaction(h -> {
          // A new token epoch: every token of the old one is refused from the commit on.
          int n =
              h.createUpdate(
                      "UPDATE accounts SET password_hash = :h, token_epoch = token_epoch + 1"
                          + " WHERE username = :u")
                  .bind("u", username)
                  .bind("h", hash)
                  .execute();
          if (n == 1) {
            h.createUpdate("DELETE FROM sign_in_failures WHERE username = :u")
                .bind("u", username)
                .execute();
          }
          Tokens.revokeAll(h, username, clock.instant());
          return n == 1;
        });
    if (changed) cache.forgetAll();
    return changed;
  }

  /**
   * Checks a password. Failures are counted per name in {@code sign_in_failures}, whether or not an
   * account has that name: a locked name is refused without looking at the password, every other
   * attempt takes one password hash, and a failure is counted by the same statement. So neither the
   * answers nor their timing tell which names exist. A success forgets the name's failures.
   */
  public SignIn signIn(String username, String password) {
    Instant now = clock.instant();
    record Row(String hash, Role role, int epoch, Instant lockedUntil, boolean failedBefore) {}
    Row row =
        jdbi.withHandle(h ->
            h.createQuery(
                    """
                    SELECT a.password_hash, a.role, a.token_epoch, f.locked_until,
                           f.username IS NOT NULL
                    FROM (SELECT CAST(:u AS text) AS name) n
                    LEFT JOIN accounts a ON a.username = n.name
                    LEFT JOIN sign_in_failures f ON f.username = n.name
                    """)
                .bind("u", username)
                .map((rs, ctx) ->
                    new Row(
                        rs.getString(1),
                        rs.getString(2) == null ? null : Role.parse(rs.getString(2)).orElseThrow(),
                        rs.getInt(3),
                        Optional.ofNullable(rs.getObject(4, OffsetDateTime.class))
                            .map(OffsetDateTime::toInstant)
                            .orElse(null),
                        rs.getBoolean(5)))
                .one());
    if (row.lockedUntil() != null && row.lockedUntil().isAfter(now)) {
      return new SignIn.Locked(row.lockedUntil());
    }
    if (row.hash() == null) {
      Passwords.burn(password);
    } else if (Passwords.matches(password, row.hash())) {
      if (row.failedBefore()) {
        jdbi.useHandle(h ->
            h.createUpdate("DELETE FROM sign_in_failures WHERE username = :u")
                .bind("u", username)
                .execute());
      }
      return new SignIn.Success(username, row.role(), row.epoch());
    }
    return countFailure(username, now);
  }

  /** How long failed sign-ins are remembered after the last one: then the count starts again. */
  private Duration failureMemory() {
    return lockDuration.plus(Duration.ofMinutes(15));
  }

  /** The count after one more failure: at {@code :max} the name is locked and counting restarts. */
  private static final String COUNT_FAILURE =
      """
      INSERT INTO sign_in_failures AS f (username, failed_logins, locked_until, last_failed_at)
      VALUES (:u, CASE WHEN 1 >= :max THEN 0 ELSE 1 END, CASE WHEN 1 >= :max THEN :until END, :now)
      ON CONFLICT (username) DO UPDATE SET
        failed_logins = CASE WHEN %1$s + 1 >= :max THEN 0 ELSE %1$s + 1 END,
        locked_until = CASE WHEN %1$s + 1 >= :max THEN :until ELSE f.locked_until END,
        last_failed_at = :now
      RETURNING f.locked_until
      """
          .formatted("(CASE WHEN f.last_failed_at < :forget THEN 0 ELSE f.failed_logins END)");

  private SignIn countFailure(String username, Instant now) {
    Optional<Instant> locked =
        jdbi.withHandle(h ->
            h.createQuery(COUNT_FAILURE)
                .bind("u", username)
                .bind("max", maxFailures)
                .bind("until", DeviceKeys.at(now.plus(lockDuration)))
                .bind("now", DeviceKeys.at(now))
                .bind("forget", DeviceKeys.at(now.minus(failureMemory())))
                .map((rs, ctx) -> rs.getObject(1, OffsetDateTime.class))
                .findOne()
                .filter(t -> t != null && t.toInstant().isAfter(now))
                .map(OffsetDateTime::toInstant));
    return locked.<SignIn>map(SignIn.Locked::new).orElseGet(SignIn.WrongCredentials::new);
  }

  /** Forgets failed sign-ins once they no longer count. */
  int removeForgottenFailures() {
    Instant now = clock.instant();
    return jdbi.withHandle(h ->
        h.createUpdate(
                "DELETE FROM sign_in_failures WHERE last_failed_at < :forget"
                    + " AND (locked_until IS NULL OR locked_until <= :now)")
            .bind("forget", DeviceKeys.at(now.minus(failureMemory())))
            .bind("now", DeviceKeys.at(now))
            .execute());
  }
}
