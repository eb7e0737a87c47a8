package io.pisync.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Date;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Access tokens (HS256 JWTs, short-lived, checked without the database) and refresh tokens (random,
 * stored as digests, one use each). A sign-in starts a session: its refresh tokens and the access
 * tokens they mint carry the session's id, and logout ends the session, so both stop at once.
 * Whether a session is still open is remembered like other credential checks ({@link
 * CredentialCache}), so a request does not cost a database read.
 */
public final class Tokens {
  static final String ISSUER = "pisync";
  private static final String ACCESS_TYPE = "at+jwt";
  public static final String REFRESH_PREFIX = "prt_";

  private final Jdbi jdbi;
  private final InstantSource clock;
  private final MACSigner signer;
  private final MACVerifier verifier;
  private final Duration accessTtl;
  private final Duration refreshTtl;
  private final CredentialCache cache;

  /** Access tokens already verified: parsing and the HMAC cost more than the rest of a request. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Verified> verified;

  /** {@code session}: null for tokens issued before sessions existed (migration V9). */
  private record Verified(Access access, Instant expires, UUID session) {}

  /** A valid access token: whose it is, and the account's token epoch it was issued in. */
  public record Access(String username, int epoch) {}

  /** A spent refresh token: whose it was, its token epoch, and the session it continues. */
  public record Spent(String username, int epoch, UUID session) {}

  private static final String EPOCH_CLAIM = "epoch";
  private static final String SESSION_CLAIM = "sid";

