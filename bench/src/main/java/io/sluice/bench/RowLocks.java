package io.sluice.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Row locks held by the bench on its own database connection, outside the service: {@code user_settings} of users
 * {@code first..last} locked {@code FOR UPDATE} in a transaction left open, so that any statement of the service that
 * writes those rows waits on the server, holding its pooled connection, until its own statement timeout (or the
 * lock's release). The rows are created first where missing (a settings row of {@code {}}), so that the lock is on
 * rows, not on a gap. {@link #close()} rolls the transaction back: nothing the bench did here is kept but those
 * created rows.
 */
final class RowLocks implements AutoCloseable {

  private final Connection connection;
  private final long first;
  private final long last;
  private final int rows;

  private RowLocks(Connection connection, long first, long last, int rows) {
    this.connection = connection;
    this.first = first;
    this.last = last;
    this.rows = rows;
  }

  /** Creates the missing rows, then locks the rows of users {@code first..last} until {@link #close()}. */
  static RowLocks hold(DbTarget db, long first, long last) {
    Connection connection = null;
    try {
      connection = DriverManager.getConnection(db.settings().jdbcUrl(), db.user(), db.password());
      try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO user_settings (user_id, settings,"
        + " updated_at) SELECT id, '{}', UTC_TIMESTAMP(3) FROM users WHERE id BETWEEN ? AND ?"
        + " ON DUPLICATE KEY UPDATE user_id = user_id")) {
        upsert.setLong(1, first);
        upsert.setLong(2, last);
        upsert.executeUpdate();
      }
      connection.setAutoCommit(false);
      int rows = 0;
      try (PreparedStatement lock = connection.prepareStatement(
        "SELECT * FROM user_settings WHERE user_id BETWEEN ? AND ? FOR UPDATE")) {
        lock.setLong(1, first);
        lock.setLong(2, last);
        try (ResultSet locked = lock.executeQuery()) {
          while (locked.next()) {
            rows++;
          }
        }
      }
      return new RowLocks(connection, first, last, rows);
    } catch (SQLException e) {
      if (connection != null) {
        try {
          connection.close();
        } catch (SQLException closing) {
          e.addSuppressed(closing);
        }
      }
      throw new IllegalStateException("cannot lock user_settings of users " + first + ".." + last + " in "
        + db.where() + ": " + e.getMessage(), e);
    }
  }

  /** How many rows are locked. */
  int rows() {
    return rows;
  }

  /** ROLLBACK, which releases the locks, then closes the connection. */
  @Override
  public void close() {
    try (Connection c = connection) {
      c.rollback();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot release the locks on user_settings " + first + ".." + last + ": "
        + e.getMessage(), e);
    }
  }
}
