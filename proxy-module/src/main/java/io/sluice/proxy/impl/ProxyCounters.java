package io.sluice.proxy.impl;

import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's counters since start. They outlive pool swaps: each new pool's admission and executor count into
 * the same adders, so metrics and stats stay cumulative across config reloads.
 */
final class ProxyCounters {

  final LongAdder[] rejections = adders(Rejection.values().length);
  final LongAdder[] stops = adders(StatementGuard.StopReason.values().length);
  final LongAdder executed = new LongAdder();
  /** Statements run for point reads ({@link PointReads}), and the reads they answered. */
  final LongAdder pointReadStatements = new LongAdder();
  final LongAdder pointReads = new LongAdder();
  final LongAdder spentOnArrival = new LongAdder();
  final LongAdder connectionFailures = new LongAdder();
  /**
   * Connections closed at the socket: a statement still running past deadline + grace, a kill not confirmed, or a
   * failed ROLLBACK.
   */
  final LongAdder destroyed = new LongAdder();

  private static LongAdder[] adders(int n) {
    LongAdder[] adders = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      adders[i] = new LongAdder();
    }
    return adders;
  }
}
