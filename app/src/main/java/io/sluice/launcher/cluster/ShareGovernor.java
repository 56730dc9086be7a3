package io.sluice.launcher.cluster;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which proxy nodes count in the connection budget right now, given the membership views the cluster reports: the
 * live ones, and those that left less than the grace period ago. Shares ({@link ShareRule}) are computed over the
 * nodes that count, so
 * <ul>
 *   <li>a proxy node that joins counts at once: every other node's share shrinks on the next view;</li>
 *   <li>a proxy node that leaves keeps counting for {@code graceMs}: the survivors' shares grow only then. A node is
 *   removed from the cluster when it stops answering (crash, freeze, partition); a frozen one still holds its
 *   connections on the database server, and counting them twice could take the tier over its budget.</li>
 *   <li><b>no growth without a majority</b>: a departed node stops counting only while this node sees a majority
 *   of the last known members; otherwise it counts on, however long ago it left, so the shares of a side cut off
 *   from the rest stay as they were (or shrink, when a node joins it).</li>
 * </ul>
 * The order is the cluster's (oldest first); a departed node keeps its place until it stops counting, so nobody's
 * share grows early because the remainder moved.
 *
 * <p>What the governor decides is the <em>target</em> share; a node moves up to it only through the growth gate
 * ({@link GrowthGate}: the others have confirmed that they hold no more than their shares), so that the pools in
 * force never add up to more than the budget, the invariant this class and the gate keep together.
 *
 * <h2>The majority rule</h2>
 * The <em>last known members</em> are every member of any role (API nodes are witnesses: they hold no connection
 * but break ties), by {@link Member#seat() seat}, its Hazelcast address {@code host:port}: a restarted or merged
 * member takes its seat back, whatever its new ids. A fresh node starts with the seats it expects ({@link #expect}:
 * {@code cluster.members} and its own), each absent until a view shows it, so that a node restarted inside a
 * minority holds no majority of one; without expected seats, with the members of its first view. A member that
 * joins is added to them only in a view that holds a majority; one that leaves is removed from them
 * only when its grace has ended in such a view. A view <em>holds a majority</em> when more than half of the last
 * known seats are live in it, or exactly half and the live ones include the lowest seat (string order: every node
 * computes the same one from the same set; Akka's keep-majority breaks ties the same way). Invariants:
 * <ul>
 *   <li>two sides of a partition that start from the same last known set cannot both hold a majority, so at most
 *   one side ever lets a departed proxy node stop counting: the other sides keep their last shares, and the tier
 *   holds at most its budget plus the shares the cut-off nodes had before the cut (at most twice the budget),
 *   never k × the budget for k sides;</li>
 *   <li>departures are decided at the end of their grace, not as each removal arrives: a side whose members are
 *   removed one by one (a partition seen one heartbeat timeout at a time) never passes through a "majority" of a
 *   shrinking set.</li>
 * </ul>
 * Limits: a departure decided requires a majority, so after losing half of the last known seats including the
 * lowest (the only proxy of two without an API node, or two of four) the survivors keep their shares until a seat
 * comes back (a restarted member at its old address) or they restart.
 *
 * <p>A node that joins during another's grace never saw it leave: it learns it from the peers that still count it
 * ({@link #adopt}), so that it reserves the same shares they do.
 *
 * <p>Pure: the caller passes the time (ms, any monotonic origin) and asks again at {@link #nextChangeMs}. Not
 * thread-safe: one context owns it.
 */
public final class ShareGovernor {

  /** A member as a view reports it: its stable id (for shares), its seat (for the majority), its role. */
  public record Member(String id, String seat, boolean proxy) {
  }

  private static final long LIVE = Long.MIN_VALUE;

  private final long graceMs;
  /** Every proxy node that counts, by id, in the cluster's order: {@link #LIVE}, or the time it left. */
  private final Map<String, Long> roster = new LinkedHashMap<>();
  /** The last known members, by seat: {@link #LIVE}, or the time the seat emptied. */
  private final Map<String, Long> known = new LinkedHashMap<>();
  /** The seats of the last view. */
  private Set<String> liveSeats = Set.of();
  /** Whether a view arrived: expected seats are taken only before. */
  private boolean viewed;

  public ShareGovernor(long graceMs) {
    this.graceMs = graceMs;
  }

  /**
   * The seats a fresh node expects before its first view ({@code cluster.members} and its own): its last known
   * members, each absent (since {@code nowMs}) until a view shows it. A seat that never shows up stops being known
   * as a departed one does: once the grace has ended, in a view that holds a majority. Ignored after the first view.
   */
  public void expect(Collection<String> seats, long nowMs) {
    if (!viewed) {
      seats.forEach(seat -> known.putIfAbsent(seat, nowMs));
    }
  }

  /** A view of proxy nodes only, each its own seat (no witnesses): the majority is over the proxy nodes. */
  public void view(List<String> liveProxiesOldestFirst, long nowMs) {
    viewMembers(liveProxiesOldestFirst.stream().map(id -> new Member(id, id, true)).toList(), nowMs);
  }

  /** A new view of the live members (any role), oldest first, seen at {@code nowMs}. */
  public void viewMembers(List<Member> liveOldestFirst, long nowMs) {
    List<String> proxies = liveOldestFirst.stream().filter(Member::proxy).map(Member::id).toList();
    roster.replaceAll((id, leftAt) -> proxies.contains(id) ? LIVE : leftAt == LIVE ? nowMs : leftAt);
    for (String id : proxies) {
      roster.putIfAbsent(id, LIVE);
    }
    liveSeats = Set.copyOf(liveOldestFirst.stream().map(Member::seat).toList());
    boolean fresh = known.isEmpty();
    viewed = true;
    known.replaceAll((seat, leftAt) -> liveSeats.contains(seat) ? LIVE : leftAt == LIVE ? nowMs : leftAt);
    if (fresh || majority()) {
      liveOldestFirst.forEach(m -> known.putIfAbsent(m.seat(), LIVE));
    }
    expire(nowMs);
  }

  /** The nodes that count at {@code nowMs}, in the cluster's order: live ones and those still within the grace. */
  public List<String> counted(long nowMs) {
    expire(nowMs);
    return List.copyOf(roster.keySet());
  }

  /** The nodes that left and still count at {@code nowMs}, with the time each would stop counting. */
  public Map<String, Long> departing(long nowMs) {
    expire(nowMs);
    Map<String, Long> departing = new LinkedHashMap<>();
    roster.forEach((id, leftAt) -> {
      if (leftAt != LIVE) {
        departing.put(id, leftAt + graceMs);
      }
    });
    return departing;
  }

  /**
   * A departed node a peer still counts, for {@code countedForMs} more, and which this node does not count: a node
   * that joined while it was in its grace never saw it leave. It is counted here too, as departed, until the same
   * moment, placed as the peer places it ({@code peerRoster}, oldest first: after the last node that precedes it
   * there), so that both compute the same shares. Ignored when this node counts it already or sees it live.
   *
   * @return whether the node was added
   */
  public boolean adopt(String id, long countedForMs, List<String> peerRoster, long nowMs) {
    if (roster.containsKey(id) || liveSeats.isEmpty()) {
      return false;
    }
    int at = peerRoster.indexOf(id);
    String after = null;
    for (int i = at - 1; i >= 0 && after == null; i--) {
      if (roster.containsKey(peerRoster.get(i))) {
        after = peerRoster.get(i);
      }
    }
    long leftAt = nowMs + Math.max(0, countedForMs) - graceMs;
    Map<String, Long> rebuilt = new LinkedHashMap<>();
    if (after == null) {
      rebuilt.put(id, leftAt);
    }
    for (Map.Entry<String, Long> entry : roster.entrySet()) {
      rebuilt.put(entry.getKey(), entry.getValue());
      if (entry.getKey().equals(after)) {
        rebuilt.put(id, leftAt);
      }
    }
    roster.clear();
    roster.putAll(rebuilt);
    return true;
  }

  /** Whether a view has arrived (before, the majority is not known yet). */
  public boolean viewed() {
    return viewed;
  }

  /** Whether the last view holds a majority of the last known members (see the class comment). */
  public boolean majority() {
    long present = known.keySet().stream().filter(liveSeats::contains).count();
    if (present * 2 != known.size()) {
      return present * 2 > known.size();
    }
    return present > 0 && liveSeats.contains(new TreeSet<>(known.keySet()).first());
  }

  /** The last known members' seats, in string order. */
  public List<String> lastKnown() {
    return List.copyOf(new TreeSet<>(known.keySet()));
  }

  /**
   * When the next departed node or seat stops counting (its grace ends), or -1 when none is pending or the last
   * view holds no majority (then only a new view can change anything).
   */
  public long nextChangeMs() {
    if (!majority()) {
      return -1;
    }
    long next = -1;
    for (Map<String, Long> map : List.of(roster, known)) {
      for (long leftAt : map.values()) {
        if (leftAt != LIVE && (next < 0 || leftAt + graceMs < next)) {
          next = leftAt + graceMs;
        }
      }
    }
    return next;
  }

  /** Drops the departures whose grace has ended, only while the last view holds a majority. */
  private void expire(long nowMs) {
    if (!majority()) {
      return;
    }
    for (Map<String, Long> map : List.of(roster, known)) {
      List<String> gone = new ArrayList<>();
      map.forEach((key, leftAt) -> {
        if (leftAt != LIVE && nowMs - leftAt >= graceMs) {
          gone.add(key);
        }
      });
      gone.forEach(map::remove);
    }
  }
}
