package io.pisync.server;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Runs work in one transaction, again when PostgreSQL aborted it for a reason that running it again
 * fixes (deadlock, serialization failure, a connection that died before COMMIT: a database restart
 * leaves dead connections in the pool). A failure during COMMIT is not retried: its outcome is
 * unknown, and work without idempotency keys (events without an event_id) would be stored twice.
 */
public final class Transactions {
  private static final int MAX_ATTEMPTS = 3;
  private static final String COMMIT_OUTCOME_UNKNOWN = "08007";

  /** Work on an open transaction. */
  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private Transactions() {}

  /** A read-committed transaction; work that needs another level starts with SET TRANSACTION. */
  public static <T> T run(DataSource dataSource, Work<T> work) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        return once(dataSource, work);
      } catch (SQLException e) {
        if (!safeToRetry(e) || attempt == MAX_ATTEMPTS) throw e;
      }
    }
  }

  private static <T> T once(DataSource dataSource, Work<T> work) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        T result = work.run(c);
        commit(c);
        return result;
      } catch (SQLException | RuntimeException e) {
        rollbackQuietly(c, e);
        throw e;
      }
    }
  }

  private static void commit(Connection c) throws SQLException {
    try {
      c.commit();
    } catch (SQLException e) {
      throw new SQLException(
          "commit outcome unknown: " + e.getMessage(), COMMIT_OUTCOME_UNKNOWN, e);
    }
  }

  private static void rollbackQuietly(Connection c, Exception cause) {
    try {
      c.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  public static boolean safeToRetry(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    return state.equals("40P01")
        || state.equals("40001")
        || ((state.startsWith("08") || state.startsWith("57P"))
            && !state.equals(COMMIT_OUTCOME_UNKNOWN));
  }
}
