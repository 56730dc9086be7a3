package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The ratios and target rows, from synthetic scenarios: no service, no load. */
class ComparisonTest {

  @Test
  @DisplayName("ratios divide Sluice's figures by the peers' under their stable names; RSS takes each program's peak")
  void ratiosUnderStableNames() {
    JsonObject ratios = Comparison.ratios(scenarios());

    assertEquals(0.95, ratios.getDouble("fastUncachedVsDirect"));
    assertEquals(2.0, ratios.getDouble("fastUncachedVsBlocking"));
    assertEquals(4.0, ratios.getDouble("cachedVsBlocking"));
    assertEquals(0.97, ratios.getDouble("overloadGoodputVsCapacity"));
    assertEquals(0.5, ratios.getDouble("overloadGoodputVsCapacityBlocking"));
    assertEquals(1.2, ratios.getDouble("rssVsBlocking"), "max Sluice 240 MiB / max blocking 200 MiB");
  }

  @Test
  @DisplayName("each scenario's ratios name the peer they compare with")
  void scenarioRatiosNameThePeer() {
    JsonObject overload = scenarios().getJsonObject(2);

    JsonObject ratios = Comparison.scenarioRatios(overload);

    assertEquals(new JsonObject().put("throughputVsBlocking", 8.333).put("peakRssVsBlocking", 1.222)
      .put("goodputVsBlocking", 1.94), ratios);
  }

  @Test
  @DisplayName("each target says met, not met or floor met, and by how much")
  void targetsSayMetAndByHowMuch() {
    Map<String, JsonObject> rows = targets(scenarios());

    JsonObject direct = rows.get("fast-uncached vs direct peer (throughput)");
    assertEquals("floor met, target not", direct.getString("status"));
    assertEquals(-5.0, direct.getDouble("marginPercent"));
    assertEquals("met", rows.get("cached vs blocking peer with its cache (throughput)").getString("status"));
    JsonObject p99 = rows.get("overload: successes p99");
    assertEquals("not met", p99.getString("status"));
    assertEquals("20.0 % over the limit", p99.getString("margin"));
    assertEquals("met", rows.get("overload: rejections (503) p99").getString("status"));
    assertEquals("met", rows.get("peak RSS vs blocking peer (same -Xmx)").getString("status"));
  }

  @Test
  @DisplayName("clustered against the single process: throughput and p50/p99 ratios; its nodes stay out of Sluice's"
    + " RSS, which the RSS target is about")
  void clusteredAgainstTheSingleProcess() {
    JsonArray scenarios = scenarios();
    scenarios.getJsonObject(0).put("latencyMs", new JsonObject().put("p50", 4.0).put("p99", 20.0));
    scenarios.add(scenario(Bench.CLUSTERED, 570, 300).put("latencyMs", new JsonObject().put("p50", 6.0)
      .put("p99", 50.0)));

    JsonObject ratios = Comparison.ratios(scenarios);

    assertEquals(0.6, ratios.getDouble("clusteredVsSingle"), "570 / 950");
    assertEquals(1.5, ratios.getDouble("clusteredP50VsSingle"));
    assertEquals(2.5, ratios.getDouble("clusteredP99VsSingle"));
    assertEquals(1.2, ratios.getDouble("rssVsBlocking"), "the clustered nodes' 300 MiB not counted");
    assertEquals(300.0, Comparison.peakRssMiB(scenarios).getDouble(Bench.CLUSTERED));
  }

  @Test
  @DisplayName("a peer that did not run leaves its ratios null and its targets n/a instead of failing the report")
  void missingPeerIsNotApplicable() {
    JsonArray scenarios = new JsonArray().add(new JsonObject().put("name", Bench.FAST_UNCACHED)
      .put("throughputPerSecond", 100.0));
    JsonObject ratios = Comparison.ratios(scenarios);

    assertNull(ratios.getDouble("fastUncachedVsDirect"));
    assertNull(ratios.getDouble("clusteredVsSingle"), "no clustered scenario in this run");
    JsonArray targets = Comparison.targets(ratios, Comparison.overloadComparison(scenarios),
      Comparison.slowLaneComparison(scenarios));
    assertEquals("n/a", targets.getJsonObject(0).getString("status"));
    assertNull(ratios.getDouble("slowLaneFastKept"), "no slow-lane scenario in this run");
    for (int i = targets.size() - 4; i < targets.size(); i++) {
      assertEquals("n/a", targets.getJsonObject(i).getString("status"), targets.getJsonObject(i).encode());
    }
  }

  @Test
  @DisplayName("slow lane: the fast lane's kept throughput and p99 ratio under their stable names, and its four"
    + " targets met or not")
  void slowLaneRatiosAndTargets() {
    JsonArray scenarios = scenarios();
    scenarios.add(slowLane(0.95, 2.5, 0, 750L));

    JsonObject ratios = Comparison.ratios(scenarios);
    Map<String, JsonObject> rows = targets(scenarios);

    assertEquals(0.95, ratios.getDouble("slowLaneFastKept"));
    assertEquals(2.5, ratios.getDouble("slowLaneP99Ratio"));
    assertEquals("met", rows.get("slow lane: fast-lane throughput kept with the rows locked (with-slow / alone)")
      .getString("status"));
    JsonObject p99 = rows.get("slow lane: fast-lane p99 with the rows locked / alone");
    assertEquals("not met", p99.getString("status"));
    assertEquals("25.0 % over the limit", p99.getString("margin"));
    JsonObject late = rows.get("slow lane: writes answered after their deadline + 250 ms (late)");
    assertEquals("met", late.getString("status"));
    assertEquals("0", late.getString("measuredText"));
    JsonObject recovery = rows.get("slow lane: writes back at 80 % of their normal rate after the ROLLBACK");
    assertEquals("met", recovery.getString("status"));
    assertEquals(750.0, recovery.getDouble("measured"));
    JsonObject blocking = Comparison.slowLaneComparison(scenarios).getJsonObject(Bench.BLOCKING);
    assertEquals(0.5, blocking.getDouble("fastKept"), "each peer's figures beside Sluice's");
  }

