package io.sluice.proxy.impl;

import com.netflix.concurrency.limits.limit.Gradient2Limit;

/**
 * How many statements of one class (a lane) may run at once: an adaptive limit learned from the class's own
 * execution times, with a floor of one statement in flight (the probe that finds out when the class recovers).
 *
 * <h2>The formula</h2>
 * Two parts; the limit is the smaller of the two, capped by ops ({@code db.lanes.<lane>.maxPercent}):
 * <ol>
 *   <li><b>Gradient</b> (Netflix concurrency-limits' {@link Gradient2Limit}, the policy of the library, not ours):
 *   {@code newLimit = limit × gradient + queueSize}, smoothed, where
 *   {@code gradient = clamp(0.5, 1, tolerance × longRtt / shortRtt)}: the long-run average execution time over the
 *   latest one. When statements of the class slow down (a lock, a bad plan, a slow server) the gradient falls below 1
 *   and the limit shrinks; when they are as fast as usual it grows by {@code queueSize} (4) per sample, but only
 *   while the lane uses at least half its limit (an idle lane learns nothing). Tolerance {@value #RTT_TOLERANCE}:
 *   event-loop jitter on a busy 2-core host doubles a sub-millisecond statement's time now and then, which must not
 *   shrink a healthy lane.</li>
 *   <li><b>Drops</b>: a statement stopped at its deadline (killed, or past the server-side limit) halves a ceiling
 *   ({@code ceiling = max(1, min(limit, ceiling) / 2)}); each statement that completes in time doubles it back, up to
 *   the pool. The gradient alone shrinks by about 10 % per sample, and a lane whose statements block until their
 *   deadline gives one sample per deadline per connection: the ceiling brings a blocked lane of 20 down to its
 *   probe after 5 drops, and lets a recovered one back to 20 after 5 fast statements.</li>
 * </ol>
 *
 * <p>Samples are execution times only (connection held, statements run): never the wait in the queue, cache hits,
 * coalesced followers or readiness probes, which say nothing about the class's statements.
 *
 * <p>Not thread-safe: the {@link Admission} calls it under its lock.
 */
final class LaneLimit {

  /** See the class comment: how much slower than its long-run average a sample may be before the limit shrinks. */
  static final double RTT_TOLERANCE = 2.0;
  /** The gradient limit's smoothing: the weight of each new estimate. */
  static final double SMOOTHING = 0.2;

  private final Gradient2Limit gradient;
  private final boolean adaptive;
  private final int permits;
  private int cap;
  private int ceiling;

  /**
   * @param permits the node's connections: the most any lane may hold
   * @param initial the limit before any sample
   * @param cap     the ops cap ({@code maxPercent} of the pool), at least 1
   */
  LaneLimit(int permits, int initial, int cap) {
    this(permits, initial, cap, true);
  }

  /**
   * @param adaptive false: a fixed limit of {@code cap} (lanes off: one lane for every action, limited by the pool
   *                 alone, as before lanes existed)
   */
  LaneLimit(int permits, int initial, int cap, boolean adaptive) {
    this.adaptive = adaptive;
    this.permits = permits;
    this.gradient = Gradient2Limit.newBuilder()
      .initialLimit(Math.max(1, Math.min(initial, permits)))
      .minLimit(1)
      .maxConcurrency(permits)
      .rttTolerance(RTT_TOLERANCE)
      .smoothing(SMOOTHING)
      .build();
    this.ceiling = permits;
    this.cap = Math.max(1, Math.min(cap, permits));
  }

  /** One statement of the lane ended after {@code executionNanos}, with {@code inFlight} of the lane running. */
  void onSample(long executionNanos, int inFlight, boolean dropped) {
    if (!adaptive) {
      return;
    }
    gradient.onSample(0, Math.max(1, executionNanos), inFlight, dropped);
    if (dropped) {
      ceiling = Math.max(1, Math.min(ceiling, limit()) / 2);
    } else {
      ceiling = Math.min(permits, ceiling * 2);
    }
  }

  /** The lane's limit now: at least 1, at most the ops cap. */
  int limit() {
    if (!adaptive) {
      return cap;
    }
    return Math.max(1, Math.min(Math.min(gradient.getLimit(), ceiling), cap));
  }

  void cap(int connections) {
    this.cap = Math.max(1, Math.min(connections, permits));
  }

  int permits() {
    return permits;
  }

  int ceiling() {
    return ceiling;
  }
}
