package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's own admission in front of the pool: at most {@code permits} requests hold (or are getting) a
 * connection, and at most {@code maxQueue} wait, first come first served.
 *
 * <p>Why not the pool's own wait queue: in Vert.x 5.0.x a waiter whose acquire timed out can stay in the pool's
 * queue and keep a slot until a connection frees up, so a saturated pool fills with callers who already gave up.
 * Here a waiter leaves the queue the moment its deadline passes, a permit is handed only to a live waiter, and a
 * request that cannot be served in its remaining budget (predicted wait plus mean hold time) is refused at once
 * instead of queueing in vain.
 *
 * <p>Confined to the proxy verticle's event loop: every method is called on that context (the consumer, the pool's
 * callbacks and the timers all run there), so there is no locking.
 */
final class Admission {

  /** Why a request was refused a connection. The labels are stable: they appear in logs and metrics. */
  enum Rejection {
    QUEUE_FULL("queue_full"),
    PREDICTED_WAIT("predicted_wait"),
    DEADLINE_EXPIRED("deadline_expired"),
    ACQUIRE_TIMEOUT("acquire_timeout");

    final String label;

    Rejection(String label) {
      this.label = label;
    }
  }

  /** A failed admission. */
  static final class Rejected extends RuntimeException {
    final Rejection reason;

    Rejected(Rejection reason) {
      super(reason.label, null, false, false);
      this.reason = reason;
    }
  }

  private static final class Waiter {
    final Promise<Void> promise = Promise.promise();
    final long deadlineNanos;
    long timerId;

    Waiter(long deadlineNanos) {
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** Weight of the newest sample in the moving average of the time a request holds a connection. */
  private static final double ALPHA = 0.1;

  private final Vertx vertx;
  private final int permits;
  private final int maxQueue;
  private final long acquireTimeoutNanos;
  private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
  private final LongAdder[] rejections;
  private int held;
  /** Written on the event loop only; volatile because metrics gauges read them from other threads. */
  private volatile double meanHoldNanos;
  private volatile double holdVariance;
  private volatile long samples;
  private volatile int waitingSnapshot;

  /** @param rejections counters by {@link Rejection} ordinal, shared with later admissions (pool swaps) */
  Admission(Vertx vertx, int permits, int maxQueue, long acquireTimeoutMs, LongAdder[] rejections) {
    this.vertx = vertx;
    this.permits = permits;
    this.maxQueue = maxQueue;
    this.acquireTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(acquireTimeoutMs);
    this.rejections = rejections;
  }

  /**
   * Grants a permit now, or queues for one until {@code deadlineNanos} (or the acquire timeout, whichever is
   * first). Fails with {@link Rejected}. The caller must {@link #release(long)} a granted permit exactly once.
   */
  Future<Void> acquire(long deadlineNanos) {
    long now = System.nanoTime();
    if (held < permits && queue.isEmpty()) {
      held++;
      return Future.succeededFuture();
    }
    if (queue.size() >= maxQueue) {
      return reject(Rejection.QUEUE_FULL);
    }
    long remaining = deadlineNanos - now;
    if (remaining <= 0) {
      return reject(Rejection.DEADLINE_EXPIRED);
    }
    // Refuse now what cannot finish in time: its wait in line plus its own time on a connection. Admitting it
    // would only spend a connection on a statement that gets killed at the deadline.
    if (samples > 0 && predictedWaitNanos(queue.size() + 1) + likelyHoldNanos() > remaining) {
      return reject(Rejection.PREDICTED_WAIT);
    }
    Waiter waiter = new Waiter(deadlineNanos);
    boolean deadlineFirst = remaining <= acquireTimeoutNanos;
    long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(remaining, acquireTimeoutNanos)));
    waiter.timerId = vertx.setTimer(waitMs, id -> {
      if (queue.remove(waiter)) {
        waitingSnapshot = queue.size();
        count(deadlineFirst ? Rejection.DEADLINE_EXPIRED : Rejection.ACQUIRE_TIMEOUT);
        waiter.promise.fail(new Rejected(deadlineFirst ? Rejection.DEADLINE_EXPIRED : Rejection.ACQUIRE_TIMEOUT));
      }
    });
    queue.addLast(waiter);
    waitingSnapshot = queue.size();
    return waiter.promise.future();
  }

  /** Returns a permit; {@code heldNanos} is how long it was held, for the wait prediction. */
  void release(long heldNanos) {
    if (samples == 0) {
      meanHoldNanos = heldNanos;
    } else {
      // Exponentially weighted mean and variance (West's update): recent behaviour counts most.
      double delta = heldNanos - meanHoldNanos;
      meanHoldNanos += ALPHA * delta;
      holdVariance = (1 - ALPHA) * (holdVariance + ALPHA * delta * delta);
    }
    samples++;
    long now = System.nanoTime();
    Waiter next;
    while ((next = queue.pollFirst()) != null) {
      waitingSnapshot = queue.size();
      vertx.cancelTimer(next.timerId);
      // A waiter whose remaining time is shorter than a typical hold would spend the connection on a statement
      // that gets killed at its deadline: refuse it now and give the connection to one that can finish.
      if (next.deadlineNanos - now >= likelyHoldNanos()) {
        next.promise.complete();
        return;
      }
      count(Rejection.PREDICTED_WAIT);
      next.promise.fail(new Rejected(Rejection.PREDICTED_WAIT));
    }
    held--;
  }

  /**
   * How long a request will likely hold its connection: mean plus one standard deviation. Admitting on the mean
   * alone lets half of the slower requests run into their deadline, and a statement killed at its deadline has
   * spent a connection for nothing.
   */
  private long likelyHoldNanos() {
    return (long) (meanHoldNanos + Math.sqrt(holdVariance));
  }

  /** Expected wait of the {@code position}-th request in line (1-based): position × mean hold time ÷ permits. */
  private long predictedWaitNanos(int position) {
    return (long) (position * meanHoldNanos / permits);
  }

  /**
   * When a request refused now should come back: the time the current queue takes to drain at the observed rate,
   * rounded up to whole seconds, from 1 to 60.
   */
  long retryAfterSeconds() {
    long nanos = samples == 0 ? acquireTimeoutNanos : predictedWaitNanos(waitingSnapshot + 1);
    long seconds = (nanos + 999_999_999L) / 1_000_000_000L;
    return Math.max(1, Math.min(60, seconds));
  }

  private Future<Void> reject(Rejection reason) {
    count(reason);
    return Future.failedFuture(new Rejected(reason));
  }

  private void count(Rejection reason) {
    rejections[reason.ordinal()].increment();
  }

  long rejected(Rejection reason) {
    return rejections[reason.ordinal()].sum();
  }

  int held() {
    return held;
  }

  /** Safe from any thread (metrics); on the event loop it equals the queue length. */
  int waiting() {
    return waitingSnapshot;
  }

  long meanHoldMs() {
    return TimeUnit.NANOSECONDS.toMillis((long) meanHoldNanos);
  }
}
