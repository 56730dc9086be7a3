package io.sluice.bench;

import io.sluice.contract.ProxyContract;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cluster-trust's counter reading and target rows, from synthetic text and scenarios: no cluster, no load. */
class ClusterTrustTest {

  /** As Sluice's registry writes them: the address label on, the side label off. */
  private static final String METRICS = """
    # HELP vertx_eventbus_received_total Number of messages received
    # TYPE vertx_eventbus_received_total counter
    vertx_eventbus_received_total{address="%1$s",} 1903.0
    vertx_eventbus_received_total{address="sluice.other",} 7.0
    vertx_eventbus_bytes_read_count{address="%1$s",} 1902.0
    vertx_eventbus_bytes_read_sum{address="%1$s",} 431000.0
    vertx_eventbus_bytes_read_max{address="%1$s",} 300.0
    vertx_eventbus_bytes_read_count{address="sluice.other",} 7.0
    """.formatted(ProxyContract.ADDRESS);

  @Test
  @DisplayName("messages from the wire on the proxy address: the bytes-read count, other addresses and series left out")
  void countsTheProxyAddressFromTheWire() {
    assertEquals(1902L, ClusterTrust.fromWire(METRICS));
    assertEquals(1903L, ClusterTrust.receivedAll(METRICS));
  }

  @Test
  @DisplayName("a node without a series of the proxy address read nothing from the wire")
  void noSeriesIsZero() {
    assertEquals(0L, ClusterTrust.fromWire("# nothing yet\n"));
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
