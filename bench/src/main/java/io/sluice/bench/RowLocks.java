package io.sluice.bench;

import io.sluice.bench.peer.PeerConfig;
import io.sluice.diagnose.IdRange;
import io.vertx.core.json.JsonObject;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * A long transaction of the bench's own, outside the service under test: one database session that gives users
 * {@code ids} a {@code user_settings} row (with the service's own upsert, committed, so that the lock is on rows,
 * not on a gap), then holds those rows' locks in an open transaction ({@code SELECT … FOR UPDATE}) until
 * {@link #release()}. Every {@code PUT /users/{id}/settings} for one of them waits on its lock meanwhile, holding its
 * pooled connection, whoever serves it, until its own timeout or the release; reads of {@code users} do not wait
 * (consistent reads take no lock). Used by {@code slow-lane} (the writers' phases, {@link Bench}) and by
 * {@code cluster-slow} (one slow client, {@link ShapeScenarios}).
 *
 * <p>Invariant: the locks are held from {@link #hold()} until {@link #release()} or {@link #close()}, whichever
 * first; closing the session rolls back, so a failed run never leaves the rows locked. Used by the bench's thread only.
 */
final class RowLocks implements AutoCloseable {

  static final String LOCK = "SELECT user_id FROM user_settings WHERE user_id BETWEEN ? AND ? FOR UPDATE";
  private static final String SEED_SETTINGS = new JsonObject().put("theme", "light").put("seededBy", "bench")
    .encode();

  private final DbTarget db;
  private final IdRange ids;
  private final Connection connection;

  private RowLocks(DbTarget db, IdRange ids, Connection connection) {
    this.db = db;
    this.ids = ids;
    this.connection = connection;
  }

  /** Opens the session and makes sure every user of {@code ids} has a settings row (upserted, in one transaction). */
  static RowLocks open(DbTarget db, IdRange ids) {
    Connection connection = null;
    try {
      connection = DriverManager.getConnection(db.settings().jdbcUrl(), db.user(), db.password());
      RowLocks locks = new RowLocks(db, ids, connection);
      locks.seed();
      return locks;
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new IllegalStateException("cannot give users " + ids + " a settings row in " + db.where() + ": "
        + e.getMessage(), e);
    }
  }

  private void seed() throws SQLException {
    connection.setAutoCommit(false);
    try (PreparedStatement upsert = connection.prepareStatement(PeerConfig.UPSERT_SETTINGS)) {
      LocalDateTime now = LocalDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MILLIS);
      for (long id = ids.first(); id <= ids.last(); id++) {
        upsert.setLong(1, id);
        upsert.setString(2, SEED_SETTINGS);
        upsert.setObject(3, now);
        upsert.addBatch();
      }
      upsert.executeBatch();
      connection.commit();
    } catch (SQLException e) {
      connection.rollback();
      throw e;
    }
  }

  /** Begins the transaction and locks the rows; returns how many it locked (every one of {@code ids}, or it fails). */
  int hold() {
    try (PreparedStatement lock = connection.prepareStatement(LOCK)) {
      lock.setLong(1, ids.first());
      lock.setLong(2, ids.last());
      int rows = 0;
      try (ResultSet rs = lock.executeQuery()) {
        while (rs.next()) {
          rows++;
        }
      }
      long expected = ids.last() - ids.first() + 1;
      if (rows != expected) {
        connection.rollback();
        throw new IllegalStateException("locked " + rows + " settings rows of users " + ids + " in " + db.where()
          + ", expected " + expected);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot lock the settings rows of users " + ids + " in " + db.where() + ": "
        + e.getMessage(), e);
    }
  }

  /** Ends the transaction (ROLLBACK): the waiting writes go on. The session stays open until {@link #close()}. */
  void release() {
    try {
      connection.rollback();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot roll back the lock-holding transaction in " + db.where() + ": "
        + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    closeQuietly(connection);
  }

  private static void closeQuietly(Connection connection) {
    if (connection == null) {
      return;
    }
    try {
      // Closing without a commit ends the transaction on the server: its locks go with it.
      connection.close();
    } catch (SQLException e) {
      // Nothing left to release on a session that cannot even be closed.
    }
  }
}
