package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cluster-partition's target rows, from synthetic scenarios: no namespace, no node. */
class ClusterPartitionTest {

  @Test
  @DisplayName("not asked for: no target rows, so that --smoke's count stays what it was")
  void notAskedForAddsNoRows() {
    JsonArray scenarios = new JsonArray().add(new JsonObject().put("name", Bench.FAST_UNCACHED));

    assertEquals(0, ClusterPartition.targets(scenarios).size());
  }

  @Test
  @DisplayName("namespaces unavailable: every target is 'not measured' with the reason, none passes")
  void unavailableIsNotMeasured() {
    JsonArray rows = ClusterPartition.targets(scenario(new JsonObject()
      .put("notMeasured", "network namespaces cannot be created here: ip netns add failed")));

    assertEquals(4, rows.size());
    for (JsonObject row : objects(rows)) {
      assertEquals("not measured", row.getString("status"), row.encode());
      assertTrue(row.getString("margin").contains("ip netns add failed"), row.encode());
    }
  }

  @Test
  @DisplayName("a measured run: peak against 2·B + 3·P, recovery against timeout + grace + 10 s, non-200 reads, the"
    + " cut-off node's largest pool against its share before the cut")
  void measuredRunSaysMetOrNot() {
    JsonObject met = figures(17, 12_000L, 0, 4, 4);
    assertEquals(List.of("met", "met", "met", "met"), statuses(met));

    JsonObject missed = figures(23, 12_000L, 2, 4, 8);
    assertEquals(List.of("not met", "met", "not met", "not met"), statuses(missed));
  }

  @Test
  @DisplayName("recovery that never came within the wait is 'not met', not 'n/a'; figures missing after that failure"
    + " are 'not measured' with the failure")
  void failedRecoveryIsNotMet() {
    JsonObject failed = figures(15, null, null, 4, 4).put("recoveryTimedOutMs", 90_100L)
      .put("failed", "one cluster again: not within 90 s");
    List<JsonObject> rows = objects(ClusterPartition.targets(scenario(failed)));

    assertEquals("not met", rows.get(1).getString("status"));
    assertEquals("> 90100 ms", rows.get(1).getString("measuredText"));
    assertEquals("not measured", rows.get(2).getString("status"));
    assertTrue(rows.get(2).getString("margin").contains("not within 90 s"), rows.get(2).encode());
    assertEquals("met", rows.get(0).getString("status"));
  }

  private static JsonObject figures(long peak, Long recoveredMs, Integer non200, int shareBefore, int largestHeld) {
    return new JsonObject().put("peakConnections", peak).put("bound", ClusterBudget.bound(8, 2))
      .put("recoveredAfterHealMs", recoveredMs).put("non200AfterRecovery", non200).put("shareBeforeCut", shareBefore)
      .put("minority", new JsonObject().put("largestMaxSize", shareBefore).put("largestHeld", largestHeld));
  }

  private static List<String> statuses(JsonObject figures) {
    return objects(ClusterPartition.targets(scenario(figures))).stream().map(r -> r.getString("status")).toList();
  }

  private static JsonArray scenario(JsonObject figures) {
    return new JsonArray().add(new JsonObject().put("name", ClusterPartition.CLUSTER_PARTITION)
      .put("clusterPartition", figures));
  }

  private static List<JsonObject> objects(JsonArray array) {
    return array.stream().map(JsonObject.class::cast).toList();
  }
}
