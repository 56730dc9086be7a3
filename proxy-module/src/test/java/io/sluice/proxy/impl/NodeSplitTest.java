package io.sluice.proxy.impl;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split of a node's connections and queue among its shards, over a matrix of sizes (no database). */
class NodeSplitTest {

  @Test
  @DisplayName("the shards' slices add up to the budget exactly, differ by at most one, the larger ones first")
  void connectionsAddUpToTheBudget() {
    for (int shards = 1; shards <= 16; shards++) {
      for (int budget = 0; budget <= 100; budget++) {
        int sum = 0;
        int previous = Integer.MAX_VALUE;
        for (int i = 0; i < shards; i++) {
          int slice = Node.split(budget, shards, i);
          assertTrue(slice <= previous, "larger slices first");
          assertTrue(slice == budget / shards || slice == budget / shards + 1);
          previous = slice;
          sum += slice;
        }
        assertEquals(budget, sum, budget + " over " + shards);
      }
    }
  }

  @Test
  @DisplayName("every shard with connections gets a queue place when the node has a queue; none otherwise")
  void queueSplit() {
    assertEquals(1, Node.queueSplit(1, 4, 3, 1), "at least one place per shard with connections");
    assertEquals(0, Node.queueSplit(0, 4, 0, 5), "no waiting stays no waiting");
    assertEquals(0, Node.queueSplit(100, 4, 3, 0), "a shard with no connection refuses at once");
    assertEquals(34, Node.queueSplit(100, 3, 0, 1));
    assertEquals(33, Node.queueSplit(100, 3, 2, 1));
  }
}
