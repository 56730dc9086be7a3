package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.FaultSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.PreparedQuery;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The statement guard: runs one operation on a borrowed connection within its deadline, and gives the connection
 * back. Each statement carries a server-side limit of the remaining time; a timer answers 504 when the deadline
 * passes and kills what still runs on the server ({@link Killer}); a write goes through the {@link GuardedCommit}.
 *
 * <p>Invariant (kept in {@link #execute}): <em>every borrowed connection comes back or is destroyed by the
 * statement deadline + {@code db.killGraceMs}</em>. A statement still running then (the server or the network stopped
 * answering, so the kill did not help), a connection whose KILL QUERY was not confirmed (it may still land later,
 * on whatever runs there next), or one whose ROLLBACK failed (its transaction may still be open, see
 * {@link GuardedCommit}), is closed at the socket ({@link Sockets#destroy}) and never reused; the lease ends at
 * once, without waiting for anything from the server, so the admission permit comes back with it.
 *
 * <p>Threads: one request's guard runs on the context that borrowed the connection (its callbacks, timers and the
 * lease are confined there); the counters are atomic, shared by every event loop of the node.
 */
final class StatementGuard {

  private static final Logger log = LoggerFactory.getLogger(StatementGuard.class);

  /** Longest the 504 waits for the KILL QUERY to be acknowledged (so the database is quiet when callers look). */
  private static final long KILL_REPLY_GRACE_MS = 250;
  /**
   * A read whose statement still runs this long after its KILL QUERY was confirmed is killed again (until the grace
   * ends). A KILL QUERY is a point in time: one that reaches the server before the statement has started is lost
   * (MariaDB clears it at the next command), and MariaDB 11.4 was seen leaving a killed {@code SLEEP} asleep.
   * Pipelined kills arrive fast enough to meet the first case under a burst. Not sooner: a second KILL that meets its
   * victim while it wakes from the first one (its result not yet read here) holds the victim's locks while it waits
   * for the mutex the victim holds, and MariaDB gives such a KILL up only after 2 s (40 x 50 ms), holding up the
   * kills pipelined behind it; at 100 ms, bursts of 16 killed SLEEPs met that in 1 of 5 bursts (bench kill-burst).
   */
  private static final long KILL_RETRY_MS = 500;

  /** Why a statement was stopped for its deadline. */
  enum StopReason { KILLED, SERVER_LIMIT, BEFORE_STATEMENT }

  private final Vertx vertx;
  private final Killer killer;
  private final ServerLimits limits;
  private final ProxyMetrics metrics;
  private final ProxyCounters counters;
  private final GuardedCommit commit = new GuardedCommit(this);
  private final RateLimitedLog timeoutLog = new RateLimitedLog(log, 1000);
  private final RateLimitedLog killLog = new RateLimitedLog(log, 1000);
  final RateLimitedLog commitLog = new RateLimitedLog(log, 1000);
  /** Live-reloadable without a new pool. */
  private volatile long statementTimeoutMs;
  private volatile long killGraceMs;
  private volatile FaultInjector faults;
  private final LatencyGate gate;
  /** Connections currently held by requests. */
  private final AtomicInteger active = new AtomicInteger();

  StatementGuard(Vertx vertx, Killer killer, ServerLimits limits, LatencyGate gate, ProxyMetrics metrics,
                 ProxyCounters counters) {
    this.vertx = vertx;
    this.gate = gate;
    this.killer = killer;
    this.limits = limits;
    this.metrics = metrics;
    this.counters = counters;
  }

  /** The statement timeout, the kill grace and fault injection: live, no new pool. */
  void update(DbSettings db, FaultSettings faults) {
    this.statementTimeoutMs = db.statementTimeoutMs();
    this.killGraceMs = db.killGraceMs();
    this.faults = new FaultInjector(faults, gate);
  }

  long statementTimeoutMs() {
    return statementTimeoutMs;
  }

  int inUse() {
    return active.get();
  }

  /**
   * Runs the operation on {@code conn} and gives the connection back, all within the statement deadline + the kill
   * grace: this is where the invariant of the class comment is kept. The returned future completes when the
   * connection was given back or destroyed, never later than that bound.
   */
  Future<JsonObject> execute(SqlConnection conn, Operation op, long deadline, Promise<JsonObject> reply,
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
    // Completes when the statements ended (for a read: its whole work), so a kill that did not stop them is repeated.
    Promise<Void> workDone = Promise.promise();
    long timer = vertx.setTimer(remainingMs, id -> {
      lease.guard(guardAt);
      onDeadline(attempt, connectionId, op, reply, requestId, guardAt, workDone.future());
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
      .compose(id -> statements(conn, statements, op, attempt, statementDeadline, requestId,
        why -> lease.destroy(requestId, why)))
      .onComplete(ar -> {
        vertx.cancelTimer(timer);
        workDone.tryComplete();
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
      if (destroyed) {
        return;
      }
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
                          String requestId, long guardAt, Future<Void> workDone) {
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
    // Bounded by the grace: a kill not confirmed by then means the connection is destroyed (see execute). A write
    // is killed once: its work ends with a ROLLBACK that waits for the kill, so "until the work ended" cannot apply.
    Future<Void> kill = killUntil(id, guardAt, op.write() ? Future.succeededFuture() : workDone)
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

  /**
   * {@code KILL QUERY id}, repeated every {@link #KILL_RETRY_MS} after each confirmation while {@code workDone} is not
   * complete, until {@code until} ({@link System#nanoTime()} scale). Completes once the last kill sent is confirmed,
   * so none is left in flight when the connection is given back; fails if one was not confirmed.
   */
  private Future<Void> killUntil(long id, long until, Future<Void> workDone) {
    long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime()));
    return killer.killQuery(id, waitMs).compose(v -> {
      if (workDone.isComplete()) {
        return Future.succeededFuture();
      }
      Promise<Void> pause = Promise.promise();
      long retry = vertx.setTimer(KILL_RETRY_MS, t -> pause.tryComplete());
      workDone.onComplete(ar -> {
        vertx.cancelTimer(retry);
        pause.tryComplete();
      });
      return pause.future().compose(p -> workDone.isComplete()
        || until - System.nanoTime() <= TimeUnit.MILLISECONDS.toNanos(KILL_RETRY_MS)
        ? Future.succeededFuture() : killUntil(id, until, workDone));
    });
  }

  /** @param destroy closes the connection at the socket for the reason given, never to be reused */
  private Future<JsonObject> statements(SqlConnection conn, Db statements, Operation op, Attempt attempt,
                                        long statementDeadline, String requestId, Consumer<String> destroy) {
    if (attempt.expired()) {
      // Expired during the connection-id lookup: onDeadline sent no kill (it had no id), so nothing may start now,
      // not even the injected latency, which would run unkilled until the guard closes the socket.
      return Future.failedFuture(Failures.statementTimeout());
    }
    return faults.beforeStatement(conn).compose(v -> {
      if (attempt.expired()) {
        // The caller has its answer already; a write must not start after it was told it timed out.
        return Future.failedFuture(Failures.statementTimeout());
      }
      Future<JsonObject> work = op.write()
        ? commit.inTransaction(conn, statements, op, attempt, statementDeadline, requestId, destroy)
        : work(op, statements).compose(result -> attempt.finish()
          ? Future.succeededFuture(result)
          : Future.failedFuture(Failures.statementTimeout()));
      return work.recover(err -> ServerLimits.isServerTimeout(err) && attempt.expire()
        ? Future.failedFuture(stop(StopReason.SERVER_LIMIT, op, requestId))
        : Future.failedFuture(attempt.expired() ? Failures.statementTimeout() : err));
    });
  }

  /** The operation's statements as a future, even when it fails before sending any (a throw becomes a failure). */
  static Future<JsonObject> work(Operation op, Db statements) {
    return Future.<Void>succeededFuture().compose(v -> op.work().apply(statements));
  }

  ProxyFailure stop(StopReason reason, Operation op, String requestId) {
    counters.stops[reason.ordinal()].increment();
    timeoutLog.warn("{} {} stopped at its deadline ({}) request_id={}", op.action(), op.key(),
      reason.name().toLowerCase(java.util.Locale.ROOT), requestId);
    return Failures.statementTimeout();
  }
}
