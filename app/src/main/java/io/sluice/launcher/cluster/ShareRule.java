package io.sluice.launcher.cluster;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the connection budget of the proxy tier ({@code db.pool.maxSize} in cluster mode) is split: each proxy node
 * gets floor(budget ÷ nodes), and the remainder goes one connection each to the oldest nodes. The shares always add
 * up to the budget exactly, and every node computes the same split from the same member list, without talking to
 * the others: Hazelcast gives every member the same list, oldest first.
 *
 * <p>A node's share is 0 when the tier has more proxy nodes than the budget has connections and the node is among
 * the youngest: the budget is the bound, so such a node serves nothing rather than exceed it.
 */
public final class ShareRule {

  private ShareRule() {
  }

  /** The share of {@code self} in {@code budget}; 0 when {@code self} is not among the proxy nodes. */
  public static int share(int budget, List<String> proxiesOldestFirst, String self) {
    int index = proxiesOldestFirst.indexOf(self);
    return index < 0 ? 0 : share(budget, proxiesOldestFirst.size(), index);
  }

  /** Every proxy node's share, in the order given (oldest first). */
  public static Map<String, Integer> shares(int budget, List<String> proxiesOldestFirst) {
    Map<String, Integer> shares = new LinkedHashMap<>();
    for (int i = 0; i < proxiesOldestFirst.size(); i++) {
      shares.put(proxiesOldestFirst.get(i), share(budget, proxiesOldestFirst.size(), i));
    }
    return shares;
  }

  private static int share(int budget, int nodes, int index) {
    if (budget < 0) {
      throw new IllegalArgumentException("budget must not be negative, got " + budget);
    }
    return budget / nodes + (index < budget % nodes ? 1 : 0);
  }
}
