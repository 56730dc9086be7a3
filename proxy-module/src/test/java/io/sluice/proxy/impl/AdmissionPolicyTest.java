package io.sluice.proxy.impl;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admission policy on synthetic hold times: no server, no Vert.x, no clock. */
class AdmissionPolicyTest {

  private static final long NO_TIMEOUT = TimeUnit.SECONDS.toNanos(30);

  private static long ms(double millis) {
    return (long) (millis * 1_000_000);
  }

  private static AdmissionPolicy learnt(int permits, long... holdsNanos) {
    AdmissionPolicy policy = new AdmissionPolicy(permits, NO_TIMEOUT);
    for (long hold : holdsNanos) {
      policy.recordHold(hold);
    }
    return policy;
  }

  @Test
  @DisplayName("the first hold time is the mean, with no spread")
  void firstSampleIsTheMean() {
    AdmissionPolicy policy = learnt(1, ms(40));
    assertEquals(ms(40), policy.meanHoldNanos());
    assertEquals(ms(40), policy.likelyHoldNanos());
    assertEquals(1, policy.samples());
  }

  @Test
  @DisplayName("each new hold time moves the mean a tenth of the way, and the spread it shows is added to the likely"
    + " hold")
  void meanMovesATenthOfTheWay() {
    AdmissionPolicy policy = learnt(1, ms(10), ms(20));
    // mean 10 + 0.1 × 10 = 11 ms; variance 0.9 × (0.1 × 10²) = 9 ms², so one standard deviation is 3 ms.
    assertEquals(ms(11), policy.meanHoldNanos(), 1);
    assertEquals(ms(14), policy.likelyHoldNanos(), 1);
  }

  @Test
  @DisplayName("after a shift, steady hold times pull the mean to the new level and the spread back to nothing")
  void steadyHoldTimesConverge() {
    AdmissionPolicy policy = learnt(1, ms(10));
    for (int i = 0; i < 300; i++) {
      policy.recordHold(ms(50));
    }
    assertEquals(ms(50), policy.meanHoldNanos(), ms(0.001));
    assertEquals(ms(50), policy.likelyHoldNanos(), ms(0.001));
  }

  @Test
  @DisplayName("hold times alternating 10 ms and 30 ms: mean near 20 ms, likely hold about one spread (10 ms) above")
  void spreadRaisesTheLikelyHold() {
    AdmissionPolicy policy = learnt(1);
    for (int i = 0; i < 300; i++) {
      policy.recordHold(i % 2 == 0 ? ms(10) : ms(30));
    }
    assertEquals(ms(20), policy.meanHoldNanos(), ms(1));
    long spread = policy.likelyHoldNanos() - policy.meanHoldNanos();
    assertTrue(spread > ms(9) && spread < ms(11), "spread " + spread + " ns");
  }

  @Test
  @DisplayName("the predicted wait of the n-th in line is n × mean hold ÷ permits")
  void predictedWaitIsPositionTimesMeanOverPermits() {
    AdmissionPolicy policy = learnt(4, ms(40));
    assertEquals(ms(10), policy.predictedWaitNanos(1));
    assertEquals(ms(80), policy.predictedWaitNanos(8));
  }

  @Test
  @DisplayName("before any hold time was measured, every request is worth queueing")
  void nothingLearntNothingRefused() {
    AdmissionPolicy policy = learnt(1);
    assertTrue(policy.worthQueueing(1_000, 1));
  }

  @Test
  @DisplayName("a request is refused when its wait in line plus a likely hold does not fit its remaining time")
  void refusesWhatCannotFinishInTime() {
    AdmissionPolicy policy = learnt(2, ms(100));
    // First in line: waits 100 / 2 = 50 ms, then holds 100 ms.
    assertTrue(policy.worthQueueing(1, ms(150)));
    assertFalse(policy.worthQueueing(1, ms(150) - 1));
    // Third in line: waits 150 ms, then holds 100 ms.
    assertTrue(policy.worthQueueing(3, ms(250)));
    assertFalse(policy.worthQueueing(3, ms(249)));
  }