  @Test
  @DisplayName("slow lane: late writes and writes never back within the released phase are \"not met\", not n/a")
  void slowLaneLateAndNeverBackAreNotMet() {
    JsonArray scenarios = scenarios();
    scenarios.add(slowLane(0.5, 10.0, 12, null));

    Map<String, JsonObject> rows = targets(scenarios);

    JsonObject late = rows.get("slow lane: writes answered after their deadline + 250 ms (late)");
    assertEquals("not met", late.getString("status"));
    assertEquals("12 more than the goal", late.getString("margin"));
    JsonObject recovery = rows.get("slow lane: writes back at 80 % of their normal rate after the ROLLBACK");
    assertEquals("not met", recovery.getString("status"));
    assertEquals("> 5000 ms", recovery.getString("measuredText"));
    assertNull(recovery.getDouble("measured"));
  }

  @Test
  @DisplayName("slow lane: a fast lane starved of every answer has no p99 to divide, and misses the p99 target")
  void starvedFastLaneMissesTheP99Target() {
    JsonArray scenarios = scenarios();
    JsonObject starved = slowLane(0, 1, 0, 250L);
    starved.getJsonObject("slowLane").putNull("p99WithSlowMs").putNull("p99Ratio").put("fastLaneStarved", true);
    scenarios.add(starved);

    JsonObject p99 = targets(scenarios).get("slow lane: fast-lane p99 with the rows locked / alone");

    assertEquals("not met", p99.getString("status"));
    assertEquals("no answer", p99.getString("measuredText"));
  }

  private static Map<String, JsonObject> targets(JsonArray scenarios) {
    JsonObject ratios = Comparison.ratios(scenarios);
    return Comparison.targets(ratios, Comparison.overloadComparison(scenarios),
        Comparison.slowLaneComparison(scenarios)).stream()
      .map(JsonObject.class::cast).collect(Collectors.toMap(r -> r.getString("target"), r -> r));
  }

  /** A slow-lane scenario whose Sluice figures are these, with a blocking peer that kept half its fast lane. */
  private static JsonObject slowLane(double kept, double p99Ratio, long late, Long recoveryMs) {
    return scenario(Bench.SLOW_LANE, 900 * kept, 230).put("slowLane", lane(kept, p99Ratio, late, recoveryMs))
      .put("peers", new JsonObject().put(Bench.BLOCKING, scenario(Bench.BLOCKING, 200, 190)
        .put("slowLane", lane(0.5, 8.0, 40, 1250L))));
  }

  private static JsonObject lane(double kept, double p99Ratio, long late, Long recoveryMs) {
    return new JsonObject().put("fastAlonePerSecond", 900.0).put("fastWithSlowPerSecond", 900 * kept)
      .put("fastKept", kept).put("p99AloneMs", 10.0).put("p99WithSlowMs", 10 * p99Ratio).put("p99Ratio", p99Ratio)
      .put("writerAnswers", new JsonObject().put("200", 0L).put("503", 100L).put("504", late).put("other", 0L))
      .put("late", late).put("recovered", recoveryMs != null).put("recoveryMs", recoveryMs);
  }

  private static JsonArray scenarios() {
    JsonObject fast = scenario(Bench.FAST_UNCACHED, 950, 240).put("peers", new JsonObject()
      .put(Bench.DIRECT, scenario(Bench.DIRECT, 1000, 150)).put(Bench.BLOCKING, scenario(Bench.BLOCKING, 475, 200)));
    JsonObject cached = scenario(Bench.CACHED, 4000, 230).put("peers", new JsonObject()
      .put(Bench.BLOCKING, scenario(Bench.BLOCKING, 1000, 190)));
    JsonObject overload = scenario(Bench.OVERLOAD, 500, 220).put("overload", overload(0.97, 1320, 8))
      .put("peers", new JsonObject().put(Bench.BLOCKING, scenario(Bench.BLOCKING, 60, 180)
        .put("overload", overload(0.5, 3000, 2500))));
    return new JsonArray().add(fast).add(cached).add(overload);
  }

  private static JsonObject scenario(String name, double throughput, double rssMiB) {
    return new JsonObject().put("name", name).put("throughputPerSecond", throughput)
      .put("process", new JsonObject().put("peakRssMiB", rssMiB));
  }

  private static JsonObject overload(double goodput, double successP99, double rejectionP99) {
    return new JsonObject().put("goodputFractionOfCapacity", goodput).put("goodputPerSecond", goodput * 100)
      .put("successLatencyMs", new JsonObject().put("p50", successP99 / 2).put("p99", successP99))
      .put("rejectionLatencyMs", new JsonObject().put("p50", rejectionP99 / 2).put("p99", rejectionP99))
      .put("rejections503", 10L).put("timeouts504", 1L);
  }
}
