package io.sluice.proxy.impl;

import io.sluice.proxy.config.LaneSettings;
import io.sluice.proxy.config.PoolSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy node's one admission in front of its one pool: at most {@code permits} requests hold (or are getting) a
 * connection, at most {@code maxWaitQueueSize} wait, and each statement class (a {@link Lane}) holds no more than its
 * adaptive limit while others wait. Every event loop of the node admits through it.
 *
 * <p>Why its own queue and not the pool's: in Vert.x 5.0.x a waiter whose acquire timed out can stay in the pool's
 * queue and keep a slot ("ghost waiters"). Here a waiter leaves the moment its deadline passes, and a permit is
 * handed only to a live waiter.
 *
 * <p>Invariants (all kept under this object's lock):
 * <ul>
 *   <li>{@code held <= permits}, and {@code held} is the sum of the lanes' {@code inFlight} and the permits of
 *   background work ({@code maintenance}, see {@link #tryAcquireMaintenance}).</li>
 *   <li>Every waiter leaves its lane's queue exactly once (granted, refused at hand-over, or failed by its timer),
 *   and its future is settled then; at most {@code maxWaitQueueSize} wait in the whole node.</li>
 *   <li>FIFO: a permit goes to the waiter that arrived first among the lanes under their limit; a newcomer is
 *   granted at once only when its own lane has nobody in line.</li>
 *   <li>A lane at its limit is granted more only when no waiter of a lane under its limit is in line, and only if
 *   it is healthy (work-conserving, see {@link Lane#mayBorrow}): a lane whose statements slow down never holds
 *   more than its limit.</li>
 *   <li>After every change that can make a waiter eligible (a release, a waiter leaving, a new cap) the queue is
 *   served again ({@link #dispatch}): a free permit never idles while an eligible waiter waits.</li>
 * </ul>
 *
 * <p>What is refused at once, before queueing: a spent deadline; a request whose lane's recent median execution
 * time exceeds its remaining time (it would only time out holding a connection) unless the lane has nothing in flight
 * (then it is the lane's probe); a full queue; and, per lane, the {@link AdmissionPolicy}'s queueing-delay target
 * and predicted wait.
 *
 * <p>Threads: any. The critical sections are short (a few comparisons over the lanes, at most one per action);
 * futures are completed outside the lock, each on the context its request came from. Time comes from the
 * {@link Clock} handed in, so the mechanism is tested with a clock the test moves.
 */
final class Admission {

  /** The lane of every request when lanes are off ({@code db.lanes.enabled: false}). */
  static final String ONE_LANE = "all";

  private final Clock clock;
  private final int permits;
  private final long acquireTimeoutNanos;
  private final LongAdder[] rejections;
  private final Map<String, Lane> lanes;
  private final Lane[] laneArray;
  private final boolean lanesOn;
  private int maxQueue;
  private int held;
  /** Permits held by background work (the idempotency purge), in no lane. */
  private int maintenance;
  private int waiting;
  private long nextSeq;
  private volatile int heldSnapshot;
  private volatile int waitingSnapshot;

  /**
   * @param rejections node-wide counters by {@link Rejection} ordinal, shared with later admissions (pool swaps)
   * @param lanes      the lanes' settings; {@code enabled: false} puts every request in {@link #ONE_LANE}
   */
  Admission(Clock clock, int permits, int maxQueue, long acquireTimeoutMs, long queueDelayTargetMs,
            LongAdder[] rejections, LaneSettings lanes) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be at least 1, was " + permits);
    }
    this.clock = clock;
    this.permits = permits;
    this.maxQueue = maxQueue;
    this.acquireTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(acquireTimeoutMs);
    this.rejections = rejections;
    this.lanesOn = lanes.enabled();
    Map<String, Lane> byName = new LinkedHashMap<>();
    List<String> names = lanesOn ? LaneSettings.ACTIONS : List.of(ONE_LANE);
    for (String name : names) {
      // Before any sample a lane may hold a quarter of the pool (at least 2): a class that turns out slow takes no
      // more than that (twice that while borrowing) before its first drops shrink it, and a busy healthy one grows
      // past it within a few samples.
      int initial = lanesOn ? Math.max(2, permits / 4) : permits;
      int cap = lanesOn ? lanes.cap(name, permits) : permits;
      AdmissionPolicy policy = new AdmissionPolicy(initial, acquireTimeoutNanos,
        TimeUnit.MILLISECONDS.toNanos(queueDelayTargetMs));
      byName.put(name, new Lane(name, new LaneLimit(permits, initial, cap, lanesOn), policy));
    }
    this.lanes = Collections.unmodifiableMap(byName);
    this.laneArray = byName.values().toArray(new Lane[0]);
  }

  /** The production admission of a node's pool of {@code pool.maxSize()} connections. */
  static Admission forPool(Vertx vertx, PoolSettings pool, LaneSettings lanes, LongAdder[] rejections) {
    return new Admission(Clock.of(vertx), pool.maxSize(), pool.maxWaitQueueSize(), pool.acquireTimeoutMs(),
      pool.queueDelayTargetMs(), rejections, lanes);
  }

  /** The lane of {@code action}: its own, or the one lane when lanes are off (or for an action without one). */
  Lane lane(String action) {
    Lane lane = lanesOn ? lanes.get(action) : null;
    // Actions without a lane of their own (none today) share the last one, the ping's.
    return lane != null ? lane : laneArray[laneArray.length - 1];
  }

  /**
   * Grants a permit in {@code lane} now, or queues for one until {@code deadlineNanos} (or the acquire timeout,
   * whichever is first). Fails with {@link Rejected}. The caller must {@link #release} a granted permit exactly once.
   */
  Future<Void> acquire(Lane lane, long deadlineNanos) {
    Lane.Waiter queued;
    synchronized (this) {
      long now = clock.nanoTime();
      long remaining = deadlineNanos - now;
      if (remaining <= 0) {
        return reject(lane, Rejection.DEADLINE_EXPIRED);
      }
      if (lanesOn && lane.inFlight > 0 && !lane.feasible(remaining)) {
        return reject(lane, Rejection.LANE_DEADLINE);
      }
      // With a permit free, no waiter of a lane under its limit is in line (dispatch would have served it): a lane
      // under its limit, or a healthy one borrowing, takes it at once unless its own line is ahead.
      if (held < permits && lane.queue.isEmpty() && (lane.underLimit() || lane.mayBorrow(now))) {
        grant(lane);
        return Future.succeededFuture();
      }
      int position = lane.queue.size() + 1;
      if (waiting >= maxQueue) {
        return reject(lane, Rejection.QUEUE_FULL);
      }
      if (!lane.policy.withinDelayTarget(position)) {
        lane.policy.recordShed(now);
        return reject(lane, Rejection.QUEUE_DELAY);
      }
      if (!lane.policy.worthQueueing(position, remaining)) {
        return reject(lane, Rejection.PREDICTED_WAIT);
      }
      queued = new Lane.Waiter(lane, clock.callerExecutor(), deadlineNanos, now, nextSeq++);
      Rejection onTimer = remaining <= acquireTimeoutNanos ? Rejection.DEADLINE_EXPIRED : Rejection.ACQUIRE_TIMEOUT;
      long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(remaining, acquireTimeoutNanos)));
      Lane.Waiter waiter = queued;
      waiter.timerId = clock.setTimer(waitMs, () -> leave(waiter, onTimer));
      lane.queue.addLast(waiter);
      waiting++;
      snapshot(lane);
    }
    return queued.promise.future();
  }

  /** A waiter's timer fired: it leaves the line (if still in it) refused, and the line is served again. */
  private void leave(Lane.Waiter waiter, Rejection reason) {
    List<Runnable> settle = new ArrayList<>();
    synchronized (this) {
      if (!waiter.lane.queue.remove(waiter)) {
        return;
      }
      waiting--;
      count(waiter.lane, reason);
      settle.add(() -> waiter.promise.fail(new Rejected(reason)));
      dispatch(clock.nanoTime(), settle);
      snapshot(waiter.lane);
    }
    settle.forEach(Runnable::run);
  }

  /**
   * Returns a permit of {@code lane}. {@code holdNanos}: how long the connection was held (for the lane's
   * predictions); {@code executionNanos}: how long its statements ran, or a negative value when none ran (no
   * sample); {@code dropped}: stopped at its deadline. The permit goes to the oldest eligible waiter.
   */
  void release(Lane lane, long holdNanos, long executionNanos, boolean dropped) {
    List<Runnable> settle = new ArrayList<>();
    synchronized (this) {
      held--;
      lane.inFlight--;
      lane.policy.recordHold(holdNanos);
      long now = clock.nanoTime();
      if (executionNanos >= 0) {
        lane.onSample(executionNanos, dropped, now);
      }
      dispatch(now, settle);
      if (lane.queue.isEmpty()) {
        lane.policy.queueRanEmpty(now);
      }
      snapshot(lane);
    }
    settle.forEach(Runnable::run);
  }

  /**
   * A permit for background work (the idempotency purge), only if one is free now and nobody is in line: such work
   * never queues and never takes a permit a request waits for; when it is refused, it runs at its next period. It
   * is counted like a request's ({@code held}), so a connection it pins is never handed to a request as free. In no
   * lane: its statements do not teach any lane's limit or feasibility. The caller must {@link #releaseMaintenance}
   * a granted permit exactly once.
   */
  boolean tryAcquireMaintenance() {
    synchronized (this) {
      if (held >= permits || waiting > 0) {
        return false;
      }
      held++;
      maintenance++;
      heldSnapshot = held;
      return true;
    }
  }

  /** Returns a permit of {@link #tryAcquireMaintenance}; it goes to the oldest eligible waiter. */
  void releaseMaintenance() {
    List<Runnable> settle = new ArrayList<>();
    synchronized (this) {
      if (maintenance <= 0) {
        throw new IllegalStateException("no maintenance permit is held");
      }
      held--;
      maintenance--;
      dispatch(clock.nanoTime(), settle);
      heldSnapshot = held;
      waitingSnapshot = waiting;
    }
    settle.forEach(Runnable::run);
  }

  /**
   * Serves the line while permits are free: each round hands a permit to the waiter that arrived first among the
   * lanes under their limit, or, when there is none, among the healthy lanes that may borrow. A waiter the policy no
   * longer finds worth a connection (too little time left) is refused and the next one considered. Futures are settled by the caller, after the lock.
   */
  private void dispatch(long now, List<Runnable> settle) {
    while (held < permits && waiting > 0) {
      Lane best = oldestHead(now, false);
      if (best == null) {
        best = oldestHead(now, true);
      }
      if (best == null) {
        return;
      }
      Lane.Waiter next = best.queue.pollFirst();
      waiting--;
      clock.cancelTimer(next.timerId);
      if (best.policy.worthHandingOver(next.deadlineNanos - now)) {
        best.policy.recordSojourn(now - next.queuedAtNanos, now);
        grant(best);
        settle.add(() -> next.executor.execute(next.promise::complete));
      } else {
        count(best, Rejection.PREDICTED_WAIT);
        Rejected refused = new Rejected(Rejection.PREDICTED_WAIT);
        settle.add(() -> next.executor.execute(() -> next.promise.fail(refused)));
      }
      snapshot(best);
    }
  }

  /**
   * The lane whose head arrived first among the lanes under their limit, or, with {@code borrowing}, among the
   * healthy lanes that may borrow; null when there is none.
   */
  private Lane oldestHead(long now, boolean borrowing) {
    Lane best = null;
    for (Lane lane : laneArray) {
      Lane.Waiter head = lane.queue.peekFirst();
      if (head != null && (best == null || head.seq < best.queue.peekFirst().seq)
          && (borrowing ? lane.mayBorrow(now) : lane.underLimit())) {
        best = lane;
      }
    }
    return best;
  }

  private void grant(Lane lane) {
    held++;
    lane.inFlight++;
    snapshot(lane);
  }

  private void snapshot(Lane lane) {
    lane.snapshot();
    heldSnapshot = held;
    waitingSnapshot = waiting;
  }

  /**
   * Applies the live settings that need no new pool: the queueing-delay target, the wait-queue bound and the lanes'
   * caps. Those in line keep their place; the line is served again under the new caps.
   */
  void update(PoolSettings pool, LaneSettings next) {
    List<Runnable> settle = new ArrayList<>();
    synchronized (this) {
      maxQueue = pool.maxWaitQueueSize();
      for (Lane lane : laneArray) {
        lane.policy.queueDelayTarget(TimeUnit.MILLISECONDS.toNanos(pool.queueDelayTargetMs()));
        lane.limit.cap(lanesOn ? next.cap(lane.name, permits) : permits);
        lane.snapshot();
      }
      dispatch(clock.nanoTime(), settle);
    }
    settle.forEach(Runnable::run);
  }

  /**
   * When a request of {@code lane} refused now should come back: when its lane's line will have drained at the rate
   * it holds connections (at least 1 s). Also for a lane too slow for the request's deadline: in a second the lane's
   * probe will have found out whether it recovered, and a writer told to wait longer would only come back late.
   * Any thread.
   */
  long retryAfterSeconds(Lane lane) {
    return lane.policy.retryAfterSeconds(lane.waitingNow());
  }

  /** The longest Retry-After of any lane (at least 1). Any thread. */
  long retryAfterSeconds() {
    long max = AdmissionPolicy.MIN_RETRY_AFTER_SECONDS;
    for (Lane lane : laneArray) {
      max = Math.max(max, lane.policy.retryAfterSeconds(lane.waitingNow()));
    }
    return max;
  }

  private Future<Void> reject(Lane lane, Rejection reason) {
    count(lane, reason);
    return Future.failedFuture(new Rejected(reason));
  }

  private void count(Lane lane, Rejection reason) {
    rejections[reason.ordinal()].increment();
    lane.rejections[reason.ordinal()].increment();
  }

  long rejected(Rejection reason) {
    return rejections[reason.ordinal()].sum();
  }

  /** Permits held now. Any thread (a snapshot). */
  int held() {
    return heldSnapshot;
  }

  /** Requests in line now, all lanes. Any thread (a snapshot). */
  int waiting() {
    return waitingSnapshot;
  }

  int permits() {
    return permits;
  }

  Collection<Lane> lanes() {
    return lanes.values();
  }

  /** The longest mean hold of any lane, for stats. */
  long meanHoldMs() {
    long max = 0;
    for (Lane lane : laneArray) {
      max = Math.max(max, lane.policy.meanHoldNanos());
    }
    return TimeUnit.NANOSECONDS.toMillis(max);
  }
}
