package io.sluice.bench;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster's readiness rule on the proxy nodes' own pools, from synthetic {@code /admin/pool} figures. */
class SluiceClusterTest {

  @Test
  @DisplayName("the cluster is settled once every proxy node's pool is above 0 and they add up to the budget")
  void sharesSettled() {
    assertTrue(SluiceCluster.settled(new JsonObject().put("proxyA", 7).put("proxyB", 7).put("proxyC", 6), 20));
    assertFalse(SluiceCluster.settled(new JsonObject().put("proxyA", 10).put("proxyB", 10).put("proxyC", 0), 20),
      "a node without a share");
    assertFalse(SluiceCluster.settled(new JsonObject().put("proxyA", 10).put("proxyB", 10).putNull("proxyC"), 20),
      "a node that did not answer");
    assertFalse(SluiceCluster.settled(new JsonObject().put("proxyA", 10).put("proxyB", 10).put("proxyC", 6), 20),
      "a node still on its share of a smaller tier");
  }
}
