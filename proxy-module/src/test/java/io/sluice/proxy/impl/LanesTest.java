package io.sluice.proxy.impl;

import io.sluice.config.JsonSection;
import io.sluice.contract.Action;
import io.sluice.proxy.config.LaneSettings;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lanes of the node's admission on a clock the test moves: limits per statement class, work conservation,
 * FIFO across lanes, the probe, and deadline feasibility per lane. Synthetic execution times; no Vert.x, no server
 * (the same behaviour against a real row lock: {@code io.sluice.proxy.LanesRowLockTest}).
 */
class LanesTest {

  private static final String FAST = Action.GET_USER;
  private static final String SLOW = Action.PUT_SETTINGS;
  private static final long FAST_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
  private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final AdmissionTest.FakeClock clock = new AdmissionTest.FakeClock();
  private final ProxyCounters counters = new ProxyCounters();

  private Admission admission(int permits, JsonObject lanes) {
    return new Admission(clock, permits, 100, 2_000, 0, counters.rejections,
      LaneSettings.from(JsonSection.root(lanes)));
  }

  private long inMs(long millis) {
    return clock.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private static Rejection rejection(Future<Void> future) {
    assertTrue(future.failed(), "expected a refusal, was " + (future.succeeded() ? "granted" : "still waiting"));
    return assertInstanceOf(Rejected.class, future.cause()).reason;
  }

  /** Runs {@code n} statements of {@code lane} one after the other, each taking {@code nanos}. */
  private static void samples(Admission admission, Lane lane, int n, long nanos, boolean dropped) {
    for (int i = 0; i < n; i++) {
      assertTrue(admission.acquire(lane, Long.MAX_VALUE / 2).succeeded());
      admission.release(lane, nanos, nanos, dropped);
    }
  }

  @Test
  @DisplayName("a healthy lane takes every free connection, beyond its limit (work-conserving)")
  void aHealthyLaneTakesThePool() {
    Admission admission = admission(20, new JsonObject());
    Lane fast = admission.lane(FAST);
    assertTrue(fast.limit.limit() < 20, "the initial limit is a part of the pool");
    samples(admission, fast, Lane.WINDOW, FAST_NANOS, false);
    for (int i = 0; i < 20; i++) {
      assertTrue(admission.acquire(fast, inMs(2_000)).succeeded(), "permit " + i);
    }
    assertEquals(20, admission.held());
  }

  @Test
  @DisplayName("statements stopped at their deadline shrink their lane to the probe; other lanes keep the pool")
  void dropsShrinkTheLaneToItsProbe() {
    Admission admission = admission(20, new JsonObject());
    Lane slow = admission.lane(SLOW);
    Lane fast = admission.lane(FAST);
    samples(admission, fast, 50, FAST_NANOS, false);
    samples(admission, slow, 8, DEADLINE_NANOS, true);
    assertEquals(1, slow.limit.limit(), "one statement in flight: the probe");

    assertTrue(admission.acquire(slow, inMs(60_000)).succeeded(), "the probe");
    Future<Void> second = admission.acquire(slow, inMs(60_000));
    assertFalse(second.isComplete(), "19 connections are free, but a lane that drops does not borrow");
    List<Future<Void>> fastOnes = new ArrayList<>();
    for (int i = 0; i < 19; i++) {
      fastOnes.add(admission.acquire(fast, inMs(2_000)));
    }
    assertTrue(fastOnes.stream().allMatch(Future::succeeded), "the fast lane gets every other connection");
    assertEquals(1, slow.inFlight);
  }

  @Test
  @DisplayName("a lane at its limit waits while the pool is full; a freed connection goes to the oldest waiter of a"
    + " lane under its limit")
  void noBorrowingWhileOthersWait() {
    Admission admission = admission(4, new JsonObject());
    Lane slow = admission.lane(SLOW);
    Lane fast = admission.lane(FAST);
    samples(admission, slow, 8, DEADLINE_NANOS, true);
    samples(admission, fast, Lane.WINDOW, FAST_NANOS, false);
    assertEquals(1, slow.limit.limit());
    // The fast lane fills the pool; then one slow request and one fast request wait.
    for (int i = 0; i < 4; i++) {
      assertTrue(admission.acquire(fast, inMs(10_000)).succeeded());
    }
    Future<Void> slowWaiter = admission.acquire(slow, inMs(60_000));
    Future<Void> fastWaiter = admission.acquire(fast, inMs(10_000));
    admission.release(fast, FAST_NANOS, FAST_NANOS, false);
    assertTrue(slowWaiter.succeeded(), "first in line, and its lane is under its limit (the probe)");
    assertFalse(fastWaiter.isComplete());
    Future<Void> slowAgain = admission.acquire(slow, inMs(60_000));
    admission.release(fast, FAST_NANOS, FAST_NANOS, false);
    assertTrue(fastWaiter.succeeded(), "the slow lane is at its limit: the fast one is served");
    assertFalse(slowAgain.isComplete(), "queued behind its limit");
    admission.release(slow, DEADLINE_NANOS, DEADLINE_NANOS, true);
    assertTrue(slowAgain.succeeded(), "its own probe's permit");
  }

  @Test
  @DisplayName("a request whose lane's p90 exceeds its remaining time is refused at once (lane_deadline), unless"
    + " the lane has nothing in flight: then it is the probe")
  void deadlineFeasibilityPerLane() {
    Admission admission = admission(20, new JsonObject());
    Lane slow = admission.lane(SLOW);
    samples(admission, slow, Lane.WINDOW, DEADLINE_NANOS, true);
    assertTrue(admission.acquire(slow, inMs(2_000)).succeeded(), "nothing in flight: the probe runs");
    assertEquals(Rejection.LANE_DEADLINE, rejection(admission.acquire(slow, inMs(1_500))));
    assertEquals(1, slow.rejections[Rejection.LANE_DEADLINE.ordinal()].sum());
    assertTrue(admission.retryAfterSeconds(slow) >= 1, "a Retry-After comes with it");
    Lane fast = admission.lane(FAST);
    assertTrue(admission.acquire(fast, inMs(1_500)).succeeded(), "other lanes are not affected");
  }

  @Test
  @DisplayName("a lane recovers: after fast statements its limit grows back and requests are feasible again")
  void laneRecovers() {
    Admission admission = admission(20, new JsonObject());
    Lane slow = admission.lane(SLOW);
    samples(admission, slow, Lane.WINDOW, DEADLINE_NANOS, true);
    assertEquals(1, slow.limit.limit());
    samples(admission, slow, Lane.WINDOW, FAST_NANOS, false);
    assertTrue(slow.feasible(TimeUnit.MILLISECONDS.toNanos(100)));
    assertTrue(slow.limit.limit() >= 5, "grown back: " + slow.limit.limit());
  }

  @Test
  @DisplayName("permits go to waiters in arrival order across lanes when every lane may take one")
  void fifoAcrossLanes() {
    Admission admission = admission(2, new JsonObject());
    Lane a = admission.lane(Action.GET_USER);
    Lane b = admission.lane(Action.GET_SETTINGS);
    assertTrue(admission.acquire(a, inMs(10_000)).succeeded());
    assertTrue(admission.acquire(a, inMs(10_000)).succeeded());
    Future<Void> first = admission.acquire(b, inMs(10_000));
    Future<Void> second = admission.acquire(a, inMs(10_000));
    Future<Void> third = admission.acquire(b, inMs(10_000));
    admission.release(a, FAST_NANOS, FAST_NANOS, false);
    assertTrue(first.succeeded());
    assertFalse(second.isComplete() || third.isComplete());
    admission.release(a, FAST_NANOS, FAST_NANOS, false);
    assertTrue(second.succeeded());
    assertFalse(third.isComplete());
  }

  @Test
  @DisplayName("ops can pin a lane to a part of the pool (maxPercent), live")
  void maxPercentCapsALane() {
    JsonObject lanes = new JsonObject().put(LaneSettings.key(SLOW), new JsonObject().put("maxPercent", 10));
    Admission admission = admission(20, lanes);
    Lane slow = admission.lane(SLOW);
    assertEquals(2, slow.limit.limit());
    admission.update(new io.sluice.proxy.config.PoolSettings(20, 100, 2_000, 0, 0, 0),
      LaneSettings.from(JsonSection.root(new JsonObject())));
    assertTrue(slow.limit.limit() > 2, "unpinned: " + slow.limit.limit());
  }

  @Test
  @DisplayName("lanes off: every action shares one lane, as before lanes existed")
  void lanesOff() {
    Admission admission = admission(2, new JsonObject().put("enabled", false));
    assertEquals(admission.lane(FAST), admission.lane(SLOW));
    assertEquals(Admission.ONE_LANE, admission.lane(FAST).name);
  }
}
