package io.pisync.auth;

import io.pisync.server.Transactions;
import java.sql.SQLException;
import java.util.function.Supplier;
import org.jdbi.v3.core.JdbiException;

/**
 * Credential checks run before every request. After the database restarts, the pool may hand out a
 * connection that died with it; a read is safe to try once more on a fresh one.
 */
final class Reads {
  private Reads() {}

  static <T> T retryingLostConnection(Supplier<T> read) {
    try {
      return read.get();
    } catch (JdbiException e) {
      if (e.getCause() instanceof SQLException sql && Transactions.safeToRetry(sql)) {
        return read.get();
      }
      throw e;
    }
  }
}
