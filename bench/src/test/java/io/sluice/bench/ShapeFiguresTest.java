package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shape scenarios' ratios, checks and target rows, from synthetic scenarios: no service, no load. */
class ShapeFiguresTest {

  @Test
  @DisplayName("ratios, cluster.idle503 and cache.repeatHits come from their scenarios under their stable names")
  void figuresUnderStableNames() {
    JsonArray scenarios = scenarios(3, 0.25, 47, 0.6);

    JsonObject ratios = ShapeFigures.ratios(scenarios);
    assertEquals(0.25, ratios.getDouble("eightLoopsSlowClientFastKept"));
    assertEquals(0.6, ratios.getDouble("overloadOpenGoodputVsCapacity"));
    assertEquals(new JsonObject().put("idle503", 3L).put("idleReads", 300L), ShapeFigures.cluster(scenarios));
    assertEquals(new JsonObject().put("repeatHits", 47L).put("repeatReads", 50L), ShapeFigures.cache(scenarios));
  }

  @Test
  @DisplayName("each shape target says met or not met; a count whose goal is 0 says how many too many")
  void targetsSayMetOrNot() {
    Map<String, JsonObject> missed = rows(scenarios(3, 0.25, 47, 0.6));
    JsonObject idle = row(missed, "cluster-idle");
    assertEquals("not met", idle.getString("status"));
    assertEquals("3 too many", idle.getString("margin"));
    assertEquals("3 / 300", idle.getString("measuredText"));
    assertEquals("not met", row(missed, "cluster-slow").getString("status"));
    JsonObject repeat = row(missed, "cache-repeat");
    assertEquals("not met", repeat.getString("status"));
    assertEquals("47 / 50", repeat.getString("measuredText"));
    assertEquals("not met", row(missed, "goodput").getString("status"));
    assertEquals("not met", row(missed, "successes p99").getString("status"));
    assertEquals("met", row(missed, "rejections (503) p99").getString("status"));

    Map<String, JsonObject> met = rows(scenarios(0, 0.9, 50, 0.97));
    assertTrue(met.values().stream().allMatch(r -> r.getString("status").equals("met")
      || r.getString("target").contains("successes p99")), "" + met);
    assertEquals("none", row(met, "cluster-idle").getString("margin"));
  }

  @Test
  @DisplayName("shape scenarios that did not run leave their figures null and their targets n/a")
  void notRunIsNotApplicable() {
    JsonArray none = new JsonArray().add(new JsonObject().put("name", Bench.FAST_UNCACHED));

    assertNull(ShapeFigures.ratios(none).getDouble("eightLoopsSlowClientFastKept"));
    assertNull(ShapeFigures.cluster(none).getLong("idle503"));
    assertEquals(6, ShapeFigures.targets(none).size());
    assertTrue(ShapeFigures.targets(none).stream().map(JsonObject.class::cast)
      .allMatch(r -> r.getString("status").equals("n/a")));
    JsonObject comparison = new JsonObject();
    ShapeFigures.addOpenLoop(comparison, none);
    assertFalse(comparison.containsKey("sluiceOpenLoop"), "no open-loop row without the scenario");
  }

  private static Map<String, JsonObject> rows(JsonArray scenarios) {
    return ShapeFigures.targets(scenarios).stream().map(JsonObject.class::cast)
      .collect(Collectors.toMap(r -> r.getString("target"), r -> r));
  }

  private static JsonObject row(Map<String, JsonObject> rows, String part) {
    return rows.entrySet().stream().filter(e -> e.getKey().contains(part)).findFirst().orElseThrow().getValue();
  }

  private static JsonArray scenarios(long idle503, double kept, long hits, double goodput) {
    JsonObject idle = new JsonObject().put("name", ShapeScenarios.CLUSTER_IDLE)
      .put("clusterIdle", new JsonObject().put("reads", 300L).put("count503", idle503));
    JsonObject slow = new JsonObject().put("name", ShapeScenarios.CLUSTER_SLOW)
      .put("slowLane", new JsonObject().put("fastLaneKept", kept));
    JsonObject repeat = new JsonObject().put("name", ShapeScenarios.CACHE_REPEAT)
      .put("cacheRepeat", new JsonObject().put("ids", 50L).put("repeatHits", hits));
    JsonObject open = new JsonObject().put("name", ShapeScenarios.OVERLOAD_OPEN)
      .put("openLoop", new JsonObject().put("goodputFractionOfCapacity", goodput).put("goodputPerSecond", goodput * 100)
        .put("successLatencyMs", new JsonObject().put("p50", 700.0).put("p90", 1000.0).put("p99", 1500.0))
        .put("rejectionLatencyMs", new JsonObject().put("p50", 2.0).put("p99", 20.0))
        .put("rejections503", 1000L).put("timeouts504", 0L));
    return new JsonArray().add(idle).add(slow).add(repeat).add(open);
  }
}
