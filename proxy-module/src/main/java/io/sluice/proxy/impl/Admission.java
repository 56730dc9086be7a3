package io.sluice.proxy.impl;

import io.sluice.proxy.config.PoolSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's own admission in front of the pool: at most {@code permits} requests hold (or are getting) a
 * connection, and at most as many as its {@link QueuePlaces} allow wait, first come first served.
 *
 * <p>Why not the pool's own wait queue: in Vert.x 5.0.x a waiter whose acquire timed out can stay in the pool's
 * queue and keep a slot until a connection frees up, so a saturated pool fills with callers who already gave up.
 * Here a waiter leaves the queue the moment its deadline passes, a permit is handed only to a live waiter, and a
 * request that cannot be served in its remaining budget (predicted wait plus likely hold time) is refused at once
 * instead of queueing in vain. With a queueing-delay target ({@code db.pool.queueDelayTargetMs}), once the queue
 * stands (waits above the target for a while, the queue never running empty), a request whose predicted wait exceeds
 * the target is refused at once too, so the line stays as short as keeping every permit busy needs.
 *
 * <p>This class is the mechanism: permits, the bounded FIFO and the timers that take waiters out of it. Whether a
 * request is worth queueing or worth a connection handed over, and the Retry-After hint, are the
 * {@link AdmissionPolicy}'s to decide. Invariants: {@code held <= permits}; the queue holds at most the places it took
 * waiters, each of which leaves it exactly once (granted, refused on hand-over, or failed by its timer), and its
 * future is settled then; a released permit goes to the head of the queue, or back to the free ones only when the
 * queue is empty, so no one overtakes a waiter.
 *
 * <p>Confined to its proxy shard's event loop ({@link ProxyShard}): every method is called on that context (the
 * shard's consumer, its pool's callbacks and the timers all run there), so there is no locking. Each shard has its
 * own admission over its own slice of the node's connections. The exceptions are {@link #waiting()},
 * {@link #retryAfterSeconds()} and {@link #meanHoldMs()}, which metrics gauges read from other threads. Time comes
 * from the {@link Clock} handed in, never from {@link System#nanoTime()} directly, so the mechanism is tested with a
 * clock the test moves.
 */
final class Admission {

  /**
   * Why a request was refused a connection. The labels are stable: they appear in logs, metrics and stats. The
   * ordinals index the shared counters: add new reasons at the end.
   */
  enum Rejection {
    QUEUE_FULL("queue_full", false),
    PREDICTED_WAIT("predicted_wait", true),
    DEADLINE_EXPIRED("deadline_expired", true),
    ACQUIRE_TIMEOUT("acquire_timeout", false),
    /** Its predicted wait exceeds {@code db.pool.queueDelayTargetMs} (see {@link AdmissionPolicy}). */
    QUEUE_DELAY("queue_delay", false);

    final String label;
    private final boolean ownDeadline;

    Rejection(String label, boolean ownDeadline) {
      this.label = label;
      this.ownDeadline = ownDeadline;
    }

    /**
     * Whether the refusal came from the request's own remaining time rather than from the pool being full: the same
     * work with a later deadline may still be admitted.
     */
    boolean ownDeadline() {
      return ownDeadline;
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

  /**
   * The time admission runs on: the clock that request deadlines are read on, and timers that fire on it. In
   * production {@link System#nanoTime()} and the verticle's Vert.x timers ({@link #of(Vertx)}); tests hand in a clock
   * they move themselves.
   */
  interface Clock {
    /** Now, on the scale of the deadlines passed to {@link Admission#acquire(long)}. */
    long nanoTime();

    /** Runs {@code action} once, {@code delayMs} from now, on the admission's thread; returns an id to cancel it. */
    long setTimer(long delayMs, Runnable action);

    void cancelTimer(long id);

    /** {@link System#nanoTime()} and the timers of {@code vertx}, which fire on the calling verticle's context. */
    static Clock of(Vertx vertx) {
      return new Clock() {
        @Override
        public long nanoTime() {
          return System.nanoTime();
        }

        @Override
        public long setTimer(long delayMs, Runnable action) {
          return vertx.setTimer(delayMs, id -> action.run());
        }

        @Override
        public void cancelTimer(long id) {
          vertx.cancelTimer(id);
        }
      };
    }
  }

  private static final class Waiter {
    final Promise<Void> promise = Promise.promise();
    final long deadlineNanos;
    final long queuedAtNanos;
    long timerId;

    Waiter(long deadlineNanos, long queuedAtNanos) {
      this.deadlineNanos = deadlineNanos;
      this.queuedAtNanos = queuedAtNanos;
    }
  }

  private final Clock clock;
  private final AdmissionPolicy policy;
  private final int permits;
  /** The node's queue places, shared with its other shards (see {@link QueuePlaces}). */
  private final QueuePlaces places;
  private final long acquireTimeoutNanos;
  private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
  private final LongAdder[] rejections;
  private int held;
  /** Written on the event loop only; volatile because metrics gauges read it from other threads. */
  private volatile int waitingSnapshot;

  /**
   * @param policy     decides which requests are worth a connection; learns from the hold times given to
   *                   {@link #release(long)}
   * @param rejections counters by {@link Rejection} ordinal, shared with later admissions (pool swaps)
   */
  Admission(Clock clock, AdmissionPolicy policy, int permits, int maxQueue, long acquireTimeoutMs,
            LongAdder[] rejections) {
    this(clock, policy, permits, new QueuePlaces(maxQueue), acquireTimeoutMs, rejections);
  }

  /**
   * @param places the queue places it takes from: its own, or the node's, shared with the other shards
   */
  Admission(Clock clock, AdmissionPolicy policy, int permits, QueuePlaces places,
            long acquireTimeoutMs, LongAdder[] rejections) {
    this.clock = clock;
    this.policy = policy;
    this.permits = permits;
    this.places = places;
    this.acquireTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(acquireTimeoutMs);
    this.rejections = rejections;
  }

  /**
   * The production admission of a shard's pool: Vert.x timers, {@link System#nanoTime()}, a policy learning from
   * scratch; its own slice of connections ({@code pool.maxSize()}), queueing on the node's shared {@code places}.
   */
  static Admission forPool(Vertx vertx, PoolSettings pool, QueuePlaces places, LongAdder[] rejections) {
    return new Admission(Clock.of(vertx),
      new AdmissionPolicy(pool.maxSize(), TimeUnit.MILLISECONDS.toNanos(pool.acquireTimeoutMs()),
        TimeUnit.MILLISECONDS.toNanos(pool.queueDelayTargetMs())),
      pool.maxSize(), places, pool.acquireTimeoutMs(), rejections);
  }

  /**
   * Grants a permit now, or queues for one until {@code deadlineNanos} (or the acquire timeout, whichever is
   * first). Fails with {@link Rejected}. The caller must {@link #release(long)} a granted permit exactly once.
   */
  Future<Void> acquire(long deadlineNanos) {
    long now = clock.nanoTime();
    if (held < permits && queue.isEmpty()) {
      held++;
      return Future.succeededFuture();
    }
    if (places.full()) {
      return reject(Rejection.QUEUE_FULL);
    }
    if (!policy.withinDelayTarget(queue.size() + 1)) {
      policy.recordShed(now);
      return reject(Rejection.QUEUE_DELAY);
    }
    long remaining = deadlineNanos - now;
    if (remaining <= 0) {
      return reject(Rejection.DEADLINE_EXPIRED);
    }
    if (!policy.worthQueueing(queue.size() + 1, remaining)) {
      return reject(Rejection.PREDICTED_WAIT);
    }
    if (!places.tryTake()) {
      // Another shard took the last place since the check above.
      return reject(Rejection.QUEUE_FULL);
    }
    Waiter waiter = new Waiter(deadlineNanos, now);
    Rejection onTimer = remaining <= acquireTimeoutNanos ? Rejection.DEADLINE_EXPIRED : Rejection.ACQUIRE_TIMEOUT;
    long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(remaining, acquireTimeoutNanos)));
    waiter.timerId = clock.setTimer(waitMs, () -> {
      if (queue.remove(waiter)) {
        places.give();
        waitingSnapshot = queue.size();
        count(onTimer);
        waiter.promise.fail(new Rejected(onTimer));
      }
    });
    queue.addLast(waiter);
    waitingSnapshot = queue.size();
    return waiter.promise.future();
  }

  /**
   * Returns a permit; {@code heldNanos} is how long it was held, for the policy. The permit goes to the first
   * waiter the policy finds worth it; the waiters before that one are refused.
   */
  void release(long heldNanos) {
    policy.recordHold(heldNanos);
    long now = clock.nanoTime();
    Waiter next;
    while ((next = queue.pollFirst()) != null) {
      places.give();
      waitingSnapshot = queue.size();
      clock.cancelTimer(next.timerId);
      if (policy.worthHandingOver(next.deadlineNanos - now)) {
        policy.recordSojourn(now - next.queuedAtNanos, now);
        next.promise.complete();
        return;
      }
      count(Rejection.PREDICTED_WAIT);
      next.promise.fail(new Rejected(Rejection.PREDICTED_WAIT));
    }
    held--;
    policy.queueRanEmpty(now);
  }

  /**
   * Applies a new {@code db.pool.queueDelayTargetMs} (0 = none) to the requests that arrive from now on; those in
   * line keep their place. Needs no new pool.
   */
  void queueDelayTargetMs(long millis) {
    policy.queueDelayTarget(TimeUnit.MILLISECONDS.toNanos(millis));
  }

  /** When a request refused now should come back (see {@link AdmissionPolicy#retryAfterSeconds}). Any thread. */
  long retryAfterSeconds() {
    return policy.retryAfterSeconds(waitingSnapshot);
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

  /** Whether the queue stands and the queueing-delay target applies (see {@link AdmissionPolicy}). */
  boolean queueStanding() {
    return policy.standing();
  }

  long meanHoldMs() {
    return TimeUnit.NANOSECONDS.toMillis(policy.meanHoldNanos());
  }
}
