package io.sluice.launcher.cluster;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The growth gate's decision on synthetic answers: shrinking never waits; growing waits for every live peer to have
 * answered, to count this node and to hold at most its share, and for every departed node still counted to be
 * reserved within its share. Budget 8 throughout.
 */
class GrowthGateTest {

  private static final int BUDGET = 8;
  private static final List<String> ABC = List.of("a", "b", "c");

  private static GrowthGate.Answer holds(int held, List<String> roster) {
    return new GrowthGate.Answer(held, roster);
  }

  @Test
  @DisplayName("a target at or below the grant is granted at once, whatever the peers say or whether they answer")
  void shrinkingNeverWaits() {
    Map<String, GrowthGate.Answer> silent = new HashMap<>();
    silent.put("a", null);
    silent.put("b", holds(8, List.of("a", "b")));
    GrowthGate.Decision shrink = GrowthGate.decide(BUDGET, ABC, "c", 4, silent, Map.of());
    assertFalse(shrink.waiting());
    assertEquals(2, shrink.grant());
    GrowthGate.Decision same = GrowthGate.decide(BUDGET, ABC, "c", 2, silent, Map.of());
    assertEquals(2, same.grant());
    assertFalse(same.waiting());
  }

  @Test
  @DisplayName("alone, a node grows to the whole budget at once")
  void aloneGrowsAtOnce() {
    GrowthGate.Decision alone = GrowthGate.decide(BUDGET, List.of("a"), "a", 0, Map.of(), Map.of());
    assertEquals(8, alone.grant());
    assertFalse(alone.waiting());
    assertTrue(GrowthGate.wantsToGrow(BUDGET, List.of("a"), "a", 0));
    assertFalse(GrowthGate.wantsToGrow(BUDGET, List.of("a"), "a", 8));
  }

  @Test
  @DisplayName("a joiner waits while a peer still holds its old pool beside its new one, and grows once it drained")
  void joinerWaitsForTheOthersToShrink() {
    // a and b had 4 each; c joined: shares 3, 3, 2. a swapped to 3 and its old 4 still drains: it holds 7.
    GrowthGate.Decision draining = GrowthGate.decide(BUDGET, ABC, "c", 0,
      Map.of("a", holds(7, ABC), "b", holds(3, ABC)), Map.of());
    assertTrue(draining.waiting());
    assertEquals(0, draining.grant());
    assertEquals(2, draining.target());
    assertTrue(draining.waitingFor().contains("a holds 7 > its share 3"), draining.waitingFor());

    GrowthGate.Decision drained = GrowthGate.decide(BUDGET, ABC, "c", 0,
      Map.of("a", holds(3, ABC), "b", holds(3, ABC)), Map.of());
    assertFalse(drained.waiting());
    assertEquals(2, drained.grant());
  }

  @Test
  @DisplayName("a peer that did not answer holds growth back: it may be frozen and still connected")
  void silentPeerBlocks() {
    Map<String, GrowthGate.Answer> answers = new HashMap<>();
    answers.put("a", holds(3, ABC));
    answers.put("b", null);
    GrowthGate.Decision decision = GrowthGate.decide(BUDGET, ABC, "c", 0, answers, Map.of());
    assertTrue(decision.waiting());
    assertEquals("b did not answer", decision.waitingFor());
  }

  @Test
  @DisplayName("a peer that does not count this node yet holds growth back: it computes its own share without it")
  void peerThatHasNotSeenTheJoinerBlocks() {
    GrowthGate.Decision decision = GrowthGate.decide(BUDGET, ABC, "c", 0,
      Map.of("a", holds(3, ABC), "b", holds(3, List.of("a", "b"))), Map.of());
    assertTrue(decision.waiting());
    assertEquals("b does not count this node yet", decision.waitingFor());
  }

  @Test
  @DisplayName("a shrink refused while an earlier swap drains: the peer's held stays above its share, growth waits")
  void refusedShrinkKeepsGrowthWaiting() {
    // b grew to 8 alone, its old 4 drains; a joined (shares 4, 4) and b's shrink to 4 is refused meanwhile: 12.
    List<String> ab = List.of("b", "a");
    GrowthGate.Decision decision = GrowthGate.decide(BUDGET, ab, "a", 0, Map.of("b", holds(12, ab)), Map.of());
    assertTrue(decision.waiting());
    assertEquals(0, decision.grant());
  }

  @Test
  @DisplayName("a departed node still counted that may hold more than its new share (a node joined after it left)"
    + " holds growth back; within its share it does not")
  void departedReservationAboveItsShareBlocks() {
    // a and b had 4 each; b froze and left; c joined during b's grace: shares 3, 3, 2, and b may still hold 4.
    GrowthGate.Decision frozen = GrowthGate.decide(BUDGET, List.of("a", "b", "c"), "c", 0,
      Map.of("a", holds(3, ABC)), Map.of("b", 4));
    assertTrue(frozen.waiting());
    assertTrue(frozen.waitingFor().contains("departed b may hold 4 > its share 3"), frozen.waitingFor());

    GrowthGate.Decision within = GrowthGate.decide(BUDGET, List.of("a", "b", "c"), "c", 0,
      Map.of("a", holds(3, ABC)), Map.of("b", 3));
    assertFalse(within.waiting());
    assertEquals(2, within.grant());

    // Once b stops counting (its grace over on a majority), its reservation is no longer the gate's concern.
    GrowthGate.Decision gone = GrowthGate.decide(BUDGET, List.of("a", "c"), "c", 0,
      Map.of("a", holds(4, List.of("a", "c"))), Map.of("b", 4));
    assertFalse(gone.waiting());
    assertEquals(4, gone.grant());
  }

  @Test
  @DisplayName("a budget raised by a reload: growth to the new share waits until the peers are within theirs")
  void raisedBudgetGrowsThroughTheGate() {
    // Budget 8 → 12: shares 4, 4, 4. b has not reloaded yet and holds 3: within its new share, so c may grow.
    GrowthGate.Decision decision = GrowthGate.decide(12, ABC, "c", 2,
      Map.of("a", holds(3, ABC), "b", holds(3, ABC)), Map.of());
    assertEquals(4, decision.grant());
    // A peer not counted by this node (share 0 here) must hold nothing.
    GrowthGate.Decision stranger = GrowthGate.decide(12, ABC, "c", 2,
      Map.of("a", holds(3, ABC), "x", holds(1, ABC)), Map.of());
    assertTrue(stranger.waiting());
    assertTrue(stranger.waitingFor().contains("x holds 1 > its share 0"), stranger.waitingFor());
  }
}
