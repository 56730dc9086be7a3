package io.sluice.proxy.testing;

import io.vertx.core.Vertx;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.Tuple;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Real row locks held by the test on a connection of its own, outside the proxy: {@code BEGIN; SELECT ... FOR UPDATE}
 * on existing rows, held until {@link #release()} rolls back. What a long transaction of another service does to
 * the proxy's statements on those rows. Nothing is written.
 */
public final class RowLock implements AutoCloseable {

  private final Pool pool;
  private final SqlConnection conn;
  private final Transaction tx;
  private final long connectionId;
  private boolean released;

  private RowLock(Pool pool, SqlConnection conn, Transaction tx, long connectionId) {
    this.pool = pool;
    this.conn = conn;
    this.tx = tx;
    this.connectionId = connectionId;
  }

  /**
   * Locks the {@code user_settings} rows of {@code userIds}, which must all exist (the lock fails otherwise: a
   * missing row would leave the proxy's upsert of it free to run). Not on an event loop.
   */
  public static RowLock userSettings(Vertx vertx, List<Long> userIds) {
    Pool pool = MySQLBuilder.pool()
      .with(new PoolOptions().setMaxSize(1).setName("test-row-locks"))
      .connectingTo(TestDatabase.settings().toConnectOptions())
      .using(vertx)
      .build();
    SqlConnection conn = pool.getConnection().await();
    long id = conn.query("SELECT CONNECTION_ID()").execute().await().iterator().next().getLong(0);
    Transaction tx = conn.begin().await();
    String marks = userIds.stream().map(u -> "?").collect(Collectors.joining(", "));
    int locked = conn.preparedQuery("SELECT user_id FROM user_settings WHERE user_id IN (" + marks + ") FOR UPDATE")
      .execute(Tuple.from(userIds)).await().size();
    RowLock lock = new RowLock(pool, conn, tx, id);
    if (locked != userIds.size()) {
      lock.close();
      throw new IllegalStateException("locked " + locked + " user_settings row(s) of " + userIds.size()
        + ": create them first");
    }
    return lock;
  }

  /** The server's id of the connection holding the locks (to leave it out of processlist counts). */
  public long connectionId() {
    return connectionId;
  }

  /** Rolls back: the rows are free again. Idempotent. */
  public void release() {
    if (!released) {
      released = true;
      tx.rollback().await();
    }
  }

  @Override
  public void close() {
    try {
      release();
    } finally {
      conn.close().await();
      pool.close().await();
    }
  }
}
