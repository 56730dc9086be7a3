package io.sluice.proxy.impl;

import io.sluice.config.JsonSection;
import io.sluice.proxy.config.LaneSettings;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admission mechanism on a clock the test moves: permits, FIFO hand-over, the queue bound, and waiters leaving
 * at their deadline. No Vert.x instance: futures complete on the calling thread, timers fire in
 * {@link FakeClock#advance}.
 */
class AdmissionTest {

  /** A clock and timers that move only in {@link #advance}; timers fire in due order, ties in the order set. */
  static final class FakeClock implements Clock {
    private record Timer(long id, long dueNanos, Runnable action) {
    }

    private final PriorityQueue<Timer> timers =
      new PriorityQueue<>(Comparator.comparingLong(Timer::dueNanos).thenComparingLong(Timer::id));
    private long now = 1_000_000_000L;
    private long nextId;

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public long setTimer(long delayMs, Runnable action) {
      long id = nextId++;
      timers.add(new Timer(id, now + TimeUnit.MILLISECONDS.toNanos(delayMs), action));
      return id;
    }

    @Override
    public java.util.concurrent.Executor callerExecutor() {
      return Runnable::run;
    }

    @Override
    public void cancelTimer(long id) {
      timers.removeIf(t -> t.id() == id);
    }

    void advance(long millis) {
      long until = now + TimeUnit.MILLISECONDS.toNanos(millis);
      while (!timers.isEmpty() && timers.peek().dueNanos() <= until) {
        Timer timer = timers.poll();
        now = timer.dueNanos();
        timer.action().run();
      }
      now = until;
    }

    int pendingTimers() {
      return timers.size();
    }
  }

  private final FakeClock clock = new FakeClock();
  private final ProxyCounters counters = new ProxyCounters();

  private Admission admission(int permits, int maxQueue, long acquireTimeoutMs) {
    return admission(permits, maxQueue, acquireTimeoutMs, 0);
  }

  private Admission admission(int permits, int maxQueue, long acquireTimeoutMs, long queueDelayTargetMs) {
    return new Admission(clock, permits, maxQueue, acquireTimeoutMs, queueDelayTargetMs, counters.rejections,
      ONE_LANE);
  }

  /** Lanes off: every request in one lane, the admission's FIFO mechanism alone (lanes: {@code LanesTest}). */
  static final LaneSettings ONE_LANE = LaneSettings.from(JsonSection.root(new JsonObject()
    .put("enabled", false)));

  private static Future<Void> acquire(Admission admission, long deadlineNanos) {
    return admission.acquire(admission.lane(Admission.ONE_LANE), deadlineNanos);
  }

  private static void release(Admission admission, long holdNanos) {
    admission.release(admission.lane(Admission.ONE_LANE), holdNanos, -1, false);
  }

  private static boolean queueStanding(Admission admission) {
    return admission.lane(Admission.ONE_LANE).policy.standing();
  }

  private long inMs(long millis) {
    return clock.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private static Rejection rejection(Future<Void> future) {
    assertTrue(future.failed(), "expected a refusal, was " + (future.succeeded() ? "granted" : "still waiting"));
    return assertInstanceOf(Rejected.class, future.cause()).reason;
  }

  @Test
  @DisplayName("permits are granted at once up to the limit; after that, released permits go to waiters in arrival"
    + " order")
  void handsOverInArrivalOrder() {
    Admission admission = admission(2, 10, 10_000);
    assertTrue(acquire(admission, inMs(5_000)).succeeded());
    assertTrue(acquire(admission, inMs(5_000)).succeeded());
    List<Future<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiters.add(acquire(admission, inMs(5_000)));
    }
    assertEquals(2, admission.held());
    assertEquals(3, admission.waiting());
    assertFalse(waiters.stream().anyMatch(Future::isComplete));

    release(admission, 0);
    assertTrue(waiters.get(0).succeeded());
    assertFalse(waiters.get(1).isComplete());
    // A newcomer does not overtake the ones in line, though a permit just changed hands.
    Future<Void> newcomer = acquire(admission, inMs(5_000));
    assertFalse(newcomer.isComplete());

    release(admission, 0);
    assertTrue(waiters.get(1).succeeded());
    assertFalse(waiters.get(2).isComplete());
    release(admission, 0);
    assertTrue(waiters.get(2).succeeded());
    release(admission, 0);
    assertTrue(newcomer.succeeded());
    assertEquals(0, admission.waiting());
    assertEquals(0, clock.pendingTimers(), "the timers of waiters that were served are cancelled");

    release(admission, 0);
    assertEquals(1, admission.held(), "with nobody waiting, a release frees a permit");
  }

  @Test
  @DisplayName("with the queue full, a request is refused at once (queue_full) and counted")
  void queueFullIsRefusedAtOnce() {
    Admission admission = admission(1, 2, 10_000);
    acquire(admission, inMs(5_000));
    Future<Void> first = acquire(admission, inMs(5_000));
    Future<Void> second = acquire(admission, inMs(5_000));
    Future<Void> third = acquire(admission, inMs(5_000));
    assertEquals(Rejection.QUEUE_FULL, rejection(third));
    assertEquals(1, admission.rejected(Rejection.QUEUE_FULL));
    assertEquals(2, admission.waiting());
    assertFalse(first.isComplete() || second.isComplete());
  }

  @Test
  @DisplayName("a waiter leaves the queue when its deadline passes (deadline_expired), and the next permit goes to a"
    + " live waiter")
  void waiterLeavesAtItsDeadline() {
    Admission admission = admission(1, 10, 10_000);
    acquire(admission, inMs(5_000));
    Future<Void> hasty = acquire(admission, inMs(100));
    Future<Void> patient = acquire(admission, inMs(500));

    clock.advance(99);
    assertFalse(hasty.isComplete());
    clock.advance(1);
    assertEquals(Rejection.DEADLINE_EXPIRED, rejection(hasty));
    assertEquals(1, admission.waiting());
    assertEquals(1, admission.rejected(Rejection.DEADLINE_EXPIRED));

    release(admission, TimeUnit.MILLISECONDS.toNanos(100));
    assertTrue(patient.succeeded());
    assertEquals(1, admission.held());
  }

  @Test
  @DisplayName("a waiter whose acquire timeout comes before its deadline fails with acquire_timeout")
  void acquireTimeoutBeforeDeadline() {
    Admission admission = admission(1, 10, 200);
    acquire(admission, inMs(5_000));
    Future<Void> waiter = acquire(admission, inMs(1_000));
    clock.advance(199);
    assertFalse(waiter.isComplete());
    clock.advance(1);
    assertEquals(Rejection.ACQUIRE_TIMEOUT, rejection(waiter));
    assertEquals(0, admission.rejected(Rejection.DEADLINE_EXPIRED));
  }

  @Test
  @DisplayName("a request whose deadline has already passed is not queued")
  void deadlinePassedIsNotQueued() {
    Admission admission = admission(1, 10, 10_000);
    acquire(admission, inMs(5_000));
    assertEquals(Rejection.DEADLINE_EXPIRED, rejection(acquire(admission, clock.nanoTime())));
    assertEquals(0, admission.waiting());
    assertEquals(0, clock.pendingTimers());
  }

  @Test
  @DisplayName("on release, a waiter too close to its deadline for a likely hold is refused (predicted_wait) and the"
    + " permit goes to the next one; the refused one's timer does not fire later")
  void handOverSkipsWaitersTooCloseToTheirDeadline() {
    Admission admission = admission(1, 10, 10_000);
    acquire(admission, inMs(5_000));
    Future<Void> close = acquire(admission, inMs(150));
    Future<Void> far = acquire(admission, inMs(2_000));

    clock.advance(100);
    release(admission, TimeUnit.MILLISECONDS.toNanos(100));
    assertEquals(Rejection.PREDICTED_WAIT, rejection(close), "50 ms left, a hold takes 100 ms");
    assertTrue(far.succeeded());

    clock.advance(5_000);
    assertEquals(1, admission.rejected(Rejection.PREDICTED_WAIT));
    assertEquals(0, admission.rejected(Rejection.DEADLINE_EXPIRED));
  }

  @Test
  @DisplayName("once hold times are known, a request that cannot wait its turn plus a hold is refused at once")
  void predictedWaitIsRefusedAtAcquire() {
    Admission admission = admission(1, 10, 10_000);
    acquire(admission, inMs(5_000));
    release(admission, TimeUnit.MILLISECONDS.toNanos(100));
    acquire(admission, inMs(5_000));

    // First in line: 100 ms wait for the holder, then its own 100 ms.
    assertEquals(Rejection.PREDICTED_WAIT, rejection(acquire(admission, inMs(199))));
    assertEquals(0, admission.waiting());
    Future<Void> fits = acquire(admission, inMs(200));
    assertFalse(fits.isComplete());
    assertEquals(1, admission.waiting());
  }

  @Test
  @DisplayName("Retry-After follows the line: longer with more waiters")
  void retryAfterFollowsTheQueue() {
    Admission admission = admission(1, 10, 10_000);
    acquire(admission, inMs(60_000));
    release(admission, TimeUnit.MILLISECONDS.toNanos(1_000));
    acquire(admission, inMs(60_000));
    assertEquals(1, admission.retryAfterSeconds());
    for (int i = 0; i < 4; i++) {
      acquire(admission, inMs(60_000));
    }
    assertEquals(5, admission.retryAfterSeconds(), "4 waiting + the caller, 1 s each on one permit");
  }

  /** Fills {@code permits} permits and teaches the policy a hold time of {@code holdMs}; all permits stay held. */
  private void saturate(Admission admission, int permits, long holdMs) {
    for (int i = 0; i < permits; i++) {
      assertTrue(acquire(admission, inMs(60_000)).succeeded());
    }
    release(admission, TimeUnit.MILLISECONDS.toNanos(holdMs));
    assertTrue(acquire(admission, inMs(60_000)).succeeded());
  }

  /**
   * With every permit held for {@code holdMs}: queues {@code waiters}, then hands two permits over to the head, one
   * after a wait of 60 ms and one an interval later, both above a 30 ms target. Returns the ones still in line.
   */
  private List<Future<Void>> waitAboveTargetForAnInterval(Admission admission, int waiters, long holdMs) {
    List<Future<Void>> inLine = new ArrayList<>();
    for (int i = 0; i < waiters; i++) {
      inLine.add(acquire(admission, inMs(60_000)));
    }
    assertFalse(inLine.stream().anyMatch(Future::isComplete), "a burst queues: the queue does not stand yet");
    clock.advance(60);
    release(admission, TimeUnit.MILLISECONDS.toNanos(holdMs));
    clock.advance(AdmissionPolicy.STANDING_INTERVAL_MS);
    release(admission, TimeUnit.MILLISECONDS.toNanos(holdMs));
    assertTrue(inLine.get(0).succeeded() && inLine.get(1).succeeded());
    return inLine.subList(2, inLine.size());
  }

  @Test
  @DisplayName("queueing-delay target: once the queue stands, a request whose predicted wait exceeds the target is"
    + " refused at once (queue_delay), though the queue has room and its deadline is far")
  void delayTargetRefusesAtOnce() {
    // 10 permits held 100 ms each: a permit frees every 10 ms, so a 30 ms target lets 3 wait.
    Admission admission = admission(10, 100, 10_000, 30);
    saturate(admission, 10, 100);
    List<Future<Void>> inLine = waitAboveTargetForAnInterval(admission, 5, 100);
    assertTrue(queueStanding(admission));
    assertEquals(3, admission.waiting());
    int timers = clock.pendingTimers();

    Future<Void> fourth = acquire(admission, inMs(60_000));
    assertEquals(Rejection.QUEUE_DELAY, rejection(fourth));
    assertEquals(3, admission.waiting());
    assertEquals(timers, clock.pendingTimers(), "a refused request sets no timer");
    assertEquals(1, admission.rejected(Rejection.QUEUE_DELAY));
    assertEquals(1, admission.retryAfterSeconds());
    assertFalse(Rejection.QUEUE_DELAY.ownDeadline(), "a later deadline would be refused the same");
    assertFalse(inLine.stream().anyMatch(Future::isComplete), "those in line keep their place");

    // A freed permit goes to the head; the place it leaves is open again, and only it.
    release(admission, TimeUnit.MILLISECONDS.toNanos(100));
    assertTrue(inLine.get(0).succeeded());
    assertFalse(acquire(admission, inMs(60_000)).isComplete());
    assertEquals(Rejection.QUEUE_DELAY, rejection(acquire(admission, inMs(60_000))));
  }

  @Test
  @DisplayName("queueing-delay target: a burst is absorbed by the queue, and once a permit finds nobody waiting the"
    + " queue no longer stands")
  void delayTargetLetsBurstsQueue() {
    Admission admission = admission(10, 100, 10_000, 30);
    saturate(admission, 10, 100);
    List<Future<Void>> inLine = waitAboveTargetForAnInterval(admission, 50, 100);
    assertTrue(queueStanding(admission));
    for (int i = 0; i < inLine.size(); i++) {
      release(admission, TimeUnit.MILLISECONDS.toNanos(100));
    }
    assertTrue(inLine.stream().allMatch(Future::succeeded), "the whole burst was served");
    assertEquals(0, admission.rejected(Rejection.QUEUE_DELAY));

    release(admission, TimeUnit.MILLISECONDS.toNanos(100));
    assertFalse(queueStanding(admission), "a permit found nobody waiting");
    assertTrue(acquire(admission, inMs(60_000)).succeeded());
    for (int i = 0; i < 50; i++) {
      assertFalse(acquire(admission, inMs(60_000)).isComplete());
    }
    assertEquals(50, admission.waiting());
  }

  @Test
  @DisplayName("queueing-delay target 0 disables it: the same waits never make the queue stand, and the line grows to"
    + " maxWaitQueueSize")
  void delayTargetZeroDisablesIt() {
    Admission admission = admission(10, 100, 10_000, 0);
    saturate(admission, 10, 100);
    waitAboveTargetForAnInterval(admission, 5, 100);
    assertFalse(queueStanding(admission));
    for (int i = 0; i < 97; i++) {
      assertFalse(acquire(admission, inMs(60_000)).isComplete());
    }
    assertEquals(100, admission.waiting());
    assertEquals(Rejection.QUEUE_FULL, rejection(acquire(admission, inMs(60_000))));
    assertEquals(0, admission.rejected(Rejection.QUEUE_DELAY));
  }

  @Test
  @DisplayName("queueing-delay target changes live: 0 lets newcomers queue at once; those in line keep their place")
  void delayTargetChangesLive() {
    Admission admission = admission(10, 100, 10_000, 30);
    saturate(admission, 10, 100);
    List<Future<Void>> inLine = waitAboveTargetForAnInterval(admission, 5, 100);
    assertEquals(Rejection.QUEUE_DELAY, rejection(acquire(admission, inMs(60_000))));

    admission.update(new io.sluice.proxy.config.PoolSettings(1, 100, 2_000, 0, 0, 0), ONE_LANE);
    for (int i = 0; i < 10; i++) {
      assertFalse(acquire(admission, inMs(60_000)).isComplete());
    }
    assertEquals(13, admission.waiting());
    assertFalse(inLine.stream().anyMatch(Future::isComplete));
  }

  /** What a simulated steady overload did. */
  private record Overload(long granted, long refused, long refusedWithAPermitFree, long refusedLate,
                          long otherRefusals, long idlePermitNanos, double meanWaitMs, double maxWaitMs,
                          long measuredNanos, boolean standing) {
  }

  /**
   * The incident on the fake clock: 70 permits, holds uniform in 400–1000 ms (a seeded random), one request every
   * 3 ms with a 2 s deadline (3.3 × the 100/s the pool serves), for 20 s. Refused requests are not sent again. Waits
   * and idle permit time are counted from {@code warmupMs} on, after the first holds taught the policy.
   */
  private Overload overload(long queueDelayTargetMs) {
    int permits = 70;
    long warmupMs = 3_000;
    long durationMs = 20_000;
    Admission admission = admission(permits, 100, 2_000, queueDelayTargetMs);
    Random random = new Random(11);
    long start = clock.nanoTime();
    long measuredFrom = start + TimeUnit.MILLISECONDS.toNanos(warmupMs);
    long[] granted = new long[1];
    long[] refused = new long[3];
    double[] waits = new double[2];
    long[] waitCount = new long[1];
    long[] idle = new long[2]; // idle permit-nanos since measuredFrom; time of the last change of held
    idle[1] = measuredFrom;
    Runnable accountIdle = () -> {
      long now = clock.nanoTime();
      if (now > measuredFrom) {
        idle[0] += (permits - admission.held()) * (now - Math.max(idle[1], measuredFrom));
        idle[1] = now;
      }
    };
    long[] otherRefusals = new long[1];
    Rejection[] others = {Rejection.QUEUE_FULL, Rejection.DEADLINE_EXPIRED,
      Rejection.ACQUIRE_TIMEOUT};
    clock.setTimer(warmupMs, () -> otherRefusals[0] = -admissionRejections(others));
    for (long t = 0; t < durationMs; t += 3) {
      clock.setTimer(t, () -> {
        long arrival = clock.nanoTime();
        accountIdle.run();
        Future<Void> permit = acquire(admission, arrival + TimeUnit.MILLISECONDS.toNanos(2_000));
        if (permit.failed()) {
          refused[0]++;
          if (admission.held() < permits) {
            refused[1]++;
          }
          return;
        }
        permit.onFailure(err -> refused[2]++);
        permit.onSuccess(v -> {
          long grantedAt = clock.nanoTime();
          if (grantedAt >= measuredFrom) {
            granted[0]++;
          }
          if (arrival >= measuredFrom) {
            double waitMs = (grantedAt - arrival) / 1e6;
            waits[0] += waitMs;
            waits[1] = Math.max(waits[1], waitMs);
            waitCount[0]++;
          }
          long holdMs = 400 + random.nextInt(601);
          clock.setTimer(holdMs, () -> {
            accountIdle.run();
            release(admission, TimeUnit.MILLISECONDS.toNanos(holdMs));
          });
        });
      });
    }
    clock.advance(durationMs);
    accountIdle.run();
    otherRefusals[0] += admissionRejections(others);
    return new Overload(granted[0], refused[0], refused[1], refused[2], otherRefusals[0], idle[0], waits[0] / waitCount[0], waits[1],
      clock.nanoTime() - measuredFrom, queueStanding(admission));
  }

  @Test
  @DisplayName("steady 3× overload with a 50 ms target: every permit stays busy, every refusal is immediate and made"
    + " with all permits held, and waits stay near the target instead of the second a full queue of 100 adds")
  void steadyOverloadKeepsEveryPermitBusy() {
    Overload target = overload(50);
    assertEquals(0, target.idlePermitNanos(), "no permit idle after the warm-up");
    assertEquals(0, target.refusedWithAPermitFree(), "no request refused while a permit was free");
    assertEquals(0, target.refusedLate(), "every refusal came at arrival, none after a wait");
    assertTrue(target.refused() > 0);
    assertEquals(0, target.otherRefusals(), "after the warm-up, refusals are queue_delay or predicted_wait only");
    assertTrue(target.standing(), "a steady overload is a standing queue");
    assertTrue(target.meanWaitMs() <= 50, "mean wait " + target.meanWaitMs() + " ms");
    // Capacity: 70 permits ÷ 0.7 s mean hold = 100 grants/s over the measured time.
    double capacity = 70 / 0.7 * target.measuredNanos() / 1e9;
    assertTrue(target.granted() >= 0.99 * capacity, target.granted() + " granted, capacity " + capacity);

    Overload off = overload(0);
    assertEquals(0, off.idlePermitNanos());
    assertTrue(off.meanWaitMs() > 10 * target.meanWaitMs(), "without a target: mean wait " + off.meanWaitMs()
      + " ms, with one " + target.meanWaitMs() + " ms");
    // Same goodput: the pool served as many with the short line as with the long one.
    assertEquals(off.granted(), target.granted(), off.granted() / 100.0);
  }

  private long admissionRejections(Rejection... reasons) {
    long sum = 0;
    for (Rejection reason : reasons) {
      sum += counters.rejections[reason.ordinal()].sum();
    }
    return sum;
  }

  @Test
  @DisplayName("background work takes a permit only when one is free, never queues, counts as held, and its release"
    + " hands the permit to the oldest waiter")
  void maintenancePermitIsCountedAndNeverQueued() {
    Admission admission = admission(2, 10, 5_000);
    assertTrue(admission.tryAcquireMaintenance());
    assertEquals(1, admission.held());
    assertTrue(acquire(admission, inMs(1_000)).succeeded());
    assertFalse(admission.tryAcquireMaintenance(), "no permit free: refused at once, not queued");
    Future<Void> waiting = acquire(admission, inMs(1_000));
    assertFalse(waiting.isComplete(), "the background work's permit is not free for a request");

    admission.releaseMaintenance();
    assertTrue(waiting.succeeded(), "the released permit goes to the waiter");
    assertEquals(2, admission.held());
    release(admission, 1_000_000);
    assertTrue(admission.tryAcquireMaintenance(), "a free permit and nobody in line");
    admission.releaseMaintenance();
    assertEquals(1, admission.held());
  }
}
