package io.sluice.launcher.cluster;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Which proxy nodes count in the budget, on a clock the test sets: a joiner counts at once (the others shrink at
 * once), a node that left counts until its grace ends (the others grow only then).
 */
class ShareGovernorTest {

  private static final long GRACE_MS = 20_000;
  private static final int BUDGET = 20;

  private final ShareGovernor governor = new ShareGovernor(GRACE_MS);

  private int share(String self, long nowMs) {
    return ShareRule.share(BUDGET, governor.counted(nowMs), self);
  }

  @Test
  @DisplayName("a proxy node that joins shrinks the others' shares at once")
  void joinShrinksAtOnce() {
    governor.view(List.of("a"), 0);
    assertEquals(20, share("a", 0));
    governor.view(List.of("a", "b"), 1_000);
    assertEquals(10, share("a", 1_000));
    assertEquals(10, share("b", 1_000));
    assertEquals(-1, governor.nextChangeMs(), "nothing pending");
  }

  @Test
  @DisplayName("a proxy node that leaves still counts until the grace ends; then the survivors grow")
  void leaveGrowsAfterTheGrace() {
    governor.view(List.of("a", "b"), 0);
    governor.view(List.of("a"), 5_000);
    assertEquals(10, share("a", 5_000));
    assertEquals(10, share("a", 5_000 + GRACE_MS - 1));
    assertEquals(Map.of("b", 5_000 + GRACE_MS), governor.departing(5_000 + GRACE_MS - 1));
    assertEquals(5_000 + GRACE_MS, governor.nextChangeMs());
    assertEquals(20, share("a", 5_000 + GRACE_MS));
    assertEquals(List.of("a"), governor.counted(5_000 + GRACE_MS));
    assertEquals(-1, governor.nextChangeMs());
  }

  @Test
  @DisplayName("a departed node keeps its place: the remainder does not move to a survivor early")
  void departedNodeKeepsItsPlace() {
    governor.view(List.of("a", "b", "c"), 0);
    assertEquals(List.of(7, 7, 6), List.of(share("a", 0), share("b", 0), share("c", 0)));
    governor.view(List.of("b", "c"), 1_000);
    assertEquals(List.of(7, 6), List.of(share("b", 1_000), share("c", 1_000)), "a's 7 still counted");
    assertEquals(List.of(10, 10), List.of(share("b", 1_000 + GRACE_MS), share("c", 1_000 + GRACE_MS)));
  }

  @Test
  @DisplayName("a join during another node's grace shrinks at once; growth still waits for the grace")
  void joinDuringGrace() {
    governor.view(List.of("a", "b"), 0);
    governor.view(List.of("a"), 1_000);
    governor.view(List.of("a", "c"), 2_000);
    assertEquals(List.of("a", "b", "c"), governor.counted(2_000));
    assertEquals(List.of(7, 6), List.of(share("a", 2_000), share("c", 2_000)));
    assertEquals(List.of(10, 10), List.of(share("a", 1_000 + GRACE_MS), share("c", 1_000 + GRACE_MS)));
  }

  @Test
  @DisplayName("two departures: each stops counting at its own grace end, growth comes in two steps")
  void twoDeparturesGrowInSteps() {
    governor.view(List.of("a", "b", "c", "d"), 0);
    governor.view(List.of("a", "c", "d"), 1_000);
    governor.view(List.of("a", "d"), 6_000);
    assertEquals(5, share("a", 6_000));
    assertEquals(1_000 + GRACE_MS, governor.nextChangeMs());
    assertEquals(List.of(7, 6), List.of(share("a", 1_000 + GRACE_MS), share("d", 1_000 + GRACE_MS)),
      "b gone, c still counted (with its 7)");
    assertEquals(6_000 + GRACE_MS, governor.nextChangeMs());
    assertEquals(List.of(10, 10), List.of(share("a", 6_000 + GRACE_MS), share("d", 6_000 + GRACE_MS)));
  }

  @Test
  @DisplayName("a node seen again before its grace ends counts as live again, with no pending change")
  void returnWithinGrace() {
    governor.view(List.of("a", "b"), 0);
    governor.view(List.of("a"), 1_000);
    governor.view(List.of("a", "b"), 2_000);
    assertEquals(-1, governor.nextChangeMs());
    assertEquals(10, share("a", 2_000 + GRACE_MS));
  }

