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
import io.vertx.sqlclient.PreparedQuery;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs operations on one proxy shard's pool (one per shard, confined to the shard's event loop; the shards' pools
 * add up to {@code db.pool.maxSize}, see {@link Node}) within each request's deadline:
 * <ol>
 *   <li>admission ({@link Admission}): a permit now, a place in a bounded FIFO, or 503 at once;</li>
 *   <li>a connection from the pool by the request's deadline (never more requests at the pool than it has
 *   connections);</li>
 *   <li>the statements, each with a server-side limit of the remaining budget, under a timer that answers 504 when
 *   the deadline passes and kills what still runs on the server ({@link Killer});</li>
 *   <li>the connection back to the pool, the permit back to the next live waiter.</li>
 * </ol>
 * A write runs in a transaction that commits only if it finished before its deadline (see {@link Attempt}) with
 * time left for the acknowledgement ({@link #inTransaction}); a COMMIT not acknowledged by the deadline is answered
 * {@link FailureCode#OUTCOME_UNKNOWN} at the deadline. So every write is answered by its deadline, and each answer
 * says what happened: success (committed), 504 (rolled back or never started) or outcome unknown.
 *
 * <p>Invariant (kept in {@link #execute}): <em>every borrowed connection and admission permit comes back or is
 * destroyed by the statement deadline + {@code db.killGraceMs}</em>. A statement still running then (the server or
 * the network stopped answering, so the kill did not help), or a connection whose KILL QUERY was not confirmed (it
 * may still land later, on whatever runs there next), is closed at the socket ({@link Sockets#destroy}) and never
 * reused; its permit is released at once, without waiting for anything from the server.
 *
 * <p>Deadline of a request: its budget from the caller, counted from arrival. The statement phase is further
 * bounded by {@code db.statementTimeoutMs}, and the wait for a connection by {@code db.pool.acquireTimeoutMs}.
 */
public final class PoolExecutor {

  private static final Logger log = LoggerFactory.getLogger(PoolExecutor.class);

  /** Longest the 504 waits for the KILL QUERY to be acknowledged (so the database is quiet when callers look). */
  private static final long KILL_REPLY_GRACE_MS = 250;

  /**
   * A write commits only with at least this much of its deadline left: a COMMIT is one round trip and an fsync, and
   * one sent at the last millisecond would mostly end as "outcome unknown" instead of a clean 504.
   */
  static final long MIN_COMMIT_MS = 5;

  /** Why a statement was stopped for its deadline. */
  enum StopReason { KILLED, SERVER_LIMIT, BEFORE_STATEMENT }

  private final Vertx vertx;
  private final Pool pool;
  private final PoolSettings poolSettings;
  private final Admission admission;
  private final Killer killer;
  private final ServerLimits limits;
  private final ProxyMetrics metrics;
  private final ProxyCounters counters;
  private final RateLimitedLog saturationLog = new RateLimitedLog(log, 1000);
  private final RateLimitedLog timeoutLog = new RateLimitedLog(log, 1000);
  private final RateLimitedLog killLog = new RateLimitedLog(log, 1000);
  private final RateLimitedLog commitLog = new RateLimitedLog(log, 1000);
  /** Live-reloadable without a new pool. */
  private volatile long statementTimeoutMs;
  private volatile long killGraceMs;
  private volatile FaultInjector faults;
  /** Requests between admission and the end of their work (waiting ones included). */
  private final AtomicInteger inFlight = new AtomicInteger();
  /** Connections currently held by requests. */
  private final AtomicInteger active = new AtomicInteger();
  private volatile Promise<Void> drained;

  PoolExecutor(Vertx vertx, Pool pool, Killer killer, ServerLimits limits, DbSettings db, FaultSettings faults,
               ProxyMetrics metrics, ProxyCounters counters) {
    this.vertx = vertx;
    this.pool = pool;
    this.poolSettings = db.pool();
    this.killer = killer;
    this.limits = limits;
    this.metrics = metrics;
    this.counters = counters;
    this.admission = Admission.forPool(vertx, poolSettings, db.lanes(), counters.rejections);
    update(db, faults);
  }

  /**
   * Applies the settings that need no new pool: the statement timeout, the kill grace, the queueing-delay target and
   * fault injection.
   */
  void update(DbSettings db, FaultSettings faults) {
    admission.update(db.pool(), db.lanes());
    this.statementTimeoutMs = db.statementTimeoutMs();
    this.killGraceMs = db.killGraceMs();
    this.faults = new FaultInjector(faults);
  }

  /** The budget of a request that came without one: the longest it could wait plus the longest it could run. */
  long defaultBudgetMs() {
    return poolSettings.acquireTimeoutMs() + statementTimeoutMs;
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
    inFlight.incrementAndGet();
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
            return execute(conn, op, deadline, reply, requestId)
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
        Promise<Void> waiting = drained;
        if (inFlight.decrementAndGet() == 0 && waiting != null) {
          waiting.tryComplete();
        }
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

  /**
   * Runs the operation on {@code conn} and gives the connection back, all within the statement deadline + the kill
   * grace: this is where the invariant of the class comment is kept. The returned future completes when the
   * connection was given back or destroyed, never later than that bound.
   */
  private Future<JsonObject> execute(SqlConnection conn, Operation op, long deadline, Promise<JsonObject> reply,
                                     String requestId) {
    long statementDeadline = Math.min(deadline,
      System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(statementTimeoutMs));
    Attempt attempt = new Attempt();
    Lease lease = new Lease(conn, op);
    counters.executed.increment();
    long remainingMs = TimeUnit.NANOSECONDS.toMillis(statementDeadline - lease.start);
    if (remainingMs <= 0) {
      attempt.expire();
      return lease.giveBack().compose(v -> Future.failedFuture(stop(StopReason.BEFORE_STATEMENT, op, requestId)));
    }
    long graceMs = killGraceMs;
    // The timer is armed before the first round trip, so even the connection-id lookup runs under the deadline.
    Future<Long> connectionId = killer.connectionId(conn);
    // The guard (below) is armed only once the deadline passed with the work unsettled: before that nothing can
    // outlive the bound, and one timer per statement instead of two is measurably cheaper (docs/benchmark.md).
    long guardAt = lease.start + TimeUnit.MILLISECONDS.toNanos(remainingMs + graceMs);
    long timer = vertx.setTimer(remainingMs, id -> {
      lease.guard(guardAt);
      onDeadline(attempt, connectionId, op, reply, requestId, graceMs);
    });
    Db statements = new Db() {
      @Override
      public PreparedQuery<RowSet<Row>> prepared(String sql) {
        return statement(sql, false);
      }

      @Override
      public PreparedQuery<RowSet<Row>> preparedNoLockWait(String sql) {
        return statement(sql, true);
      }

      private PreparedQuery<RowSet<Row>> statement(String sql, boolean noLockWait) {
        // Checked before every statement, not only by the timer: past the deadline nothing new is sent (the kill
        // may already have passed this connection by, or the timer not have run yet on a busy event loop).
        if (attempt.expired()) {
          throw Failures.statementTimeout();
        }
        if (statementDeadline - System.nanoTime() <= 0 && attempt.expire()) {
          throw stop(StopReason.BEFORE_STATEMENT, op, requestId);
        }
        return conn.preparedQuery(limits.limit(sql,
          Math.max(1, TimeUnit.NANOSECONDS.toMillis(statementDeadline - System.nanoTime())), noLockWait));
      }
    };
    // Settled once: by the work once its kill (if any) settled, or by the lease's guard, whichever comes first.
    Promise<JsonObject> settled = Promise.promise();
    lease.onGuard = () -> {
      if (!settled.future().isComplete()) {
        lease.destroy(requestId, "still running " + graceMs + " ms past its deadline");
        settled.tryFail(attempt.committing() ? Failures.outcomeUnknown() : Failures.statementTimeout());
      }
    };
    connectionId
      .compose(id -> statements(conn, statements, op, attempt, statementDeadline, requestId))
      .onComplete(ar -> {
        vertx.cancelTimer(timer);
        attempt.kill().onComplete(kill -> {
          lease.cancelGuard();
          if (settled.future().isComplete()) {
            return;
          }
          if (kill.failed()) {
            lease.destroy(requestId, "its KILL QUERY was not confirmed");
          }
          if (ar.succeeded()) {
            settled.tryComplete(ar.result());
          } else {
            settled.tryFail(ar.cause());
          }
        });
      });
    return settled.future().eventually(lease::giveBack);
  }

  /** One borrowed connection: given back exactly once, and never reused once destroyed. Event-loop confined. */
  private final class Lease {
    private final SqlConnection conn;
    private final Operation op;
    private final long start = System.nanoTime();
    private boolean destroyed;
    /** What the guard does when it fires: destroy the connection unless the work settled. Set before it is armed. */
    private Runnable onGuard;
    private long guardTimer = -1;

    Lease(SqlConnection conn, Operation op) {
      this.conn = conn;
      this.op = op;
      active.incrementAndGet();
      // A lost connection also fails the command in flight, which is what gets reported; without a handler
      // Vert.x prints the stack trace to stderr.
      conn.exceptionHandler(err -> log.debug("{} {}: connection error: {}", op.action(), op.key(), err.toString()));
    }

    /**
     * Arms the guard for {@code at} ({@link System#nanoTime()} scale: statement deadline + kill grace, fixed when the
     * statement started), so the bound is the same as if it had been armed then.
     */
    void guard(long at) {
      long delayMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(at - System.nanoTime()));
      guardTimer = vertx.setTimer(delayMs, id -> onGuard.run());
    }

    void cancelGuard() {
      if (guardTimer >= 0) {
        vertx.cancelTimer(guardTimer);
      }
    }

    /** Closes the socket: what runs there fails at once, the pool drops the connection. */
    void destroy(String requestId, String why) {
      destroyed = true;
      counters.destroyed.increment();
      boolean closed = Sockets.destroy(conn);
      killLog.warn("{} {}: connection closed at the socket, not reused: {}{} request_id={}", op.action(), op.key(),
        why, closed ? "" : " (no socket found to close)", requestId);
    }

    /**
     * Ends the lease. A destroyed connection is handed back without waiting: its socket is closed, so the pool drops
     * it, and nothing here may wait for a server that does not answer.
     */
    Future<Void> giveBack() {
      active.decrementAndGet();
      metrics.recordStatement(op.action(), System.nanoTime() - start);
      Future<Void> closed = conn.close();
      return destroyed ? Future.succeededFuture() : closed;
    }
  }

  /** The deadline passed with work still running: answer 504 and stop the statement on the server. */
  private void onDeadline(Attempt attempt, Future<Long> connectionId, Operation op, Promise<JsonObject> reply,
                          String requestId, long graceMs) {
    if (!attempt.expire()) {
      if (attempt.committing()) {
        // COMMIT sent and not acknowledged by the deadline: the write may land or not. Say so while the caller still
        // listens, rather than let it give up without an answer; the COMMIT goes on (a kill now would not decide
        // the outcome either).
        commitLog.warn("{} {}: COMMIT not acknowledged by the deadline; outcome unknown request_id={}", op.action(),
          op.key(), requestId);
        reply.tryFail(Failures.outcomeUnknown());
      }
      return;
    }
    ProxyFailure timeout = stop(StopReason.KILLED, op, requestId);
    if (!connectionId.succeeded()) {
      // Still looking up the id: no statement of the request has started, and none will.
      reply.tryFail(timeout);
      return;
    }
    if (op.write()) {
      // Expired before it finished, so it never commits (Attempt): "nothing written" is already true, and the
      // caller, which waits for this answer, gets it before it would have to give up with "outcome unknown".
      reply.tryFail(timeout);
    }
    long id = connectionId.result();
    // Bounded by the grace: a kill not confirmed by then means the connection is destroyed (see execute).
    Future<Void> kill = killer.killQuery(id, graceMs)
      .onFailure(err -> killLog.warn("KILL QUERY {} for {} {} failed: {} request_id={}", id, op.action(),
        op.key(), err.getMessage(), requestId));
    attempt.killing(kill);
    // Answer once the server confirmed the kill (the database is quiet when the caller looks), but not later
    // than a short grace if the admin connection is slow.
    long grace = vertx.setTimer(KILL_REPLY_GRACE_MS, t -> reply.tryFail(timeout));
    kill.onComplete(ar -> {
      vertx.cancelTimer(grace);
      reply.tryFail(timeout);
    });
  }

  private Future<JsonObject> statements(SqlConnection conn, Db statements, Operation op, Attempt attempt,
                                        long statementDeadline, String requestId) {
    return faults.beforeStatement(conn).compose(v -> {
      if (attempt.expired()) {
        // The caller has its answer already; a write must not start after it was told it timed out.
        return Future.failedFuture(Failures.statementTimeout());
      }
      Future<JsonObject> work = op.write()
        ? inTransaction(conn, statements, op, attempt, statementDeadline, requestId)
        : work(op, statements).compose(result -> attempt.finish()
          ? Future.succeededFuture(result)
          : Future.failedFuture(Failures.statementTimeout()));
      return work.recover(err -> ServerLimits.isServerTimeout(err) && attempt.expire()
        ? Future.failedFuture(stop(StopReason.SERVER_LIMIT, op, requestId))
        : Future.failedFuture(attempt.expired() ? Failures.statementTimeout() : err));
    });
  }

  /** The operation's statements as a future, even when it fails before sending any (a throw becomes a failure). */
  private static Future<JsonObject> work(Operation op, Db statements) {
    return Future.<Void>succeededFuture().compose(v -> op.work().apply(statements));
  }

  /**
   * The guarded commit: COMMIT is sent only if the work finished before the deadline with at least
   * {@link #MIN_COMMIT_MS} left, so that its acknowledgement can still reach the caller in time; otherwise the
   * transaction is rolled back and the answer is 504 (nothing written). Once COMMIT is sent, an acknowledgement
   * that does not come by the deadline, or a connection lost meanwhile, is {@link FailureCode#OUTCOME_UNKNOWN}:
   * never "nothing written", never "retry later".
   */
  private Future<JsonObject> inTransaction(SqlConnection conn, Db statements, Operation op, Attempt attempt,
                                           long statementDeadline, String requestId) {
    return conn.begin().compose(tx -> work(op, statements).transform(ar -> {
      boolean timeForCommit = statementDeadline - System.nanoTime() >= TimeUnit.MILLISECONDS.toNanos(MIN_COMMIT_MS);
      if (ar.succeeded() && !timeForCommit && attempt.expire()) {
        // COMMIT is a statement too: not sent when its acknowledgement could not make the deadline.
        stop(StopReason.BEFORE_STATEMENT, op, requestId);
      }
      if (ar.succeeded() && timeForCommit && attempt.commit()) {
        return tx.commit().map(ar.result()).recover(err -> {
          commitLog.warn("{} {}: COMMIT failed, outcome unknown: {} request_id={}", op.action(), op.key(),
            err.toString(), requestId);
          return Future.failedFuture(Failures.outcomeUnknown());
        });
      }
      Throwable cause = ar.succeeded() ? Failures.statementTimeout() : ar.cause();
      // The work's own answer (404, 409, 400) stands if it came before the deadline; claim it before rolling back.
      if (ar.failed() && cause instanceof ProxyFailure own && own.code() < 500 && attempt.finish()) {
        return rollback(tx).compose(v -> Future.failedFuture(own));
      }
      return attempt.killSettled().compose(v -> rollback(tx)).compose(v -> Future.failedFuture(cause));
    }));
  }

  /** Rolls back; once more if a kill meant for the previous statement interrupted the first try. */
  private static Future<Void> rollback(Transaction tx) {
    return tx.rollback().recover(err -> tx.rollback()).otherwiseEmpty();
  }

  private ProxyFailure stop(StopReason reason, Operation op, String requestId) {
    counters.stops[reason.ordinal()].increment();
    timeoutLog.warn("{} {} stopped at its deadline ({}) request_id={}", op.action(), op.key(),
      reason.name().toLowerCase(java.util.Locale.ROOT), requestId);
    return Failures.statementTimeout();
  }

  private ProxyFailure rejected(Operation op, Lane lane, Throwable err, String requestId) {
    if (!(err instanceof Admission.Rejected rejection)) {
      return Failures.statementFailure(err);
    }
    long retryAfter = admission.retryAfterSeconds(lane);
    if (rejection.reason == Admission.Rejection.LANE_DEADLINE) {
      saturationLog.warn("{} {} rejected: its statements take {} ms (p90 of the last {}), longer than the request has"
        + " left; {} of them in flight (lane limit {}) request_id={}", op.action(), op.key(),
        TimeUnit.NANOSECONDS.toMillis(lane.p90Now()), Lane.WINDOW, lane.inFlightNow(), lane.limitNow(), requestId);
      return Failures.laneTooSlow(op.action(), lane.p90Now(), retryAfter);
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
    return active.get();
  }

  /** Open connections of this executor's pool. */
  int poolSize() {
    return pool.size();
  }

  PoolSettings poolSettings() {
    return poolSettings;
  }

  long statementTimeoutMs() {
    return statementTimeoutMs;
  }
}
