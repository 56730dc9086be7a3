package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The guarded commit of a write: it runs in a transaction that commits only if it finished before its deadline (see
 * {@link Attempt}) with time left for the acknowledgement; a COMMIT not acknowledged by the deadline is answered
 * {@link FailureCode#OUTCOME_UNKNOWN} at the deadline (by the {@link StatementGuard}). So every write is answered by
 * its deadline, and each answer says what happened: success (committed), 504 (rolled back or never started) or
 * outcome unknown.
 */
final class GuardedCommit {

  /**
   * A write commits only with at least this much of its deadline left: a COMMIT is one round trip and an fsync, and
   * one sent at the last millisecond would mostly end as "outcome unknown" instead of a clean 504.
   */
  static final long MIN_COMMIT_MS = 5;

  private final StatementGuard guard;

  GuardedCommit(StatementGuard guard) {
    this.guard = guard;
  }

  /**
   * The guarded commit: COMMIT is sent only if the work finished before the deadline with at least
   * {@link #MIN_COMMIT_MS} left, so that its acknowledgement can still reach the caller in time; otherwise the
   * transaction is rolled back and the answer is 504 (nothing written). Once COMMIT is sent, an acknowledgement
   * that does not come by the deadline, or a connection lost meanwhile, is {@link FailureCode#OUTCOME_UNKNOWN}:
   * never "nothing written", never "retry later".
   */
  Future<JsonObject> inTransaction(SqlConnection conn, Db statements, Operation op, Attempt attempt,
                                   long statementDeadline, String requestId, Consumer<String> destroy) {
    return conn.begin().compose(tx -> StatementGuard.work(op, statements).transform(ar -> {
      boolean timeForCommit = statementDeadline - System.nanoTime() >= TimeUnit.MILLISECONDS.toNanos(MIN_COMMIT_MS);
      if (ar.succeeded() && !timeForCommit && attempt.expire()) {
        // COMMIT is a statement too: not sent when its acknowledgement could not make the deadline.
        guard.stop(StatementGuard.StopReason.BEFORE_STATEMENT, op, requestId);
      }
      if (ar.succeeded() && timeForCommit && attempt.commit()) {
        return tx.commit().map(ar.result()).recover(err -> {
          guard.commitLog.warn("{} {}: COMMIT failed, outcome unknown: {} request_id={}", op.action(), op.key(),
            err.toString(), requestId);
          // As after a failed ROLLBACK: vertx-sql-client ends the Transaction with the COMMIT, failed or not, so no
          // ROLLBACK would follow; if the server kept the transaction open, the next borrower would inherit it.
          destroy.accept("its COMMIT failed");
          return Future.failedFuture(Failures.outcomeUnknown());
        });
      }
      Throwable cause = ar.succeeded() ? Failures.statementTimeout() : ar.cause();
      // The work's own answer (404, 409, 400) stands if it came before the deadline; claim it before rolling back.
      if (ar.failed() && cause instanceof ProxyFailure own && own.code() < 500 && attempt.finish()) {
        return rollback(tx, destroy).compose(v -> Future.failedFuture(own));
      }
      return attempt.killSettled().compose(v -> rollback(tx, destroy)).compose(v -> Future.failedFuture(cause));
    }));
  }

  /**
   * Rolls back. Never fails.
   *
   * <p>Invariant: <em>a connection whose ROLLBACK failed is never reused</em>. Its transaction may still be open on
   * the server (a kill meant for the previous statement interrupted the ROLLBACK, or the server refused it), and the
   * next borrower's BEGIN would commit it: a write answered "nothing written" stored after all. So it is closed at
   * the socket ({@code destroy}: {@link Sockets#destroy}, counted in {@code connectionsDestroyed}); the server rolls
   * back the transaction of a connection that is gone. No second try: vertx-sql-client 5.0.8 ends the
   * {@link Transaction} with the first ROLLBACK, failed or not, and a second {@code rollback()} sends nothing.
   */
  private static Future<Void> rollback(Transaction tx, Consumer<String> destroy) {
    return tx.rollback().recover(err -> {
      destroy.accept("its ROLLBACK failed (" + err.getMessage() + "), so its transaction may still be open");
      return Future.succeededFuture();
    });
  }
}
