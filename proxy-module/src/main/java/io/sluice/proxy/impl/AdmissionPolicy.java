package io.sluice.proxy.impl;

/**
 * Whether a request is worth a connection, and when a refused one should come back: the policy half of admission,
 * apart from the permits, queue and timers of {@link Admission} (the mechanism).
 *
 * <p>It learns how long a request holds its connection (exponentially weighted mean and variance of the samples
 * handed to {@link #recordHold}) and predicts from that alone. It reads no clock and knows no Vert.x: callers pass
 * durations (and, for the queueing-delay target, the time of each hand-over), so it is tested with synthetic hold
 * times.
 *
 * <h2>Queueing-delay target ({@code db.pool.queueDelayTargetMs})</h2>
 * A queue in front of a saturated pool is useful only as long as it keeps every permit busy: when a permit frees,
 * someone should be there to take it. Anything longer adds waiting to every success and serves no one more. In the
 * incident (70 connections, holds of 400–1000 ms) a permit frees about every 10 ms, so a line of a few requests
 * keeps the pool busy, while the default line of 100 added about a second to every success.
 *
 * <p>Two halves, after CoDel (Nichols and Jacobson, "Controlling Queue Delay", 2012), which tells a <em>good</em>
 * queue (a burst that drains) from a <em>standing</em> one (overload) by the observed sojourn:
 * <ol>
 *   <li>Detection, on the observed wait ({@link #recordSojourn}): the queue is standing once every waiter handed a
 *   permit for {@value #STANDING_INTERVAL_MS} ms waited longer than the target. It stays standing until a permit is
 *   released with nobody waiting ({@link #queueRanEmpty}): only then has the pool more capacity than demand. A
 *   burst that drains quickly never gets there and is absorbed by the queue as before; so is a single pause of the
 *   event loop (GC, JIT, a busy core), which delays one round of hand-overs and not a whole interval of them.</li>
 *   <li>Shedding, on the predicted wait ({@link #withinDelayTarget}): while the queue is standing, a request that
 *   would queue is refused at once when its predicted wait, position × mean hold ÷ permits, exceeds the target. With
 *   100 permits freed per second and a 50 ms target, the line holds 5 requests.</li>
 * </ol>
 * Unlike CoDel, nobody is shed from the queue after waiting: a refusal after a wait comes late (our rejections are
 * meant to come in milliseconds, with a Retry-After) and wastes that wait. The refusal is made at arrival, on the
 * prediction, which is built from observed hold times too. Its limit: it learns a sudden rise of hold times only as
 * the slow holds complete, so requests admitted meanwhile wait longer than the target — bounded, as before, by
 * {@code maxWaitQueueSize}, their deadline and the acquire timeout.
 *
 * <p>Why goodput stays at capacity: the target refuses only requests that would <em>queue</em>, so only while every
 * permit is held; and it always lets the line hold at least {@link #placesWithinTarget()} ≥ 1 requests. While the
 * pool is overloaded, requests arrive faster than permits free, so the line refills faster than it drains and a
 * freed permit always finds a waiter. The first place is open whatever the prediction (even when one hold ÷ permits
 * alone exceeds the target), because a line with no room at all would leave each freed permit idle until the next
 * arrival. And the queue never runs empty because of the target: standing ends only when it ran empty on its own.
 *
 * <p>One policy per lane ({@link Lane}): a lane's predictions come from its own statements, so a slow class never
 * makes a fast one look slow. Threads: {@link #recordHold}, {@link #recordSojourn}, {@link #queueRanEmpty},
 * {@link #permits(int)} and {@link #queueDelayTarget(long)} are called under the admission's lock only.
 * The estimates may be read from any thread (metrics gauges, stats); the fields are volatile, and a reader that sees
 * the mean of one sample and the variance of the next gets an estimate that is off by one sample, which is harmless.
 */
final class AdmissionPolicy {

  /** Weight of the newest sample in the moving average of the time a request holds a connection. */
  static final double ALPHA = 0.1;
  /** Bounds of the Retry-After hint, in seconds. */
  static final long MIN_RETRY_AFTER_SECONDS = 1;
  static final long MAX_RETRY_AFTER_SECONDS = 60;
  /**
   * How long every hand-over must have seen a wait above the target before the queue counts as standing: CoDel's
   * interval. A burst that the pool works off within it is a good queue.
   */
  static final long STANDING_INTERVAL_MS = 100;
  private static final long STANDING_INTERVAL_NANOS = STANDING_INTERVAL_MS * 1_000_000;
  private static final long NEVER = Long.MIN_VALUE;

  /** The drain rate of the line: a lane's current limit, which moves with it ({@link #permits(int)}). */
  private volatile int permits;
  private final long acquireTimeoutNanos;
  private volatile double meanHoldNanos;
  private volatile double holdVariance;
  private volatile long samples;
  /** The queueing-delay target; 0 = none. */
  private volatile long queueDelayTargetNanos;
  /** When the waits seen at hand-over went above the target and stayed there; {@link #NEVER} when they did not. */
  private long aboveSinceNanos = NEVER;
  /** When a request was last refused for the target ({@link #recordShed}); {@link #NEVER} before. */
  private long lastShedNanos = NEVER;
  private volatile boolean standing;

