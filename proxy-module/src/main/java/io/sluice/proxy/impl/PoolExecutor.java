package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.contract.FailureCode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The request's spine on the node's one pool, readable on one screen ({@link #run}):
 * <ol>
 *   <li>admission and lane ({@link Admission}, {@link Lane}): a permit now, a place in the node's FIFO, or 503 at
 *   once;</li>
 *   <li>a connection from the pool by the request's deadline (never more requests at the pool than it has
 *   connections);</li>
 *   <li>the statements under the statement guard ({@link StatementGuard}: deadline, kill, lease; writes through the
 *   {@link GuardedCommit});</li>
 *   <li>release: the connection back to the pool, the permit back to the oldest eligible waiter, and the lane's
 *   execution sample.</li>
 * </ol>
 *
 * <p>Invariant: <em>every admission permit comes back exactly once</em>, when the guard gave its connection back or
 * destroyed it (by the statement deadline + {@code db.killGraceMs}), or at once when no connection came.
 *
 * <p>Deadline of a request: its budget from the caller, counted from arrival. The statement phase is further
 * bounded by {@code db.statementTimeoutMs}, and the wait for a connection by {@code db.pool.acquireTimeoutMs}.
 *
 * <p>Threads: used by every event loop of the node; each request's steps run on the context it came in on.
 */
public final class PoolExecutor {

  private static final Logger log = LoggerFactory.getLogger(PoolExecutor.class);

  private final Vertx vertx;
  private final Pool pool;
  private final PoolSettings poolSettings;
  private final Admission admission;
  private final StatementGuard guard;
  private final ProxyCounters counters;
  private final RateLimitedLog saturationLog = new RateLimitedLog(log, 1000);
  /** Requests between admission and the end of their work (waiting ones included). */
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile Promise<Void> drained;
  /** {@code db.pointReadBatch}: the largest batch of point reads; 1 runs each alone. */
  private volatile int pointReadBatch;
  private final Map<PointReads.Kind, PointReads> pointReads = new ConcurrentHashMap<>();

  PoolExecutor(Vertx vertx, Pool pool, Killer killer, ServerLimits limits, LatencyGate gate, DbSettings db,
               FaultSettings faults, ProxyMetrics metrics, ProxyCounters counters) {
    this.vertx = vertx;
    this.pool = pool;
    this.poolSettings = db.pool();
    this.counters = counters;
    this.guard = new StatementGuard(vertx, killer, limits, gate, metrics, counters);
    this.admission = Admission.forPool(vertx, poolSettings, db.lanes(), counters.rejections);
    update(db, faults);
  }

  /**
   * Applies the settings that need no new pool: the statement timeout, the kill grace, the queueing-delay target,
   * the lanes' caps and fault injection.
   */
  void update(DbSettings db, FaultSettings faults) {
    admission.update(db.pool(), db.lanes());
    guard.update(db, faults);
    pointReadBatch = Math.min(db.pointReadBatch(), PointReads.MAX_BATCH);
  }

  /** The budget of a request that came without one: the longest it could wait plus the longest it could run. */
  long defaultBudgetMs() {
    return poolSettings.acquireTimeoutMs() + guard.statementTimeoutMs();
  }

  /**
   * As {@link #run}, but a point read may share one statement with the other point reads of its kind that arrive in
   * the same event-loop turn or while their batch waits for a connection ({@link PointReads}).
   */
  Future<JsonObject> read(Operation op, long deadline, String requestId) {
    if (op.point() == null || pointReadBatch <= 1) {
      return run(op, deadline, requestId);
    }
    return pointReads.computeIfAbsent(op.point().kind(),
        kind -> new PointReads(kind, this, () -> pointReadBatch, counters))
      .read(op, deadline, requestId);
  }

  /**
   * Runs one validated operation before {@code deadline} ({@link System#nanoTime()} scale). The returned future
   * fails only with a {@link ProxyFailure}.
   *
   * @param requestId correlation id for log lines, may be null
   */
  Future<JsonObject> run(Operation op, long deadline, String requestId) {
    if (deadline - System.nanoTime() <= 0) {
      counters.spentOnArrival.increment();
      return Future.failedFuture(Failures.deadlineSpent());
    }
    Promise<JsonObject> reply = Promise.promise();
    enter();
    Lane lane = admission.lane(op.action());
    admission.acquire(lane, deadline)
      .recover(err -> Future.failedFuture(rejected(op, lane, err, requestId)))
      .compose(granted -> {
        long grantedAt = System.nanoTime();
        long[] executed = {-1};
        return connection(deadline)
          .recover(err -> Future.failedFuture(unavailable(op, err, requestId)))
          .compose(conn -> {
            long start = System.nanoTime();
            return guard.execute(conn, op, deadline, reply, requestId)
              .andThen(ar -> executed[0] = System.nanoTime() - start);
          })
          .andThen(ar -> {
            // The lane learns from its statements' execution time only (not the wait for a connection); one stopped
            // at its deadline is a drop.
            boolean dropped = ar.failed() && ar.cause() instanceof ProxyFailure f
              && f.code() == FailureCode.STATEMENT_TIMEOUT;
            admission.release(lane, System.nanoTime() - grantedAt, executed[0], dropped);
          });
      })
      .onComplete(ar -> {
        exit();
        if (ar.succeeded()) {
          reply.tryComplete(ar.result());
        } else {
          ProxyFailure failure = Failures.statementFailure(ar.cause());
          if (failure.code() == FailureCode.INTERNAL && !(ar.cause() instanceof ProxyFailure)) {
            log.error("{} {} failed request_id={}", op.action(), op.key(), requestId, ar.cause());
          }
          reply.tryFail(failure);
        }
      });
    return reply.future();
  }

  /**
   * Background work of the node (one batch of the idempotency purge) under the request's rules: a counted admission
   * permit, taken only if one is free now ({@link Admission#tryAcquireMaintenance}), a connection by
   * {@code deadline}, the statement guard (server-side limit, kill at the deadline, connection back or destroyed by
   * deadline + {@code db.killGraceMs}), and the drain waits for it. Keeps the class invariant: the permit comes back
   * exactly once, when the guard gave its connection back or destroyed it, or at once when no connection came. Fails
   * with {@link Rejected} ({@link Rejection#QUEUE_FULL}, not counted) when no permit is free now: nothing ran.
   */
  Future<JsonObject> runMaintenance(Operation op, long deadline, String requestId) {
    if (!admission.tryAcquireMaintenance()) {
      return Future.failedFuture(new Rejected(Rejection.QUEUE_FULL));
    }
    enter();
    Promise<JsonObject> reply = Promise.promise();
    connection(deadline)
      .compose(conn -> guard.execute(conn, op, deadline, reply, requestId))
      .onComplete(ar -> {
        admission.releaseMaintenance();
        exit();
        if (ar.succeeded()) {
          reply.tryComplete(ar.result());
        } else {
          reply.tryFail(ar.cause());
        }
      });
    return reply.future();
  }

  /** One more unit of work (a request, or a batch of point reads) that a drain must wait for. */
  void enter() {
    inFlight.incrementAndGet();
  }

  /** That work is done: the last one out completes a drain in progress. */
  void exit() {
    Promise<Void> waiting = drained;
    if (inFlight.decrementAndGet() == 0 && waiting != null) {
      waiting.tryComplete();
    }
  }

  /**
   * A connection from the pool, or a failure once the request's deadline passed (a host that accepts TCP but never
   * answers holds a new connection's handshake for ever). A connection that arrives later goes straight back.
   */
  private Future<SqlConnection> connection(long deadline) {
    Future<SqlConnection> pending = pool.getConnection();
    if (pending.isComplete()) {
      // Admission never sends the pool more requests than it has connections: usually one is idle and handed over
      // at once, and there is no wait to bound (saves a timer per request).
      return pending;
    }
    Promise<SqlConnection> bounded = Promise.promise();
    long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    long timer = vertx.setTimer(waitMs, t -> bounded.tryFail(
      VertxException.noStackTrace("no connection before the request's deadline")));
    pending.onComplete(ar -> {
      vertx.cancelTimer(timer);
      boolean taken = ar.succeeded() ? bounded.tryComplete(ar.result()) : bounded.tryFail(ar.cause());
      if (!taken && ar.succeeded()) {
        ar.result().close();
      }
    });
    return bounded.future();
  }

  private ProxyFailure rejected(Operation op, Lane lane, Throwable err, String requestId) {
    if (!(err instanceof Rejected rejection)) {
      return Failures.statementFailure(err);
    }
    long retryAfter = admission.retryAfterSeconds(lane);
    if (rejection.reason == Rejection.LANE_DEADLINE) {
      // Not a line to drain but a class of statements that is slow now: the lane's probe finds out when it is fast
      // again within one deadline, and a client that comes back sooner gets a cheap 503. So the shortest hint, not
      // the drain time of a lane whose statements hold their connection for seconds (that kept clients away for
      // seconds after a lock was gone).
      retryAfter = AdmissionPolicy.MIN_RETRY_AFTER_SECONDS;
      saturationLog.warn("{} {} rejected: its statements take {} ms (median of the last {}), longer than the request"
        + " has left; {} of them in flight (lane limit {}) request_id={}", op.action(), op.key(),
        TimeUnit.NANOSECONDS.toMillis(lane.medianNow()), Lane.WINDOW, lane.inFlightNow(), lane.limitNow(),
        requestId);
      return Failures.laneTooSlow(op.action(), lane.medianNow(), retryAfter);
    }
    saturationLog.warn("{} {} rejected: pool saturated ({}; {} in use, {} waiting, lane {} of limit {}), likely pool"
      + " exhaustion or slow DB request_id={}", op.action(), op.key(), rejection.reason.label, admission.held(),
      admission.waiting(), lane.inFlightNow(), lane.limitNow(), requestId);
    return Failures.saturated(rejection.reason, poolSettings, retryAfter);
  }

  private ProxyFailure unavailable(Operation op, Throwable err, String requestId) {
    counters.connectionFailures.increment();
    saturationLog.warn("{} {} failed: cannot get a database connection: {} request_id={}", op.action(), op.key(),
      err.toString(), requestId);
    return new ProxyFailure(FailureCode.DB_UNAVAILABLE,
      FailureCode.withRetryAfter("database unavailable", admission.retryAfterSeconds()));
  }

  /**
   * Completes once every request in flight has given its connection back, or after {@code maxWaitMs}: closing the
   * pool earlier would fail them. Call after new requests stopped arriving.
   */
  Future<Void> drain(long maxWaitMs) {
    Promise<Void> promise = Promise.promise();
    drained = promise;
    if (inFlight.get() == 0) {
      return Future.succeededFuture();
    }
    log.info("Waiting up to {} ms for {} request(s) in flight to finish", maxWaitMs, inFlight.get());
    long timer = vertx.setTimer(maxWaitMs, id -> {
      if (promise.tryComplete()) {
        log.warn("{} request(s) still in flight after {} ms; closing the pool anyway", inFlight.get(), maxWaitMs);
      }
    });
    return promise.future().onComplete(ar -> vertx.cancelTimer(timer));
  }

  Admission admission() {
    return admission;
  }

  int inUse() {
    return guard.inUse();
  }

  /** Open connections of this executor's pool. */
  int poolSize() {
    return pool.size();
  }

  PoolSettings poolSettings() {
    return poolSettings;
  }

  long statementTimeoutMs() {
    return guard.statementTimeoutMs();
  }
}
