package io.sluice.proxy.impl;

import io.vertx.core.Promise;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;

/**
 * One statement class's share of the node's admission: its adaptive limit ({@link LaneLimit}), its statements in
 * flight, its FIFO of waiters, and its recent execution times (the median for the deadline feasibility check, the
 * p90 for stats).
 *
 * <p>Guarded by the {@link Admission}'s lock: every field is read and written under it, except the volatile
 * snapshots and the counters that stats and meters read from any thread.
 */
final class Lane {

  /** Execution samples kept (median, p90): enough to be stable, few enough to forget a lock within a second. */
  static final int WINDOW = 20;
  /** A lane with statements in flight and no completion for this long (at least) is stalled: it may not borrow. */
  static final long STALL_FLOOR_NANOS = 10_000_000;

  /** A request in line for a permit. */
  static final class Waiter {
    final Lane lane;
    final Promise<Void> promise = Promise.promise();
    /** The request's own context: its future is completed there, whichever thread released the permit. */
    final Executor executor;
    final long deadlineNanos;
    final long queuedAtNanos;
    /** Arrival order across every lane of the node: the hand-over serves the oldest eligible head first. */
    final long seq;
    long timerId;

    Waiter(Lane lane, Executor executor, long deadlineNanos, long queuedAtNanos, long seq) {
      this.lane = lane;
      this.executor = executor;
      this.deadlineNanos = deadlineNanos;
      this.queuedAtNanos = queuedAtNanos;
      this.seq = seq;
    }
  }

  final String name;
  final LaneLimit limit;
  final ArrayDeque<Waiter> queue = new ArrayDeque<>();
  final LongAdder[] rejections;
  final LongAdder executed = new LongAdder();
  final LongAdder dropped = new LongAdder();
  int inFlight;
  private final long[] window = new long[WINDOW];
  private int samples;
  private long p90Nanos;
  private long medianNanos;
  private long lastCompletionNanos;
  private volatile int inFlightSnapshot;
  private volatile int waitingSnapshot;
  private volatile int limitSnapshot;
  private volatile long p90Snapshot;
  private volatile long medianSnapshot;

  final AdmissionPolicy policy;

  Lane(String name, LaneLimit limit, AdmissionPolicy policy) {
    this.policy = policy;
    this.name = name;
    this.limit = limit;
    this.rejections = new LongAdder[Rejection.values().length];
    for (int i = 0; i < rejections.length; i++) {
      rejections[i] = new LongAdder();
    }
    snapshot();
  }

  /**
   * One statement ended after {@code executionNanos}; {@code dropped} when it was stopped at its deadline. Feeds the
   * limit and the window of the p90.
   */
  void onSample(long executionNanos, boolean dropped, long nowNanos) {
    lastCompletionNanos = nowNanos;
    limit.onSample(executionNanos, inFlight + 1, dropped);
    // The lane's line drains at the rate of the connections it holds: its limit, or more while it borrows.
    policy.permits(Math.max(limit.limit(), inFlight + 1));
    executed.increment();
    if (dropped) {
      this.dropped.increment();
    }
    window[samples % WINDOW] = executionNanos;
    samples++;
    int n = Math.min(samples, WINDOW);
    long[] sorted = Arrays.copyOf(window, n);
    Arrays.sort(sorted);
    p90Nanos = sorted[Math.min(n - 1, (int) Math.ceil(n * 0.9) - 1)];
    medianNanos = sorted[(n - 1) / 2];
  }

  /**
   * Whether a request with {@code remainingNanos} left could finish, judged by the lane's recent executions: their
   * median must fit. When it does not, most of the lane's statements would run into the request's deadline and be
   * killed, having held a connection for nothing (a row lock, a bad plan). The median and not the p90: a class whose
   * tail only grazes the deadline (most statements finish, a few are killed) keeps being served. Before
   * {@value #WINDOW}/4 samples the lane has nothing to judge by, and every request may try.
   */
  boolean feasible(long remainingNanos) {
    return samples < WINDOW / 4 || medianNanos <= remainingNanos;
  }

  /** Whether the lane is under its limit: it may take a permit whoever else waits. */
  boolean underLimit() {
    return inFlight < limit.limit();
  }

  /**
   * Whether the lane may take a free permit beyond its limit (work-conserving): only a lane that has shown it is
   * healthy, so that a class turning slow cannot take the pool while nobody happens to wait. Healthy: enough samples
   * to judge by, no drop among the recent ones (the drop ceiling is back at the pool), and not stalled: with
   * statements in flight, one completed within {@code max(4 × p90, 10 ms)}.
   */
  boolean mayBorrow(long nowNanos) {
    if (samples < WINDOW / 4 || limit.ceiling() < limit.permits()) {
      return false;
    }
    return inFlight == 0 || nowNanos - lastCompletionNanos <= Math.max(4 * p90Nanos, STALL_FLOOR_NANOS);
  }

  /** Refreshes what other threads read; call under the admission's lock after a change. */
  void snapshot() {
    inFlightSnapshot = inFlight;
    waitingSnapshot = queue.size();
    limitSnapshot = limit.limit();
    p90Snapshot = p90Nanos;
    medianSnapshot = medianNanos;
  }

  int inFlightNow() {
    return inFlightSnapshot;
  }

  int waitingNow() {
    return waitingSnapshot;
  }

  int limitNow() {
    return limitSnapshot;
  }

  long p90Now() {
    return p90Snapshot;
  }

  long medianNow() {
    return medianSnapshot;
  }
}