  @Test
  @DisplayName("the spread counts too: a request that fits the mean but not mean + spread is refused")
  void spreadCountsWhenQueueing() {
    AdmissionPolicy policy = learnt(1, ms(10), ms(20));
    // Wait 11 ms (mean), hold 14 ms (mean + spread): 25 ms; the mean alone would say 22 ms.
    assertFalse(policy.worthQueueing(1, ms(24)));
    assertTrue(policy.worthQueueing(1, ms(25) + 1));
  }

  @Test
  @DisplayName("on hand-over, a waiter gets the connection only if a likely hold still fits before its deadline")
  void handOverNeedsALikelyHoldLeft() {
    AdmissionPolicy steady = learnt(1, ms(100));
    assertTrue(steady.worthHandingOver(ms(100)));
    assertFalse(steady.worthHandingOver(ms(100) - 1));
    assertFalse(steady.worthHandingOver(-1));

    AdmissionPolicy spread = learnt(1, ms(10), ms(20));
    assertFalse(spread.worthHandingOver(ms(12)), "above the 11 ms mean, below the 14 ms likely hold");
    assertTrue(spread.worthHandingOver(ms(15)));
  }

  @Test
  @DisplayName("Retry-After before any hold time: the acquire timeout, rounded up to whole seconds")
  void retryAfterWithoutSamplesIsTheAcquireTimeout() {
    assertEquals(3, new AdmissionPolicy(4, ms(2_500)).retryAfterSeconds(100));
    assertEquals(1, new AdmissionPolicy(4, ms(1)).retryAfterSeconds(0));
  }

  @Test
  @DisplayName("Retry-After: the time the line (plus the caller) takes to drain, rounded up, within 1..60 s")
  void retryAfterIsTheDrainTime() {
    AdmissionPolicy policy = learnt(2, ms(1_000));
    assertEquals(3, policy.retryAfterSeconds(5), "6 × 1 s ÷ 2 permits");
    assertEquals(1, policy.retryAfterSeconds(0), "0.5 s rounds up to 1");
    assertEquals(60, policy.retryAfterSeconds(10_000), "capped");

    AdmissionPolicy slow = learnt(1, ms(1_200));
    assertEquals(3, slow.retryAfterSeconds(1), "2.4 s rounds up to 3");
  }

  private static AdmissionPolicy withTarget(int permits, double targetMs, long... holdsNanos) {
    AdmissionPolicy policy = new AdmissionPolicy(permits, NO_TIMEOUT, ms(targetMs));
    for (long hold : holdsNanos) {
      policy.recordHold(hold);
    }
    return policy;
  }

  /** Hand-overs that waited above the target for a whole interval: the queue stands. */
  private static AdmissionPolicy standing(AdmissionPolicy policy) {
    long above = policy.queueDelayTargetNanos() + 1;
    policy.recordSojourn(above, ms(1_000));
    policy.recordSojourn(above, ms(1_000 + AdmissionPolicy.STANDING_INTERVAL_MS));
    assertTrue(policy.standing());
    return policy;
  }

  @Test
  @DisplayName("queueing-delay target: the queue stands once every hand-over for an interval waited above the target")
  void standingAfterAnIntervalAboveTheTarget() {
    AdmissionPolicy policy = withTarget(70, 50, ms(700));
    long interval = ms(AdmissionPolicy.STANDING_INTERVAL_MS);
    policy.recordSojourn(ms(51), ms(1_000));
    policy.recordSojourn(ms(80), ms(1_000) + interval - 1);
    assertFalse(policy.standing(), "above the target for less than an interval: a burst draining");
    assertTrue(policy.withinDelayTarget(50), "no target while not standing");

    policy.recordSojourn(ms(50), ms(1_000) + interval);
    long again = ms(1_000) + interval + 1;
    policy.recordSojourn(ms(80), again);
    policy.recordSojourn(ms(80), again + interval - 1);
    assertFalse(policy.standing(), "one wait within the target starts the interval over");
    policy.recordSojourn(ms(80), again + interval);
    assertTrue(policy.standing());
    assertFalse(policy.withinDelayTarget(50));
  }