  @Test
  @DisplayName("a zero grace grows at once")
  void zeroGrace() {
    ShareGovernor immediate = new ShareGovernor(0);
    immediate.view(List.of("a", "b"), 0);
    immediate.view(List.of("a"), 0);
    assertEquals(List.of("a"), immediate.counted(0));
  }

  // The majority rule, on synthetic views with witnesses (API members "w1", "w2": no share, a seat each).

  private static List<ShareGovernor.Member> members(String... ids) {
    return java.util.Arrays.stream(ids).map(id -> new ShareGovernor.Member(id, "seat-" + id, !id.startsWith("w")))
      .toList();
  }

  @Test
  @DisplayName("a node cut off alone (thawed, partitioned) never grows: the others still count long after the grace")
  void minorityNeverGrows() {
    governor.viewMembers(members("a", "b", "c", "w1"), 0);
    assertEquals(7, share("b", 0));
    governor.viewMembers(members("b"), 1_000);
    assertEquals(false, governor.majority());
    assertEquals(-1, governor.nextChangeMs(), "nothing to wait for without a majority");
    assertEquals(7, share("b", 1_000 + 100 * GRACE_MS));
    assertEquals(List.of("a", "b", "c"), governor.counted(1_000 + 100 * GRACE_MS));
  }

  @Test
  @DisplayName("the majority side of the same cut grows after the grace")
  void majorityGrows() {
    governor.viewMembers(members("a", "b", "c", "w1"), 0);
    governor.viewMembers(members("a", "c", "w1"), 1_000);
    assertEquals(true, governor.majority());
    assertEquals(1_000 + GRACE_MS, governor.nextChangeMs());
    assertEquals(List.of(10, 10), List.of(share("a", 1_000 + GRACE_MS), share("c", 1_000 + GRACE_MS)));
    assertEquals(List.of("seat-a", "seat-c", "seat-w1"), governor.lastKnown());
  }

  @Test
  @DisplayName("a fresh node expects the seats of cluster.members: alone among three (restarted inside a minority) it"
    + " holds no majority; with one more live it does, and a seat never seen stops being known after the grace")
  void aFreshNodeExpectsItsConfiguredSeats() {
    governor.expect(List.of("seat-a", "seat-b", "seat-w1"), 0);
    assertEquals(false, governor.majority(), "no view yet");
    governor.viewMembers(members("a"), 0);
    assertEquals(false, governor.majority(), "1 of 3 expected seats");
    assertEquals(-1, governor.nextChangeMs());
    assertEquals(List.of("a"), governor.counted(1_000 + 100 * GRACE_MS));
    assertEquals(List.of("seat-a", "seat-b", "seat-w1"), governor.lastKnown(), "nothing expires without a majority");

    governor.viewMembers(members("a", "w1"), 2_000);
    assertEquals(true, governor.majority(), "2 of 3");
    assertEquals(GRACE_MS, governor.nextChangeMs(), "b, expected since 0 and never seen, is known until the grace");
    governor.counted(GRACE_MS);
    assertEquals(List.of("seat-a", "seat-w1"), governor.lastKnown());

    governor.expect(List.of("seat-x"), 3_000);
    assertEquals(List.of("seat-a", "seat-w1"), governor.lastKnown(), "ignored after the first view");
  }

  @Test
  @DisplayName("a tie is won by the side with the lowest seat: the other never grows")
  void tieGoesToTheLowestSeat() {
    ShareGovernor other = new ShareGovernor(GRACE_MS);
    governor.view(List.of("a", "b"), 0);
    other.view(List.of("a", "b"), 0);
    governor.view(List.of("a"), 1_000);
    other.view(List.of("b"), 1_000);
    assertEquals(List.of("a"), governor.counted(1_000 + GRACE_MS));
    assertEquals(List.of("a", "b"), other.counted(1_000 + 100 * GRACE_MS));
  }

  @Test
  @DisplayName("members dropped one heartbeat at a time: the smaller side never passes through a majority")
  void oneByOneRemovalGivesNoMajority() {
    ShareGovernor other = new ShareGovernor(GRACE_MS);
    governor.viewMembers(members("a", "b", "c", "d", "e"), 0);
    other.viewMembers(members("a", "b", "c", "d", "e"), 0);
    governor.viewMembers(members("a", "b", "d", "e"), 1_000);
    governor.viewMembers(members("a", "b", "e"), 2_000);
    governor.viewMembers(members("a", "b"), 3_000);
    other.viewMembers(members("b", "c", "d", "e"), 1_000);
    other.viewMembers(members("c", "d", "e"), 2_000);
    assertEquals(List.of("a", "b", "c", "d", "e"), governor.counted(3_000 + 100 * GRACE_MS));
    assertEquals(List.of("c", "d", "e"), other.counted(2_000 + GRACE_MS));
  }

