package io.sluice.proxy.impl;

/**
 * Whether a request is worth a connection, and when a refused one should come back: the policy half of admission,
 * apart from the permits, queue and timers of {@link Admission} (the mechanism).
 *
 * <p>It learns how long a request holds its connection (exponentially weighted mean and variance of the samples
 * handed to {@link #recordHold}) and predicts from that alone. It reads no clock and knows no Vert.x: callers pass
 * durations, so it is tested with synthetic hold times.
 *
 * <p>Threads: {@link #recordHold} is called on the admission's event loop only. The estimates may be read from any
 * thread (metrics gauges, stats); the fields are volatile, and a reader that sees the mean of one sample and the
 * variance of the next gets an estimate that is off by one sample, which is harmless.
 */
final class AdmissionPolicy {

  /** Weight of the newest sample in the moving average of the time a request holds a connection. */
  static final double ALPHA = 0.1;
  /** Bounds of the Retry-After hint, in seconds. */
  static final long MIN_RETRY_AFTER_SECONDS = 1;
  static final long MAX_RETRY_AFTER_SECONDS = 60;

  private final int permits;
  private final long acquireTimeoutNanos;
  private volatile double meanHoldNanos;
  private volatile double holdVariance;
  private volatile long samples;

  /**
   * @param permits             requests served at once (the pool's connections): the drain rate of the queue
   * @param acquireTimeoutNanos the longest a request waits in line; the Retry-After before any hold was measured
   */
  AdmissionPolicy(int permits, long acquireTimeoutNanos) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be at least 1, was " + permits);
    }
    this.permits = permits;
    this.acquireTimeoutNanos = acquireTimeoutNanos;
  }

  /** Learns from one request that held its connection for {@code heldNanos}. */
  void recordHold(long heldNanos) {
    if (samples == 0) {
      meanHoldNanos = heldNanos;
    } else {
      // Exponentially weighted mean and variance (West's update): recent behaviour counts most.
      double delta = heldNanos - meanHoldNanos;
      meanHoldNanos += ALPHA * delta;
      holdVariance = (1 - ALPHA) * (holdVariance + ALPHA * delta * delta);
    }
    samples++;
  }

  /**
   * Whether a request that would be {@code position}-th in line (1-based) with {@code remainingNanos} to its
   * deadline can still finish: its wait in line plus its own time on a connection must fit. Admitting one that
   * cannot would only spend a connection on a statement that gets killed at the deadline. Before the first sample
   * there is nothing to predict from, and every request is worth queueing.
   */
  boolean worthQueueing(int position, long remainingNanos) {
    return samples == 0 || predictedWaitNanos(position) + likelyHoldNanos() <= remainingNanos;
  }

  /**
   * Whether a waiter with {@code remainingNanos} to its deadline is worth the connection being handed over now.
   * One whose remaining time is shorter than a typical hold would spend it on a statement that gets killed at its
   * deadline; better refuse it and give the connection to the next one, which may finish.
   */
  boolean worthHandingOver(long remainingNanos) {
    return remainingNanos >= likelyHoldNanos();
  }

  /**
   * When a request refused now should come back, with {@code waiting} requests in line: the time that line takes to
   * drain at the observed rate, rounded up to whole seconds, from {@value #MIN_RETRY_AFTER_SECONDS} to
   * {@value #MAX_RETRY_AFTER_SECONDS}. Before the first sample: the acquire timeout.
   */
  long retryAfterSeconds(int waiting) {
    long nanos = samples == 0 ? acquireTimeoutNanos : predictedWaitNanos(waiting + 1);
    long seconds = (nanos + 999_999_999L) / 1_000_000_000L;
    return Math.max(MIN_RETRY_AFTER_SECONDS, Math.min(MAX_RETRY_AFTER_SECONDS, seconds));
  }

  /**
   * How long a request will likely hold its connection: mean plus one standard deviation. Admitting on the mean
   * alone lets half of the slower requests run into their deadline, and a statement killed at its deadline has
   * spent a connection for nothing.
   */
  long likelyHoldNanos() {
    return (long) (meanHoldNanos + Math.sqrt(holdVariance));
  }

  /** Expected wait of the {@code position}-th request in line (1-based): position × mean hold time ÷ permits. */
  long predictedWaitNanos(int position) {
    return (long) (position * meanHoldNanos / permits);
  }

  long meanHoldNanos() {
    return (long) meanHoldNanos;
  }

  /** Hold times learnt so far. */
  long samples() {
    return samples;
  }
}
