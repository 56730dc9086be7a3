package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.FaultSettings;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.mysqlclient.MySQLConnectOptions;
import io.vertx.mysqlclient.MySQLConnection;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * What the injected latency ({@code faults.dbLatency}) waits on: a named lock that one holder connection of this node
 * takes while injection is on. Each borrowed connection then waits its time for the lock ({@link Sql#INJECTED_LATENCY})
 * and gives up when it runs out.
 *
 * <p>Why not {@code DO SLEEP}: MariaDB kills a burst of sleeps slowly. Its KILL holds the victim's
 * {@code LOCK_thd_kill} while it retries the global {@code LOCK_item_func_sleep}, which a woken sleeper holds while it
 * waits for its own {@code LOCK_thd_kill}; the two part only when the KILL gives up after 2 s
 * (docs/failure-behaviour.md). A lock wait has a mutex per connection and reads the kill flag without a lock: measured
 * with bursts of 16 pipelined {@code KILL QUERY}s on MariaDB 11.4, sleeps stalled 2.2 s in 1 burst of 10, lock waits
 * were all gone within 0.5 s in 30 of 30. The injected latency is meant to behave like a slow statement, which the
 * deadline's kill stops at once, not to measure this wait of the server.
 *
 * <p>Until the holder has the lock (the first moments after injection is turned on, a lost holder reconnecting),
 * {@link FaultInjector} falls back to {@link Sql#INJECTED_SLEEP}. The holder is one connection outside the pools, open
 * only while injection is on: a rehearsal costs the server one connection more than the bound of docs/scale-out.md.
 *
 * <p>Thread-safe: {@link #heldLock} is read by every event loop; the rest runs under {@code this}.
 */
final class LatencyGate {

  private static final Logger log = LoggerFactory.getLogger(LatencyGate.class);
  /** How long after a failed or lost holder the next one is tried. */
  static final long RETRY_MS = 1000;

  private final RateLimitedLog warnings = new RateLimitedLog(log, 60_000);
  private final Vertx vertx;
  private final MySQLConnectOptions connectOptions;
  /** This node's lock: user locks are server-wide, and each node needs a holder of its own. */
  private final String lockName = "sluice_latency_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
  /** The connection holding the lock; null when none. */
  private volatile SqlConnection holder;
  private boolean wanted;
  private boolean connecting;
  private long retryTimer = -1;

  LatencyGate(Vertx vertx, DbSettings db) {
    this.vertx = vertx;
    this.connectOptions = db.toConnectOptions().setCachePreparedStatements(false);
  }

  /** The lock to wait on, or null while no holder has it. */
  String heldLock() {
    return holder != null ? lockName : null;
  }

  /** Takes the lock when injection is on, releases it (closes the holder) when it is off. */
  synchronized void update(FaultSettings faults) {
    wanted = faults.dbLatencyEnabled();
    if (wanted) {
      open();
    } else {
      release();
    }
  }

  /** Releases the lock for good (the node closes). */
  synchronized void close() {
    wanted = false;
    release();
  }

  private synchronized void open() {
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
      retryTimer = -1;
    }
    if (!wanted || connecting || holder != null) {
      return;
    }
    connecting = true;
    MySQLConnection.connect(vertx, connectOptions)
      .compose(conn -> conn.preparedQuery(Sql.TAKE_LATENCY_GATE).execute(Tuple.of(lockName))
        .map(rows -> rows.iterator().next().getInteger(0))
        .compose(got -> got != null && got == 1
          ? Future.<SqlConnection>succeededFuture(conn)
          : Future.failedFuture("lock " + lockName + " is held by another session"))
        .onFailure(err -> conn.close()))
      .onComplete(this::opened);
  }

  private synchronized void opened(AsyncResult<SqlConnection> ar) {
    connecting = false;
    if (ar.failed()) {
      warnings.warn("Injected latency: no holder for its lock ({}); statements sleep instead until one is back",
        ar.cause().getMessage());
      retry();
      return;
    }
    SqlConnection conn = ar.result();
    if (!wanted) {
      conn.close();
      return;
    }
    holder = conn;
    conn.closeHandler(v -> lost(conn));
  }

  private synchronized void lost(SqlConnection conn) {
    if (holder != conn) {
      return;
    }
    holder = null;
    if (wanted) {
      warnings.warn("Injected latency: the connection holding its lock closed; statements sleep instead until one is"
        + " back");
      retry();
    }
  }

  private void retry() {
    if (wanted && retryTimer < 0) {
      retryTimer = vertx.setTimer(RETRY_MS, t -> open());
    }
  }

  private void release() {
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
      retryTimer = -1;
    }
    SqlConnection h = holder;
    holder = null;
    if (h != null) {
      // Closing the session releases its lock: the waiters take it, give it back and go on at once.
      h.close();
    }
  }
}
