package io.sluice.proxy.impl;

import io.sluice.proxy.config.PoolSettings;
import io.sluice.contract.FailureCode;

import io.vertx.mysqlclient.MySQLException;
import io.vertx.sqlclient.ClosedConnectionException;

import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import java.util.Set;

/** Maps what went wrong to a contract failure code and a client-safe message (no SQL, no server detail). */
final class Failures {

  private Failures() {
  }

  /** Refused at admission: 503 with the drain-based retry hint. Nothing was executed. */
  static ProxyFailure saturated(Rejection reason, PoolSettings pool, long retryAfterSeconds) {
    String why = switch (reason) {
      case QUEUE_FULL -> pool.maxSize() + " connections busy and " + pool.maxWaitQueueSize()
        + " requests already waiting";
      case PREDICTED_WAIT -> "the predicted wait for a connection exceeds the request's remaining time";
      case DEADLINE_EXPIRED -> "the request's deadline passed while it waited for a connection";
      case ACQUIRE_TIMEOUT -> "no connection became free within " + pool.acquireTimeoutMs() + " ms";
      case QUEUE_DELAY -> "the predicted wait for a connection exceeds the pool's queueing-delay target";
      case LANE_DEADLINE -> "this kind of statement takes longer than the request's remaining time";
    };
    return new ProxyFailure(FailureCode.POOL_SATURATED,
      FailureCode.withRetryAfter("database pool saturated: " + why, retryAfterSeconds), reason);
  }

  /**
   * Refused at admission because statements of its class (its lane) take longer, recently (median), than the
   * request has left: 503 with a Retry-After of about that time. Nothing was executed; other classes are not affected.
   */
  static ProxyFailure laneTooSlow(String action, long medianNanos, long retryAfterSeconds) {
    return new ProxyFailure(FailureCode.POOL_SATURATED, FailureCode.withRetryAfter("database busy for " + action
      + ": its statements take " + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(medianNanos) + " ms now (median),"
      + " longer than the request's remaining time (lane_deadline)", retryAfterSeconds),
      Rejection.LANE_DEADLINE);
  }

  static ProxyFailure statementTimeout() {
    return new ProxyFailure(FailureCode.STATEMENT_TIMEOUT,
      "database statement did not finish within the request's deadline; it was stopped");
  }

  /** COMMIT sent, acknowledgement late or lost: the write may or may not have happened. */
  static ProxyFailure outcomeUnknown() {
    return new ProxyFailure(FailureCode.OUTCOME_UNKNOWN, "the write may or may not have happened: its commit was"
      + " not acknowledged in time; retry with the same Idempotency-Key, or read before writing again");
  }

  static ProxyFailure deadlineSpent() {
    return new ProxyFailure(FailureCode.STATEMENT_TIMEOUT, "the request's deadline had passed when it arrived");
  }

  /** Server errors that say "try again": the statement lost a race with another, nothing was changed. */
  private static final Set<Integer> TRANSIENT = Set.of(
    1205, // ER_LOCK_WAIT_TIMEOUT
    1213, // ER_LOCK_DEADLOCK
    ServerLimits.QUERY_INTERRUPTED); // killed by someone else (an operator's KILL QUERY)

  /** Anything that failed after the connection was obtained and is not already a contract failure. */
  static ProxyFailure statementFailure(Throwable err) {
    if (err instanceof ProxyFailure failure) {
      return failure;
    }
    if (err instanceof MySQLException e && TRANSIENT.contains(e.getErrorCode())) {
      return new ProxyFailure(FailureCode.DB_UNAVAILABLE,
        FailureCode.withRetryAfter("database busy (lock conflict or interrupted statement); nothing was changed", 1));
    }
    if (err instanceof ConnectException || err instanceof ClosedChannelException
      || err instanceof ClosedConnectionException
      || (err.getMessage() != null && err.getMessage().contains("closed"))) {
      return new ProxyFailure(FailureCode.DB_UNAVAILABLE, "database connection lost");
    }
    return new ProxyFailure(FailureCode.INTERNAL, "internal error");
  }
}
