package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.mysqlclient.MySQLException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;

/**
 * The node's one admin connection, outside the request pool (a saturated pool must not block its own rescue):
 * {@code KILL QUERY}, the capacity guard's reads and the start's server check. It is borrowed once from a
 * one-connection pool and then shared by everyone, never leased per use: commands are pipelined on it
 * ({@link #PIPELINING_LIMIT}), so a burst of kills travels in one round trip and a kill never queues behind a
 * capacity check for the connection (only behind the server's answer to a statement written before it).
 *
 * <p>Why one shared pipelined connection rather than a pool of admin connections, or a connection of its own for
 * the capacity guard: the server bound of {@code docs/scale-out.md}, request pool + 2 per node (this connection and
 * the readiness probe's), and the guard's arithmetic ({@link CapacityGuard#ADMIN_CONNECTIONS}) stay as they are.
 * Before, kills leased this connection one at a time behind a queue of 8 and the guard held it for up to 5 s, so
 * more than 9 deadlines within one kill round trip, or any during a check, failed at once and had their target
 * connections closed at the socket while their statements ran on.
 *
 * <p>Invariants: at most one admin connection is open (the pool has one); a connection that closed, or that a user
 * {@link #discard discarded} because it stopped answering, is forgotten and the next {@link #get} borrows a new one.
 * Thread-safe: kills come from every event loop; the commands themselves run on the connection's context.
 */
final class AdminConnection {

  /**
   * Commands written on the connection before the client holds further ones back until answers come. Each request
   * connection has at most one statement to kill, so the node's pools (in force + draining, each at most
   * {@code db.pool.maxSize} ≤ 10 000) never have more kills in flight than this; a KILL is a few dozen bytes.
   */
  static final int PIPELINING_LIMIT = 20_000;

  private final Pool pool;
  /** The connection borrowed or being borrowed; null when none. Guarded by {@code this}. */
  private Future<SqlConnection> current;

  AdminConnection(Pool pool) {
    this.pool = pool;
  }

  /** The shared connection, borrowed on first use or after the last one was lost. Never close it: {@link #discard}. */
  synchronized Future<SqlConnection> get() {
    if (current == null || current.failed()) {
      Future<SqlConnection> next = pool.getConnection();
      current = next;
      next.onSuccess(conn -> conn.closeHandler(v -> {
        forget(next);
        // Gives the lease back; the pool has already dropped the closed connection.
        conn.close();
      }));
    }
    return current;
  }

  /**
   * Closes {@code conn} at the socket when it stopped answering (a kill or a check not answered in time): whatever it
   * has in flight fails at once, and the next {@link #get} borrows a new connection.
   */
  void discard(SqlConnection conn) {
    synchronized (this) {
      if (current != null && current.succeeded() && current.result() == conn) {
        current = null;
      }
    }
    Sockets.destroy(conn);
  }

  /**
   * After a failed command on {@code conn}: the server's own error leaves the connection usable; anything else (it
   * closed, it is not active) means it must not be used again.
   */
  void failed(SqlConnection conn, Throwable err) {
    if (!(err instanceof MySQLException)) {
      discard(conn);
    }
  }

  private synchronized void forget(Future<SqlConnection> gone) {
    if (current == gone) {
      current = null;
    }
  }
}
