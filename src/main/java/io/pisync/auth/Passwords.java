package io.pisync.auth;

import com.password4j.Argon2Function;
import com.password4j.Password;
import com.password4j.types.Argon2;

/** Argon2id password hashing (OWASP's minimum: 19 MiB, 2 passes, 1 lane) through password4j. */
final class Passwords {
  private static final Argon2Function ARGON2ID =
      Argon2Function.getInstance(19 * 1024, 2, 1, 32, Argon2.ID);

  /** Checked against when the account does not exist, so both cases take as long. */
  private static final String DUMMY = hash("not-a-real-password-" + Secrets.generate(""));

  private Passwords() {}

  static String hash(String password) {
    return Password.hash(password).addRandomSalt(16).with(ARGON2ID).getResult();
  }

  static boolean matches(String password, String hash) {
    return Password.check(password, hash).with(Argon2Function.getInstanceFromHash(hash));
  }

  /** Spends the time of a real check, for unknown accounts. */
  static void burn(String password) {
    matches(password, DUMMY);
  }
}