  @Test
  @DisplayName("queueing-delay target: a standing queue stays so until a permit is released with nobody waiting")
  void standingEndsWhenTheQueueRunsEmpty() {
    AdmissionPolicy policy = standing(withTarget(70, 50, ms(700)));
    policy.recordSojourn(ms(10), ms(5_000));
    assertTrue(policy.standing(), "short waits alone do not end it: they are what the target makes");
    policy.queueRanEmpty();
    assertFalse(policy.standing());
    assertTrue(policy.withinDelayTarget(50));
  }

  @Test
  @DisplayName("queueing-delay target: a queue that ran empty only because the target shed arrivals within the last"
    + " interval stays standing; once nothing was shed for an interval, running empty ends it")
  void emptiedBySheddingStaysStanding() {
    AdmissionPolicy policy = standing(withTarget(70, 50, ms(700)));
    policy.recordShed(ms(10_000));
    policy.queueRanEmpty(ms(10_050));
    assertTrue(policy.standing(), "demand still exceeded capacity 50 ms ago");
    assertFalse(policy.withinDelayTarget(50));
    policy.queueRanEmpty(ms(10_000) + ms(AdmissionPolicy.STANDING_INTERVAL_MS));
    assertFalse(policy.standing());
    assertTrue(policy.withinDelayTarget(50));
  }

  @Test
  @DisplayName("queueing-delay target: the incident's pool (70 connections, 700 ms holds, a permit every 10 ms) lets"
    + " 5 wait within 50 ms once the queue stands; the 6th is refused")
  void delayTargetBoundsThePlacesInLine() {
    AdmissionPolicy policy = standing(withTarget(70, 50, ms(700)));
    assertEquals(5, policy.placesWithinTarget());
    assertEquals(ms(50), policy.predictedWaitNanos(5));
    assertTrue(policy.withinDelayTarget(5));
    assertFalse(policy.withinDelayTarget(6));
  }

  @Test
  @DisplayName("queueing-delay target: the first place in line is open even when one hold ÷ permits exceeds it, so a"
    + " freed permit finds a waiter")
  void delayTargetKeepsTheFirstPlace() {
    AdmissionPolicy policy = standing(withTarget(1, 50, ms(1_000)));
    assertEquals(1, policy.placesWithinTarget());
    assertTrue(policy.withinDelayTarget(1));
    assertFalse(policy.withinDelayTarget(2));
  }

  @Test
  @DisplayName("queueing-delay target: fast holds leave more places than any queue bound (no effect on the fast path)")
  void delayTargetDoesNotBiteOnFastHolds() {
    AdmissionPolicy policy = standing(withTarget(20, 50, ms(2)));
    assertEquals(500, policy.placesWithinTarget());
    assertTrue(policy.withinDelayTarget(100));
  }

  @Test
  @DisplayName("queueing-delay target 0 disables it: the queue never stands; before any hold was measured nothing"
    + " is refused")
  void delayTargetZeroOrNothingLearntRefusesNothing() {
    AdmissionPolicy off = withTarget(70, 0, ms(700));
    off.recordSojourn(ms(5_000), ms(1_000));
    off.recordSojourn(ms(5_000), ms(60_000));
    assertFalse(off.standing());
    assertEquals(Integer.MAX_VALUE, off.placesWithinTarget());
    assertTrue(off.withinDelayTarget(1_000_000));

    AdmissionPolicy unlearnt = standing(withTarget(70, 50));
    assertTrue(unlearnt.withinDelayTarget(1_000_000));
  }

  @Test
  @DisplayName("queueing-delay target changes live: a new target starts detection over, 0 turns it off")
  void delayTargetChangesLive() {
    AdmissionPolicy policy = standing(withTarget(70, 50, ms(700)));
    assertFalse(policy.withinDelayTarget(50));
    policy.queueDelayTarget(ms(500));
    assertFalse(policy.standing(), "detection starts over against the new target");
    standing(policy);
    assertEquals(50, policy.placesWithinTarget());
    assertFalse(policy.withinDelayTarget(51));
    policy.queueDelayTarget(0);
    assertTrue(policy.withinDelayTarget(1_000_000));
  }
}