  public Tokens(
      Jdbi jdbi,
      InstantSource clock,
      byte[] signingKey,
      Duration accessTtl,
      Duration refreshTtl,
      CredentialCache cache) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.accessTtl = accessTtl;
    this.refreshTtl = refreshTtl;
    this.cache = cache;
    this.verified =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(20_000)
            .expireAfterWrite(accessTtl)
            .build();
    try {
      this.signer = new MACSigner(signingKey);
      this.verifier = new MACVerifier(signingKey);
    } catch (JOSEException e) {
      throw new IllegalArgumentException("signing key must be at least 256 bits", e);
    }
  }

  /** A pair handed out at sign-in and refresh. */
  public record Issued(
      String accessToken, long expiresIn, String refreshToken, String username, Role role) {}

  /** The signing key from configuration, else from (or new in) {@code dataDir/jwt-secret}. */
  public static byte[] signingKey(Optional<String> configured, Path dataDir) {
    if (configured.isPresent()) {
      return Base64.getDecoder().decode(configured.get());
    }
    Path file = dataDir.resolve("jwt-secret");
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(dataDir);
        String key = Base64.getEncoder().encodeToString(Secrets.digest(Secrets.generate("")));
        Files.writeString(file, key, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        ownerOnly(file);
      }
      return Base64.getDecoder().decode(Files.readString(file).strip());
    } catch (java.nio.file.FileAlreadyExistsException raced) {
      return signingKey(configured, dataDir);
    } catch (IOException e) {
      throw new IllegalStateException("cannot keep the token signing key in " + file, e);
    }
  }

  static void ownerOnly(Path file) throws IOException {
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      file.toFile().setReadable(false, false);
      file.toFile().setReadable(true, true);
    }
  }

  /** Forgets refresh tokens that have expired: they can never be used again. */
  int removeExpired() {
    return jdbi.withHandle(h ->
        h.createUpdate("DELETE FROM refresh_tokens WHERE expires_at <= :now")
            .bind("now", DeviceKeys.at(clock.instant()))
            .execute());
  }

  /**
   * Forgets sessions none of whose tokens can be valid any more: no refresh token of the session is
   * left (a refresh that raced the logout may have stored one more just after it; expired ones are
   * removed by {@link #removeExpired}, by their own expiry), and an access token's lifetime plus a
   * day has passed since the end.
   */
  int removeEndedSessions() {
    Instant before = clock.instant().minus(accessTtl).minus(Duration.ofDays(1));
    return jdbi.withHandle(h ->
        h.createUpdate(
                "DELETE FROM ended_sessions e WHERE e.ended_at <= :before AND NOT EXISTS"
                    + " (SELECT 1 FROM refresh_tokens r WHERE r.session_id = e.session_id)")
            .bind("before", DeviceKeys.at(before))
            .execute());
  }

  /** A new session's id, for a sign-in. */
  public static UUID newSession() {
    return UUID.randomUUID();
  }

  /**
   * A new pair in the account's token {@code epoch}, as read with the password or the refresh token
   * that was checked: if the password changed meanwhile, the pair is already refused.
   */
  public Issued issue(String username, Role role, int epoch, UUID session) {
    Instant now = clock.instant();
    String refresh = Secrets.generate(REFRESH_PREFIX);
    jdbi.useHandle(h ->
        h.createUpdate(
                "INSERT INTO refresh_tokens (token_hash, username, issued_at, expires_at,"
                    + " token_epoch, session_id) VALUES (:hash, :u, :now, :exp, :epoch, :session)")
            .bind("hash", Secrets.digest(refresh))
            .bind("u", username)
            .bind("now", DeviceKeys.at(now))
            .bind("exp", DeviceKeys.at(now.plus(refreshTtl)))
            .bind("epoch", epoch)
            .bind("session", session)
            .execute());
    return new Issued(
        access(username, epoch, session, now), accessTtl.toSeconds(), refresh, username, role);
  }

  private String access(String username, int epoch, UUID session, Instant now) {
    var claims =
        new JWTClaimsSet.Builder()
            .issuer(ISSUER)
            .subject(username)
            .claim(EPOCH_CLAIM, epoch)
            .claim(SESSION_CLAIM, session.toString())
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(accessTtl)))
            .jwtID(UUID.randomUUID().toString())
            .build();
    var jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType(ACCESS_TYPE)).build(),
            claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return jwt.serialize();
  }

  /**
   * The account an access token was issued to, if its signature and times are good and its session
   * has not ended.
   */
  public Optional<Access> verifyAccess(String token) {
    Verified known = verified.getIfPresent(token);
    if (known == null) {
      Optional<Verified> checked = verify(token);
      if (checked.isEmpty()) return Optional.empty();
      known = checked.get();
      verified.put(token, known);
    }
    return known.expires().isAfter(clock.instant()) && open(known.session())
        ? Optional.of(known.access())
        : Optional.empty();
  }

  /**
   * Whether a session has not been ended by a logout. Both answers are remembered: an ended session
   * never opens again, so a client retrying a stale token does not cost a read per request.
   */
  private boolean open(UUID session) {
    if (session == null) return true; // issued before sessions existed: runs out by itself
    return cache
        .get("session:" + session, () -> Optional.of(!jdbi.withHandle(h -> ended(h, session))))
        .orElseThrow();
  }

  private static boolean ended(org.jdbi.v3.core.Handle h, UUID session) {
    return h.createQuery("SELECT EXISTS (SELECT 1 FROM ended_sessions WHERE session_id = :s)")
        .bind("s", session)
        .mapTo(Boolean.class)
        .one();
  }

  /** The token's subject and expiry if it is an access token we signed. */
  private Optional<Verified> verify(String token) {
    try {
      SignedJWT jwt = SignedJWT.parse(token);
      if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())
          || jwt.getHeader().getType() == null
          || !ACCESS_TYPE.equals(jwt.getHeader().getType().getType())
          || !jwt.verify(verifier)) {
        return Optional.empty();
      }
      JWTClaimsSet claims = jwt.getJWTClaimsSet();
      Date expires = claims.getExpirationTime();
      Long epoch = claims.getLongClaim(EPOCH_CLAIM);
      String session = claims.getStringClaim(SESSION_CLAIM);
      if (!ISSUER.equals(claims.getIssuer()) || expires == null || claims.getSubject() == null) {
        return Optional.empty();
      }
      // Tokens from before epochs existed carry none: epoch 0, like every account then.
      return Optional.of(
          new Verified(
              new Access(claims.getSubject(), epoch == null ? 0 : Math.toIntExact(epoch)),
              expires.toInstant(),
              session == null ? null : UUID.fromString(session)));
    } catch (ParseException
        | JOSEException
        | IllegalStateException
        | IllegalArgumentException
        | ArithmeticException e) {
      return Optional.empty();
    }
  }

  /**
   * Trades a refresh token for a new pair; the old one is spent. A spent token presented again
   * means it was stolen or replayed: every refresh token of that account is revoked. A token of a
   * session that was ended (logout) is only refused.
   */
  public Optional<Spent> spendRefresh(String token) {
    if (token == null || !token.startsWith(REFRESH_PREFIX) || token.length() > 100) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    byte[] hash = Secrets.digest(token);
    return jdbi.inTransaction(h -> {
      record Row(
          String username,
          OffsetDateTime expiresAt,
          OffsetDateTime revokedAt,
          int epoch,
          UUID session) {}
      Optional<Row> row =
          h.createQuery(
                  "SELECT username, expires_at, revoked_at, token_epoch, session_id"
                      + " FROM refresh_tokens WHERE token_hash = :hash FOR UPDATE")
              .bind("hash", hash)
              .map((rs, ctx) ->
                  new Row(
                      rs.getString(1),
                      rs.getObject(2, OffsetDateTime.class),
                      rs.getObject(3, OffsetDateTime.class),
                      rs.getInt(4),
                      rs.getObject(5, UUID.class)))
              .findOne();
      if (row.isEmpty() || !row.get().expiresAt().toInstant().isAfter(now)) {
        return Optional.empty();
      }
      // Asked only now that the token is locked: a logout that held the lock has committed, and a
      // statement of its own sees that (one joined to the locking SELECT would not).
      if (row.get().session() != null && ended(h, row.get().session())) {
        return Optional.empty();
      }
      if (row.get().revokedAt() != null) {
        revokeAll(h, row.get().username(), now);
        return Optional.empty();
      }
      h.createUpdate("UPDATE refresh_tokens SET revoked_at = :now WHERE token_hash = :hash")
          .bind("hash", hash)
          .bind("now", DeviceKeys.at(now))
          .execute();
      // A token from before sessions existed starts one.
      UUID session = row.get().session() == null ? newSession() : row.get().session();
      return Optional.of(new Spent(row.get().username(), row.get().epoch(), session));
    });
  }

  /**
   * Logout: the refresh token stops working, and so does its session (every token minted from the
   * same sign-in), on every instance. Unknown tokens are ignored.
   */
  public void logout(String token) {
    if (token == null) return;
    Instant now = clock.instant();
    boolean ended =
        jdbi.inTransaction(h -> {
          // Locks the token first: a refresh spending it at the same time commits its successor
          // before the session's tokens are revoked below, or finds the session ended.
          Optional<UUID> session =
              h.createQuery(
                      "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, :now)"
                          + " WHERE token_hash = :hash RETURNING session_id")
                  .bind("hash", Secrets.digest(token))
                  .bind("now", DeviceKeys.at(now))
                  .map((rs, ctx) -> Optional.ofNullable(rs.getObject(1, UUID.class)))
                  .findOne()
                  .flatMap(id -> id);
          if (session.isEmpty()) return false;
          h.createUpdate(
                  "UPDATE refresh_tokens SET revoked_at = :now"
                      + " WHERE session_id = :s AND revoked_at IS NULL")
              .bind("s", session.get())
              .bind("now", DeviceKeys.at(now))
              .execute();
          // Only a session ending now is announced (its row's trigger notifies every instance):
          // logging out again with a spent token makes no instance forget what it remembered.
          return h.createUpdate(
                      "INSERT INTO ended_sessions (session_id, ended_at) VALUES (:s, :now)"
                          + " ON CONFLICT (session_id) DO NOTHING")
                  .bind("s", session.get())
                  .bind("now", DeviceKeys.at(now))
                  .execute()
              == 1;
        });
    if (ended) cache.forgetAll(); // this instance at once; the others when they hear the notice
  }

  /** Every refresh token of the account stops working (in the caller's transaction). */
  static void revokeAll(org.jdbi.v3.core.Handle h, String username, Instant now) {
    h.createUpdate(
            "UPDATE refresh_tokens SET revoked_at = :now"
                + " WHERE username = :u AND revoked_at IS NULL")
        .bind("u", username)
        .bind("now", DeviceKeys.at(now))
        .execute();
  }
}