  /**
   * @param permits             requests served at once (the pool's connections): the drain rate of the queue
   * @param acquireTimeoutNanos the longest a request waits in line; the Retry-After before any hold was measured
   */
  AdmissionPolicy(int permits, long acquireTimeoutNanos) {
    this(permits, acquireTimeoutNanos, 0);
  }

  /** As above, with a queueing-delay target ({@link #queueDelayTarget(long)}). */
  AdmissionPolicy(int permits, long acquireTimeoutNanos, long queueDelayTargetNanos) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be at least 1, was " + permits);
    }
    this.permits = permits;
    this.acquireTimeoutNanos = acquireTimeoutNanos;
    queueDelayTarget(queueDelayTargetNanos);
  }

  /** A lane's limit changed: its line drains at the new rate. */
  void permits(int permits) {
    this.permits = Math.max(1, permits);
  }

  /** Sets the queueing-delay target (live: applies to the next request); 0 disables it. */
  void queueDelayTarget(long nanos) {
    if (nanos < 0) {
      throw new IllegalArgumentException("queue delay target must be at least 0, was " + nanos);
    }
    if (nanos != queueDelayTargetNanos) {
      // Detection starts over against the new target.
      aboveSinceNanos = NEVER;
      standing = false;
    }
    queueDelayTargetNanos = nanos;
  }

  /**
   * Learns from one hand-over: a waiter got a permit at {@code nowNanos} (any fixed origin) after waiting
   * {@code sojournNanos}. The queue becomes standing once the waits stayed above the target for
   * {@value #STANDING_INTERVAL_MS} ms of hand-overs.
   */
  void recordSojourn(long sojournNanos, long nowNanos) {
    long target = queueDelayTargetNanos;
    if (target == 0 || standing) {
      return;
    }
    if (sojournNanos <= target) {
      aboveSinceNanos = NEVER;
    } else if (aboveSinceNanos == NEVER) {
      aboveSinceNanos = nowNanos;
    } else if (nowNanos - aboveSinceNanos >= STANDING_INTERVAL_NANOS) {
      standing = true;
    }
  }

  /** A permit was released with nobody waiting: demand is below capacity, the queue is not standing. */
  void queueRanEmpty() {
    aboveSinceNanos = NEVER;
    standing = false;
  }

  /**
   * A permit was released with nobody waiting, at {@code nowNanos}. If the target refused a request within the last
   * {@value #STANDING_INTERVAL_MS} ms, the queue is empty only because arrivals were shed, not because demand fell
   * below capacity: it stays standing. Without this, under a steady overload the short queue the target keeps runs
   * empty now and then, the target switches off, and the next {@value #STANDING_INTERVAL_MS} ms of arrivals fill the
   * whole queue (measured: successes p90 1.5 s at 3× overload, pool 70, holds 400–1000 ms).
   */
  void queueRanEmpty(long nowNanos) {
    if (standing && lastShedNanos != NEVER && nowNanos - lastShedNanos < STANDING_INTERVAL_NANOS) {
      return;
    }
    queueRanEmpty();
  }

  /** A request was refused at {@code nowNanos} because its predicted wait exceeded the target. */
  void recordShed(long nowNanos) {
    lastShedNanos = nowNanos;
  }

  /** Whether the queue is standing (see the class comment): the queueing-delay target applies. */
  boolean standing() {
    return standing;
  }

  long queueDelayTargetNanos() {
    return queueDelayTargetNanos;
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
   * Whether a request that would be {@code position}-th in line (1-based) keeps within the queueing-delay target:
   * the queue is not standing, or the request's predicted wait is at most the target, or it would be first in line
   * (see the class comment: the first place is what keeps a freed permit from idling). Always true with no target,
   * or before the first hold was measured.
   */
  boolean withinDelayTarget(int position) {
    return !standing || position <= placesWithinTarget();
  }

  /**
   * How many may wait in line within the queueing-delay target: the largest position whose predicted wait is at most
   * the target, and at least 1. {@link Integer#MAX_VALUE} with no target or no hold measured yet.
   */
  int placesWithinTarget() {
    long target = queueDelayTargetNanos;
    double mean = meanHoldNanos;
    if (target == 0 || samples == 0 || mean <= 0) {
      return Integer.MAX_VALUE;
    }
    // predictedWaitNanos(p) = p × mean ÷ permits <= target  ⇔  p <= target × permits ÷ mean.
    long places = (long) Math.min(Integer.MAX_VALUE - 1, Math.floor(target * (double) permits / mean));
    // The division may round either way; settle on predictedWaitNanos, which the tests and the docs state.
    while (places > 0 && predictedWaitNanos(places) > target) {
      places--;
    }
    while (places < Integer.MAX_VALUE - 1 && predictedWaitNanos(places + 1) <= target) {
      places++;
    }
    return (int) Math.max(1, places);
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
  long predictedWaitNanos(long position) {
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
