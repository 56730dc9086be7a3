package io.sluice.launcher.cluster;

import java.util.List;
import java.util.Map;

/**
 * Whether a proxy node may raise its share of the connection budget now: the decision of {@link TierMembership}'s
 * growth gate, apart from the event bus that gathers its inputs.
 *
 * <p>The invariant it keeps, <b>the budget bound</b>: <em>a node opens connections beyond the share it holds only
 * once every other proxy node it knows of has confirmed that it holds no more than the share this node computes for
 * it.</em> Shares ({@link ShareRule} over one roster) add up to the budget, so when this node grows to its share
 * {@code t}, the others hold at most {@code budget - t} by their own word. A node that holds more is shrinking (its
 * old pool still draining beside its new one, or a shrink refused while an earlier swap drains), has not seen this
 * node yet, or is a departed node that may still hold connections: the gate waits for it.
 *
 * <ul>
 *   <li><b>Shrinking never waits</b>: a target at or below the share granted so far is granted at once.</li>
 *   <li><b>Growing waits for every live peer</b>: each must have answered (a peer that does not answer may be frozen
 *   and still connected), must count this node (otherwise it computes its own share without this node, and may
 *   grow past what this node leaves it), and must hold at most its share in this node's roster.</li>
 *   <li><b>Departed nodes keep their reservation</b>: a node that left and still counts (its grace,
 *   {@link ShareGovernor}) may hold what it held when it left; while that is more than its share in this node's
 *   roster (a node joined after it left, so every share shrank, but a frozen node cannot shrink), growth waits until
 *   it comes back and shrinks, or stops counting.</li>
 * </ul>
 *
 * <p>Pure: no clock, no Vert.x; the caller asks the peers and calls again after a timer or a membership change.
 */
public final class GrowthGate {

  /** A live peer's answer: the connections it may hold ({@code held}), and the nodes it counts, oldest first. */
  public record Answer(int held, List<String> roster) {
  }

  /** The share to grant now, and why growth waits ({@code null} when the target was granted). */
  public record Decision(int grant, int target, String waitingFor) {

    public boolean waiting() {
      return waitingFor != null;
    }
  }

  private GrowthGate() {
  }

  /** Whether a target above {@code granted} needs the peers' answers: the only case in which asking is needed. */
  public static boolean wantsToGrow(int budget, List<String> roster, String self, int granted) {
    return ShareRule.share(budget, roster, self) > granted;
  }

  /**
   * @param budget       {@code db.pool.maxSize} as this node knows it
   * @param roster       the nodes this node counts ({@link ShareGovernor#counted}), oldest first
   * @param self         this node's id
   * @param granted      the share granted so far (0 before the first grant)
   * @param peers        every other live proxy member this node must hear from → its answer, or null when it did not
   *                     answer in time
   * @param departedHeld every departed node still in {@code roster} → the most it may hold
   */
  public static Decision decide(int budget, List<String> roster, String self, int granted, Map<String, Answer> peers,
                                Map<String, Integer> departedHeld) {
    int target = ShareRule.share(budget, roster, self);
    if (target <= granted) {
      return new Decision(target, target, null);
    }
    Map<String, Integer> shares = ShareRule.shares(budget, roster);
    for (Map.Entry<String, Answer> peer : peers.entrySet()) {
      String id = peer.getKey();
      Answer answer = peer.getValue();
      int share = shares.getOrDefault(id, 0);
      if (answer == null) {
        return new Decision(granted, target, id + " did not answer");
      }
      if (!answer.roster().contains(self)) {
        return new Decision(granted, target, id + " does not count this node yet");
      }
      if (answer.held() > share) {
        return new Decision(granted, target, id + " holds " + answer.held() + " > its share " + share);
      }
    }
    for (Map.Entry<String, Integer> departed : departedHeld.entrySet()) {
      String id = departed.getKey();
      if (roster.contains(id) && departed.getValue() > shares.getOrDefault(id, 0)) {
        return new Decision(granted, target, "departed " + id + " may hold " + departed.getValue() + " > its share "
          + shares.getOrDefault(id, 0));
      }
    }
    return new Decision(target, target, null);
  }
}
