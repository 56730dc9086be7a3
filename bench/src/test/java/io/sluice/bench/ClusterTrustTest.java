package io.sluice.bench;

import io.sluice.contract.ProxyContract;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cluster-trust's counter reading and target rows, from synthetic text and scenarios: no cluster, no load. */
class ClusterTrustTest {

  private static final String METRICS = """
    # HELP vertx_eventbus_received_total Number of messages received
    # TYPE vertx_eventbus_received_total counter
    vertx_eventbus_received_total{address="%1$s",side="local",} 1.0
    vertx_eventbus_received_total{address="%1$s",side="remote",} 1902.0
    vertx_eventbus_received_total{address="sluice.other",side="remote",} 7.0
    vertx_eventbus_processed_total{address="%1$s",side="remote",} 1900.0
    """.formatted(ProxyContract.ADDRESS);

  @Test
  @DisplayName("the proxy address's received count by side: other addresses and other series left out")
  void countsTheProxyAddressBySide() {
    Map<String, Long> received = ClusterTrust.proxyAddressCounts(METRICS, "vertx_eventbus_received_total");
    assertEquals(Map.of("local", 1L, "remote", 1902L), received);
    assertEquals(1902L, ClusterTrust.remote(received));
  }

  @Test
  @DisplayName("a node without a series of the proxy address received nothing from other nodes")
  void noSeriesIsZero() {
    assertEquals(0L, ClusterTrust.remote(ClusterTrust.proxyAddressCounts("# nothing yet\n",
      "vertx_eventbus_received_total")));
  }

  @Test
  @DisplayName("no target rows when the scenario did not run (--smoke keeps its count); three when it did")
  void targetsOnlyWhenRun() {
    assertTrue(ClusterTrust.targets(new JsonArray().add(new JsonObject().put("name", "fast-uncached"))).isEmpty());
    JsonObject trust = new JsonObject().put("shareSamplesChanged", 0L).put("receivedByIntruders", 2L)
      .put("non200During", 0L).put("during", new JsonObject().put("samples", 40L).put("reads", 900L));
    JsonArray rows = ClusterTrust.targets(new JsonArray().add(new JsonObject().put("name", ClusterTrust.CLUSTER_TRUST)
      .put("clusterTrust", trust)));
    assertEquals(3, rows.size());
    assertEquals("met", rows.getJsonObject(0).getString("status"));
    assertEquals("0 / 40", rows.getJsonObject(0).getString("measuredText"));
    assertEquals("not met", rows.getJsonObject(1).getString("status"));
    assertEquals("met", rows.getJsonObject(2).getString("status"));
  }
}
