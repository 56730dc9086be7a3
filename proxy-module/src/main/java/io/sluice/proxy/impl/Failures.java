package io.sluice.proxy.impl;

import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.contract.FailureCode;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.mysqlclient.MySQLException;

import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;

/** Maps what went wrong to a contract failure code and a client-safe message (no SQL, no server detail). */
final class Failures {

  /** Why the pool refused a connection. */
  enum Rejection {
    QUEUE_FULL("queue_full"), ACQUIRE_TIMEOUT("acquire_timeout");

    final String label;

    Rejection(String label) {
      this.label = label;
    }
  }

  private Failures() {
  }

  /** Classifies a failure to obtain a connection: saturation (503) or an unreachable database (502). */
  static ProxyFailure acquireFailure(Throwable err, PoolSettings pool) {
    Rejection rejection = rejectionOf(err);
    if (rejection == Rejection.QUEUE_FULL) {
      return new ProxyFailure(FailureCode.POOL_SATURATED, "database pool saturated: " + pool.maxSize()
        + " connections busy and " + pool.maxWaitQueueSize() + " requests already waiting");
    }
    if (rejection == Rejection.ACQUIRE_TIMEOUT) {
      return new ProxyFailure(FailureCode.POOL_SATURATED, "database pool saturated: no connection became free within "
        + pool.acquireTimeoutMs() + " ms");
    }
    return new ProxyFailure(FailureCode.DB_UNAVAILABLE, "database unavailable");
  }

  static Rejection rejectionOf(Throwable err) {
    if (err instanceof ConnectionPoolTooBusyException) {
      return Rejection.QUEUE_FULL;
    }
    // withConnection/getConnection report an acquire timeout as a bare "Timeout" (NoStackTraceThrowable).
    String message = err.getMessage();
    if (!(err instanceof MySQLException) && message != null && message.startsWith("Timeout")) {
      return Rejection.ACQUIRE_TIMEOUT;
    }
    return null;
  }

  static ProxyFailure statementTimeout(long timeoutMs) {
    return new ProxyFailure(FailureCode.STATEMENT_TIMEOUT, "database statement did not finish within " + timeoutMs
      + " ms");
  }

  /** Anything that failed after the connection was obtained and is not already a contract failure. */
  static ProxyFailure statementFailure(Throwable err) {
    if (err instanceof ProxyFailure failure) {
      return failure;
    }
    if (err instanceof ConnectException || err instanceof ClosedChannelException
      || (err.getMessage() != null && err.getMessage().contains("closed"))) {
      return new ProxyFailure(FailureCode.DB_UNAVAILABLE, "database connection lost");
    }
    return new ProxyFailure(FailureCode.INTERNAL, "internal error");
  }
}