  @Test
  @DisplayName("nodes joining the cut-off side shrink its shares but give it no majority")
  void joinersGiveNoMajority() {
    governor.viewMembers(members("a", "b", "c"), 0);
    governor.viewMembers(members("a"), 1_000);
    governor.viewMembers(members("a", "x", "y"), 2_000);
    assertEquals(false, governor.majority());
    assertEquals(List.of("a", "b", "c", "x", "y"), governor.counted(2_000 + 100 * GRACE_MS));
    assertEquals(List.of("seat-a", "seat-b", "seat-c"), governor.lastKnown());
  }

  @Test
  @DisplayName("after the cut heals, the seats are back: the majority returns and the shares follow the live nodes")
  void healRestoresTheMajority() {
    governor.viewMembers(members("a", "b", "w1"), 0);
    governor.viewMembers(members("b"), 1_000);
    assertEquals(4, ShareRule.share(8, governor.counted(1_000 + GRACE_MS), "b"));
    governor.viewMembers(members("a", "w1", "b"), 2_000 + GRACE_MS);
    assertEquals(true, governor.majority());
    assertEquals(-1, governor.nextChangeMs());
    assertEquals(4, ShareRule.share(8, governor.counted(2_000 + GRACE_MS), "b"));
  }

  @Test
  @DisplayName("a member restarted on its address (a new id) takes its seat back: a later kill still lets the"
    + " survivors grow")
  void restartedMemberTakesItsSeatBack() {
    governor.viewMembers(List.of(new ShareGovernor.Member("a", "s1", true), new ShareGovernor.Member("b", "s2", true),
      new ShareGovernor.Member("w", "s3", false)), 0);
    governor.viewMembers(List.of(new ShareGovernor.Member("a", "s1", true), new ShareGovernor.Member("b", "s2", true)),
      1_000);
    governor.viewMembers(List.of(new ShareGovernor.Member("a", "s1", true), new ShareGovernor.Member("b", "s2", true),
      new ShareGovernor.Member("w-restarted", "s3", false)), 2_000);
    governor.viewMembers(List.of(new ShareGovernor.Member("b", "s2", true),
      new ShareGovernor.Member("w-restarted", "s3", false)), 3_000);
    assertEquals(true, governor.majority());
    assertEquals(List.of("b"), governor.counted(3_000 + GRACE_MS));
  }

  @Test
  @DisplayName("a node that joins during another's grace adopts it from a peer: same place, same end of the grace")
  void joinerAdoptsADepartedNodeFromAPeer() {
    // The joiner c sees a live and itself; a still counts b, which left 5 s ago, for 15 s more.
    governor.view(List.of("a", "c"), 0);
    assertEquals(List.of("a", "c"), governor.counted(0));
    boolean adopted = governor.adopt("b", GRACE_MS - 5_000, List.of("a", "b", "c"), 0);
    assertEquals(true, adopted);
    assertEquals(List.of("a", "b", "c"), governor.counted(0), "b in the place the peer gives it");
    assertEquals(Map.of("b", GRACE_MS - 5_000), governor.departing(0));
    assertEquals(List.of(7, 7, 6), List.of(share("a", 0), share("b", 0), share("c", 0)), "the peer's shares");
    assertEquals(false, governor.adopt("b", GRACE_MS, List.of("a", "b", "c"), 1_000), "counted already");
    assertEquals(false, governor.adopt("a", GRACE_MS, List.of("a", "b", "c"), 1_000), "live here");
    assertEquals(List.of("a", "c"), governor.counted(GRACE_MS - 5_000), "its grace ends when the peer's does");
  }

  @Test
  @DisplayName("a departed node the peer lists first is adopted first")
  void adoptedOldestGoesFirst() {
    governor.view(List.of("b", "c"), 0);
    governor.adopt("a", 1_000, List.of("a", "b", "c"), 0);
    assertEquals(List.of("a", "b", "c"), governor.counted(0));
  }
}
