package io.sluice.http;

import io.sluice.proxy.testing.TestDatabase;
import org.junit.jupiter.api.Assumptions;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Every COMMIT on the test database held by the server until {@link #close()}: MariaDB's {@code BACKUP STAGE
 * BLOCK_COMMIT} lets statements run and blocks commits. Aborts the calling test where the server cannot do it.
 */
final class HeldCommits implements AutoCloseable {

  private final Connection admin;
  private final Statement blocker;

  private HeldCommits(Connection admin, Statement blocker) {
    this.admin = admin;
    this.blocker = blocker;
  }

  static HeldCommits hold() throws SQLException {
    Connection admin = TestDatabase.admin();
    Statement blocker = admin.createStatement();
    try {
      blocker.execute("BACKUP STAGE START");
      blocker.execute("BACKUP STAGE BLOCK_COMMIT");
    } catch (SQLException e) {
      blocker.close();
      admin.close();
      Assumptions.abort("the test database cannot block commits (BACKUP STAGE is MariaDB's): " + e.getMessage());
    }
    return new HeldCommits(admin, blocker);
  }

  /** Lets the held commits go on. */
  @Override
  public void close() throws SQLException {
    try {
      blocker.execute("BACKUP STAGE END");
    } finally {
      blocker.close();
      admin.close();
    }
  }
}
