package io.pisync.support;

import java.sql.ResultSet;
import java.sql.Statement;

/** Waits in tests for a state of PostgreSQL that another thread brings about (a lock waiter). */
public final class DatabaseWaits {
  private DatabaseWaits() {}

  /**
   * Runs {@code countQuery} until it counts more than 0, for up to 10 s, then fails with {@code
   * failure}. The statement's connection must be in auto-commit: inside one transaction
   * pg_stat_activity shows the same snapshot every time.
   */
  public static void awaitPositiveCount(Statement st, String countQuery, String failure)
      throws Exception {
    for (int i = 0; i < 400; i++) {
      try (ResultSet rs = st.executeQuery(countQuery)) {
        rs.next();
        if (rs.getInt(1) > 0) return;
      }
      Thread.sleep(25);
    }
    throw new AssertionError(failure);
  }
}
