package io.sluice.proxy.impl;

import io.sluice.proxy.config.FaultSettings;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Rehearses the incident: before each statement, keeps the borrowed connection busy on the server for a random
 * time, so the pool saturates exactly as it would with slow queries.
 */
final class FaultInjector {

  private final FaultSettings settings;

  FaultInjector(FaultSettings settings) {
    this.settings = settings;
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
    return conn.preparedQuery(Sql.INJECTED_LATENCY).execute(Tuple.of(ms / 1000.0)).mapEmpty();
  }
}
