package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.PoolSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * Answers readiness ("does the database answer?") outside the request pool, on a pool of its own with one
 * connection. A saturated request pool (every connection busy, the wait queue full) is load, not an outage: if
 * readiness went through it, every replica would turn not-ready at once and a load balancer would drop all traffic,
 * including what the caches could serve. It is not the Killer's admin pool either: a probe must never delay a kill.
 *
 * <p>Probe storms: the outcome is cached for {@link #CACHE_MS}, and checks that arrive while a probe runs share
 * it, so however many load balancers ask however often, the database sees at most one {@code SELECT 1} per
 * {@link #CACHE_MS} from here. A cached answer is at most that old.
 *
 * <p>A server that stops answering without closing TCP: the probe fails at {@link #TIMEOUT_MS}. Its socket has an
 * idle timeout of {@link #SOCKET_IDLE_MS}, so a statement the server never answers is cut off with its connection
 * and a later probe opens a fresh one instead of queueing behind it forever. The pool closes its idle connection
 * first ({@link #IDLE_MS}), so a healthy quiet connection ends with a proper goodbye rather than that cut.
 *
 * <p>One per proxy node, confined to the node's context: every event loop's readiness check hops there
 * ({@link Node#ready()}), so the probe, its cache and its one connection are shared by the whole node.
 */
final class ReadinessProbe {

  private static final Logger log = LoggerFactory.getLogger(ReadinessProbe.class);

  /** Longest a probe may take before the database counts as not answering. */
  static final long TIMEOUT_MS = 1000;
  /** How long an outcome is reused: at most one probe per this period reaches the database. */
  static final long CACHE_MS = 1000;
  static final long IDLE_MS = 2000;
  static final long SOCKET_IDLE_MS = 5000;

  private final Pool pool;
  /** The cause goes to the log (a minute apart at most), not into the reply: it may name hosts and users. */
  private final RateLimitedLog failures = new RateLimitedLog(log, 60_000);
  private Future<Void> last;
  private long lastStart;

  ReadinessProbe(Vertx vertx, DbSettings db) {
    this.pool = MySQLBuilder.pool()
      .with(new PoolOptions()
        .setName(PoolSettings.POOL_NAME + "-health")
        .setMaxSize(1)
        // A probe cut off by the timeout may still hold the connection; one more may wait, the rest fail at once.
        .setMaxWaitQueueSize(1)
        .setConnectionTimeout((int) TIMEOUT_MS)
        .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS)
        .setIdleTimeout((int) IDLE_MS)
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        .setPoolCleanerPeriod(500))
      .with(new NetClientOptions()
        .setConnectTimeout((int) TIMEOUT_MS)
        .setIdleTimeout((int) SOCKET_IDLE_MS)
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS))
      .connectingTo(db.toConnectOptions().setCachePreparedStatements(false))
      .using(vertx)
      .build();
  }

  /** Succeeds when the database answered within {@link #TIMEOUT_MS}; fails with a {@link ProxyFailure} 502. */
  Future<Void> check() {
    long now = System.nanoTime();
    if (last != null && (!last.isComplete() || now - lastStart < TimeUnit.MILLISECONDS.toNanos(CACHE_MS))) {
      return last;
    }
    lastStart = now;
    last = pool.query("SELECT 1").execute()
      .<Void>mapEmpty()
      .timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
      .recover(err -> {
        failures.warn("Readiness probe failed: {}", err.toString());
        return Future.failedFuture(new ProxyFailure(FailureCode.DB_UNAVAILABLE,
          "the database did not answer a health check (limit " + TIMEOUT_MS + " ms)"));
      });
    return last;
  }

  Future<Void> close() {
    return pool.close();
  }
}
