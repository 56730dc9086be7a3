package io.sluice.proxy.impl;

import io.vertx.core.Future;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
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
  static final class FakeClock implements Admission.Clock {
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
    return new Admission(clock, new AdmissionPolicy(permits, TimeUnit.MILLISECONDS.toNanos(acquireTimeoutMs)),
      permits, maxQueue, acquireTimeoutMs, counters.rejections);
  }

  private long inMs(long millis) {
    return clock.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private static Admission.Rejection rejection(Future<Void> future) {
    assertTrue(future.failed(), "expected a refusal, was " + (future.succeeded() ? "granted" : "still waiting"));
    return assertInstanceOf(Admission.Rejected.class, future.cause()).reason;
  }

  @Test
  @DisplayName("permits are granted at once up to the limit; after that, released permits go to waiters in arrival"
    + " order")
  void handsOverInArrivalOrder() {
    Admission admission = admission(2, 10, 10_000);
    assertTrue(admission.acquire(inMs(5_000)).succeeded());
    assertTrue(admission.acquire(inMs(5_000)).succeeded());
    List<Future<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiters.add(admission.acquire(inMs(5_000)));
    }
    assertEquals(2, admission.held());
    assertEquals(3, admission.waiting());
    assertFalse(waiters.stream().anyMatch(Future::isComplete));

    admission.release(0);
    assertTrue(waiters.get(0).succeeded());
    assertFalse(waiters.get(1).isComplete());
    // A newcomer does not overtake the ones in line, though a permit just changed hands.
    Future<Void> newcomer = admission.acquire(inMs(5_000));
    assertFalse(newcomer.isComplete());

    admission.release(0);
    assertTrue(waiters.get(1).succeeded());
    assertFalse(waiters.get(2).isComplete());
    admission.release(0);
    assertTrue(waiters.get(2).succeeded());
    admission.release(0);
    assertTrue(newcomer.succeeded());
    assertEquals(0, admission.waiting());
    assertEquals(0, clock.pendingTimers(), "the timers of waiters that were served are cancelled");

    admission.release(0);
    assertEquals(1, admission.held(), "with nobody waiting, a release frees a permit");
  }

  @Test
  @DisplayName("with the queue full, a request is refused at once (queue_full) and counted")
  void queueFullIsRefusedAtOnce() {
    Admission admission = admission(1, 2, 10_000);
    admission.acquire(inMs(5_000));
    Future<Void> first = admission.acquire(inMs(5_000));
    Future<Void> second = admission.acquire(inMs(5_000));
    Future<Void> third = admission.acquire(inMs(5_000));
    assertEquals(Admission.Rejection.QUEUE_FULL, rejection(third));
    assertEquals(1, admission.rejected(Admission.Rejection.QUEUE_FULL));
    assertEquals(2, admission.waiting());
    assertFalse(first.isComplete() || second.isComplete());
  }

  @Test
  @DisplayName("a waiter leaves the queue when its deadline passes (deadline_expired), and the next permit goes to a"
    + " live waiter")
  void waiterLeavesAtItsDeadline() {
    Admission admission = admission(1, 10, 10_000);
    admission.acquire(inMs(5_000));
    Future<Void> hasty = admission.acquire(inMs(100));
    Future<Void> patient = admission.acquire(inMs(500));

    clock.advance(99);
    assertFalse(hasty.isComplete());
    clock.advance(1);
    assertEquals(Admission.Rejection.DEADLINE_EXPIRED, rejection(hasty));
    assertEquals(1, admission.waiting());
    assertEquals(1, admission.rejected(Admission.Rejection.DEADLINE_EXPIRED));

    admission.release(TimeUnit.MILLISECONDS.toNanos(100));
    assertTrue(patient.succeeded());
    assertEquals(1, admission.held());
  }

  @Test
  @DisplayName("a waiter whose acquire timeout comes before its deadline fails with acquire_timeout")
  void acquireTimeoutBeforeDeadline() {
    Admission admission = admission(1, 10, 200);
    admission.acquire(inMs(5_000));
    Future<Void> waiter = admission.acquire(inMs(1_000));
    clock.advance(199);
    assertFalse(waiter.isComplete());
    clock.advance(1);
    assertEquals(Admission.Rejection.ACQUIRE_TIMEOUT, rejection(waiter));
    assertEquals(0, admission.rejected(Admission.Rejection.DEADLINE_EXPIRED));
  }

  @Test
  @DisplayName("a request whose deadline has already passed is not queued")
  void deadlinePassedIsNotQueued() {
    Admission admission = admission(1, 10, 10_000);
    admission.acquire(inMs(5_000));
    assertEquals(Admission.Rejection.DEADLINE_EXPIRED, rejection(admission.acquire(clock.nanoTime())));
    assertEquals(0, admission.waiting());
    assertEquals(0, clock.pendingTimers());
  }

  @Test
  @DisplayName("on release, a waiter too close to its deadline for a likely hold is refused (predicted_wait) and the"
    + " permit goes to the next one; the refused one's timer does not fire later")
  void handOverSkipsWaitersTooCloseToTheirDeadline() {
    Admission admission = admission(1, 10, 10_000);
    admission.acquire(inMs(5_000));
    Future<Void> close = admission.acquire(inMs(150));
    Future<Void> far = admission.acquire(inMs(2_000));

    clock.advance(100);
    admission.release(TimeUnit.MILLISECONDS.toNanos(100));
    assertEquals(Admission.Rejection.PREDICTED_WAIT, rejection(close), "50 ms left, a hold takes 100 ms");
    assertTrue(far.succeeded());

    clock.advance(5_000);
    assertEquals(1, admission.rejected(Admission.Rejection.PREDICTED_WAIT));
    assertEquals(0, admission.rejected(Admission.Rejection.DEADLINE_EXPIRED));
  }

  @Test
  @DisplayName("once hold times are known, a request that cannot wait its turn plus a hold is refused at once")
  void predictedWaitIsRefusedAtAcquire() {
    Admission admission = admission(1, 10, 10_000);
    admission.acquire(inMs(5_000));
    admission.release(TimeUnit.MILLISECONDS.toNanos(100));
    admission.acquire(inMs(5_000));

    // First in line: 100 ms wait for the holder, then its own 100 ms.
    assertEquals(Admission.Rejection.PREDICTED_WAIT, rejection(admission.acquire(inMs(199))));
    assertEquals(0, admission.waiting());
    Future<Void> fits = admission.acquire(inMs(200));
    assertFalse(fits.isComplete());
    assertEquals(1, admission.waiting());
  }

  @Test
  @DisplayName("Retry-After follows the line: longer with more waiters")
  void retryAfterFollowsTheQueue() {
    Admission admission = admission(1, 10, 10_000);
    admission.acquire(inMs(60_000));
    admission.release(TimeUnit.MILLISECONDS.toNanos(1_000));
    admission.acquire(inMs(60_000));
    assertEquals(1, admission.retryAfterSeconds());
    for (int i = 0; i < 4; i++) {
      admission.acquire(inMs(60_000));
    }
    assertEquals(5, admission.retryAfterSeconds(), "4 waiting + the caller, 1 s each on one permit");
  }
}
