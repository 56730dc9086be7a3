package io.sluice.launcher.cluster;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The split of the proxy tier's connection budget: floor(budget ÷ nodes), the remainder to the oldest. */
class ShareRuleTest {

  @Test
  @DisplayName("floor of budget ÷ proxy nodes each, the remainder one each to the oldest")
  void remainderGoesToTheOldest() {
    List<String> proxies = List.of("a", "b", "c");
    assertEquals(Map.of("a", 7, "b", 7, "c", 6), ShareRule.shares(20, proxies));
    assertEquals(7, ShareRule.share(20, proxies, "a"));
    assertEquals(7, ShareRule.share(20, proxies, "b"));
    assertEquals(6, ShareRule.share(20, proxies, "c"));
    assertEquals(20, ShareRule.share(20, List.of("a"), "a"));
    assertEquals(List.of("a", "b", "c"), List.copyOf(ShareRule.shares(20, proxies).keySet()), "oldest first");
  }

  @Test
  @DisplayName("a node that is not a proxy node has no share")
  void nonProxyHasNoShare() {
    assertEquals(0, ShareRule.share(20, List.of("a", "b"), "api-node"));
    assertEquals(0, ShareRule.share(20, List.of(), "a"));
  }

  @Test
  @DisplayName("more proxy nodes than connections: the youngest get 0, never more than the budget")
  void budgetSmallerThanTheTier() {
    assertEquals(Map.of("a", 1, "b", 1, "c", 0), ShareRule.shares(2, List.of("a", "b", "c")));
  }

  @Test
  @DisplayName("for every budget and tier size the shares add up to the budget and differ by at most one")
  void sharesAddUpToTheBudget() {
    for (int nodes = 1; nodes <= 12; nodes++) {
      List<String> proxies = new ArrayList<>();
      for (int i = 0; i < nodes; i++) {
        proxies.add("n" + i);
      }
      for (int budget = 0; budget <= 300; budget++) {
        Map<String, Integer> shares = ShareRule.shares(budget, proxies);
        int sum = shares.values().stream().mapToInt(Integer::intValue).sum();
        int max = shares.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        int min = shares.values().stream().mapToInt(Integer::intValue).min().orElseThrow();
        assertEquals(budget, sum, budget + " over " + nodes);
        assertEquals(budget % nodes == 0 ? 0 : 1, max - min, budget + " over " + nodes);
      }
    }
  }
}
