package io.sluice.launcher.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which proxy nodes count in the connection budget right now, given the membership views the cluster reports: the
 * live ones, and those that left less than the grace period ago. Shares ({@link ShareRule}) are computed over the
 * nodes that count, so
 * <ul>
 *   <li>a proxy node that joins counts at once: every other node's share shrinks on the next view;</li>
 *   <li>a proxy node that leaves keeps counting for {@code graceMs}: the survivors' shares grow only then. A node is
 *   removed from the cluster when it stops answering (crash, freeze, partition); a frozen one still holds its
 *   connections on the database server, and counting them twice could take the tier over its budget.</li>
 * </ul>
 * The order is the cluster's (oldest first); a departed node keeps its place until it stops counting, so nobody's
 * share grows early because the remainder moved.
 *
 * <p>Pure: the caller passes the time (ms, any monotonic origin) and asks again at {@link #nextChangeMs}. Not
 * thread-safe: one context owns it.
 */
public final class ShareGovernor {

  private static final long LIVE = Long.MIN_VALUE;

  private final long graceMs;
  /** Every node that counts, in the cluster's order: {@link #LIVE}, or the time it left. */
  private final Map<String, Long> roster = new LinkedHashMap<>();

  public ShareGovernor(long graceMs) {
    this.graceMs = graceMs;
  }

  /** A new view of the live proxy nodes, oldest first, seen at {@code nowMs}. */
  public void view(List<String> liveProxiesOldestFirst, long nowMs) {
    roster.replaceAll((id, leftAt) -> liveProxiesOldestFirst.contains(id) ? LIVE
      : leftAt == LIVE ? nowMs : leftAt);
    for (String id : liveProxiesOldestFirst) {
      roster.putIfAbsent(id, LIVE);
    }
    expire(nowMs);
  }

  /** The nodes that count at {@code nowMs}, in the cluster's order: live ones and those still within the grace. */
  public List<String> counted(long nowMs) {
    expire(nowMs);
    return List.copyOf(roster.keySet());
  }

  /** The nodes that left and still count at {@code nowMs}, with the time each stops counting. */
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

  /** When the next departed node stops counting (its grace ends), or -1 when none is pending. */
  public long nextChangeMs() {
    long next = -1;
    for (long leftAt : roster.values()) {
      if (leftAt != LIVE && (next < 0 || leftAt + graceMs < next)) {
        next = leftAt + graceMs;
      }
    }
    return next;
  }

  private void expire(long nowMs) {
    List<String> gone = new ArrayList<>();
    roster.forEach((id, leftAt) -> {
      if (leftAt != LIVE && nowMs - leftAt >= graceMs) {
        gone.add(id);
      }
    });
    gone.forEach(roster::remove);
  }
}
