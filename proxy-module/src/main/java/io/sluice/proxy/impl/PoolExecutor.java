package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.FaultSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Runs operations on the proxy's one pool: borrow a connection (or fail fast with 503), inject latency when asked,
 * run the statements under the statement timeout, give the connection back.
 *
 * <p>A timed-out request is answered at once; its connection returns to the pool when the server finishes. A write
 * runs in a transaction that commits only if it finished before the timeout (see {@link Attempt}).
 */
public final class PoolExecutor {

  private static final Logger log = LoggerFactory.getLogger(PoolExecutor.class);

  private final Vertx vertx;
  private final Pool pool;
  private final DbSettings db;
  private final FaultInjector faults;
  private final RateLimitedLog saturationLog = new RateLimitedLog(log, 1000);
  private final AtomicLong rejectedQueueFull = new AtomicLong();
  private final AtomicLong rejectedAcquireTimeout = new AtomicLong();
  private final AtomicLong statementTimeouts = new AtomicLong();
  private final LongAdder executed = new LongAdder();
  /** Connections currently held by requests. */
  private final AtomicInteger active = new AtomicInteger();
  /** Requests between asking the pool for a connection and giving it back. */
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile Promise<Void> drained;

  public PoolExecutor(Vertx vertx, Pool pool, DbSettings db, FaultSettings faults) {
    this.vertx = vertx;
    this.pool = pool;
    this.db = db;
    this.faults = new FaultInjector(faults);
  }

  /**
   * Runs one validated operation on a borrowed connection. The returned future fails only with a
   * {@link ProxyFailure}.
   *
   * @param requestId correlation id for log lines, may be null
   */
  Future<JsonObject> run(Operation op, String requestId) {
    Promise<JsonObject> reply = Promise.promise();
    Attempt attempt = new Attempt();
    inFlight.incrementAndGet();
    pool.getConnection()
      .recover(err -> Future.failedFuture(rejected(op, err, requestId)))
      .compose(conn -> {
        long timer = vertx.setTimer(db.statementTimeoutMs(), id -> {
          if (attempt.expire()) {
            statementTimeouts.incrementAndGet();
            log.warn("{} {} timed out after {} ms (statement timeout) request_id={}", op.action(), op.key(),
              db.statementTimeoutMs(), requestId);
            reply.tryFail(Failures.statementTimeout(db.statementTimeoutMs()));
          }
        });
        executed.increment();
        active.incrementAndGet();
        return run(conn, op, attempt).eventually(() -> {
          active.decrementAndGet();
          vertx.cancelTimer(timer);
          return conn.close();
        });
      })
      .onComplete(ar -> {
        Promise<Void> waiting = drained;
        if (inFlight.decrementAndGet() == 0 && waiting != null) {
          waiting.tryComplete();
        }
        if (ar.succeeded()) {
          reply.tryComplete(ar.result());
        } else {
          ProxyFailure failure = Failures.statementFailure(ar.cause());
          if (failure.code() >= 500 && !(ar.cause() instanceof ProxyFailure) && !attempt.expired()) {
            log.error("{} {} failed request_id={}", op.action(), op.key(), requestId, ar.cause());
          }
          reply.tryFail(failure);
        }
      });
    return reply.future();
  }

  private Future<JsonObject> run(SqlConnection conn, Operation op, Attempt attempt) {
    return faults.beforeStatement(conn).compose(v -> {
      if (attempt.expired()) {
        // The caller has its answer already; a write must not run after it was told it timed out.
        return Future.failedFuture(Failures.statementTimeout(db.statementTimeoutMs()));
      }
      return op.write() ? inTransaction(conn, op, attempt) : op.work().apply(conn).compose(result -> attempt.finish()
        ? Future.succeededFuture(result)
        : Future.failedFuture(Failures.statementTimeout(db.statementTimeoutMs())));
    });
  }

  private Future<JsonObject> inTransaction(SqlConnection conn, Operation op, Attempt attempt) {
    return conn.begin().compose(tx -> op.work().apply(conn).transform(ar -> {
      if (ar.succeeded() && attempt.finish()) {
        return tx.commit().map(ar.result());
      }
      Throwable cause = ar.succeeded() ? Failures.statementTimeout(db.statementTimeoutMs()) : ar.cause();
      return rollback(tx).compose(v -> Future.failedFuture(cause));
    }));
  }

  private static Future<Void> rollback(Transaction tx) {
    return tx.rollback().otherwiseEmpty();
  }

  private ProxyFailure rejected(Operation op, Throwable err, String requestId) {
    ProxyFailure failure = Failures.acquireFailure(err, db.pool());
    Failures.Rejection rejection = Failures.rejectionOf(err);
    if (rejection == Failures.Rejection.QUEUE_FULL) {
      rejectedQueueFull.incrementAndGet();
    } else if (rejection == Failures.Rejection.ACQUIRE_TIMEOUT) {
      rejectedAcquireTimeout.incrementAndGet();
    }
    if (rejection != null) {
      saturationLog.warn("{} {} rejected: pool saturated ({}), likely pool exhaustion or slow DB request_id={}",
        op.action(), op.key(), rejection.label, requestId);
    } else {
      saturationLog.warn("{} {} failed: cannot get a database connection: {} request_id={}", op.action(), op.key(),
        err.toString(), requestId);
    }
    return failure;
  }

  /**
   * Completes once every request in flight has given its connection back, or after {@code maxWaitMs}: closing the
   * pool earlier would fail them. Call on the verticle's context after new requests stopped arriving.
   */
  public Future<Void> drain(long maxWaitMs) {
    Promise<Void> promise = Promise.promise();
    drained = promise;
    if (inFlight.get() == 0) {
      return Future.succeededFuture();
    }
    log.info("Waiting up to {} ms for {} request(s) in flight to finish", maxWaitMs, inFlight.get());
    long timer = vertx.setTimer(maxWaitMs, id -> {
      if (promise.tryComplete()) {
        log.warn("{} request(s) still in flight after {} ms; closing the pool anyway", inFlight, maxWaitMs);
      }
    });
    return promise.future().onComplete(ar -> vertx.cancelTimer(timer));
  }

  /** Counters since start, for diagnostics. */
  public JsonObject stats() {
    return new JsonObject()
      .put("maxSize", db.pool().maxSize())
      .put("maxWaitQueueSize", db.pool().maxWaitQueueSize())
      .put("acquireTimeoutMs", db.pool().acquireTimeoutMs())
      .put("statementTimeoutMs", db.statementTimeoutMs())
      .put("inUse", active.get())
      .put("waiting", Math.max(0, inFlight.get() - active.get()))
      .put("executed", executed.sum())
      .put("rejectedQueueFull", rejectedQueueFull.get())
      .put("rejectedAcquireTimeout", rejectedAcquireTimeout.get())
      .put("statementTimeouts", statementTimeouts.get());
  }

  public boolean faultInjectionEnabled() {
    return faults.enabled();
  }
}
