package io.sluice.proxy.impl;

import io.sluice.proxy.config.FaultSettings;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Rehearses the incident: before each statement, keeps the borrowed connection busy on the server for a random
 * time, so the pool saturates exactly as it would with slow queries. The wait is on the node's {@link LatencyGate},
 * which a deadline's kill ends at once.
 */
final class FaultInjector {

  private final FaultSettings settings;
  private final LatencyGate gate;

  FaultInjector(FaultSettings settings, LatencyGate gate) {
    this.settings = settings;
    this.gate = gate;
  }

  boolean enabled() {
    return settings.dbLatencyEnabled();
  }

  Future<Void> beforeStatement(SqlConnection conn) {
    if (!settings.dbLatencyEnabled()) {
      return Future.succeededFuture();
    }
    long ms = settings.minMs() == settings.maxMs()
      ? settings.minMs()
      : ThreadLocalRandom.current().nextLong(settings.minMs(), settings.maxMs() + 1);
    double seconds = ms / 1000.0;
    String lock = gate.heldLock();
    return (lock != null
      ? conn.preparedQuery(Sql.INJECTED_LATENCY).execute(Tuple.of(lock, seconds, lock))
      : conn.preparedQuery(Sql.INJECTED_SLEEP).execute(Tuple.of(seconds))).mapEmpty();
  }
}
