package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;

/**
 * Sluice against its peers in the same run, and against issue 11's targets: the report's {@code ratios},
 * {@code overloadComparison}, {@code slowLaneComparison}, {@code peakRssMiB} and {@code targets}, computed from its
 * scenarios only. The names are
 * stable (bench/README.md lists them): scripts compare runs by them. A figure that could not be measured is null, and
 * its target "n/a", rather than a failed run.
 */
final class Comparison {

  /** Issue 11's targets for the 2-core build machine. */
  static final double FAST_VS_DIRECT_GOAL = 1.0;
  static final double FAST_VS_DIRECT_FLOOR = 0.9;
  static final double FAST_VS_BLOCKING_GOAL = 1.5;
  static final double CACHED_VS_BLOCKING_GOAL = 3.0;
  static final double OVERLOAD_GOODPUT_GOAL = 0.95;
  static final double OVERLOAD_SUCCESS_P99_MS_LIMIT = 1100;
  static final double OVERLOAD_REJECTION_P99_MS_LIMIT = 50;
  static final double RSS_VS_BLOCKING_LIMIT = 1.5;
  /** Slow lane: the fast lane keeps this share of its throughput with the rows locked … */
  static final double SLOW_LANE_FAST_KEPT_GOAL = 0.9;
  /** … its p99 grows by at most this factor … */
  static final double SLOW_LANE_P99_RATIO_LIMIT = 2.0;
  /** … and after the ROLLBACK the writes are back at their normal rate within this. */
  static final double SLOW_LANE_RECOVERY_MS_LIMIT = 2000;

  /** Issue 20: a cached read costs at most a quarter more than the same process's trivial HTTP answer. */
  static final double CACHED_VS_LIVE_GOAL = 0.8;
  /** Issue 20: fast-uncached's p99 no higher than the direct peer's. */
  static final double FAST_P99_VS_DIRECT_LIMIT = 1.0;

  private Comparison() {
  }

  /** Throughput and RSS ratios (Sluice / peer), and each program's overload goodput over the pool's capacity. */
  static JsonObject ratios(JsonArray scenarios) {
    JsonObject fast = find(scenarios, Bench.FAST_UNCACHED);
    JsonObject cached = find(scenarios, Bench.CACHED);
    JsonObject rss = peakRssMiB(scenarios);
    JsonObject overload = overloadComparison(scenarios);
    JsonObject clustered = find(scenarios, Bench.CLUSTERED);
    JsonObject slowLane = find(scenarios, Bench.SLOW_LANE).getJsonObject("slowLane", new JsonObject());
    return new JsonObject()
      .put("fastUncachedVsDirect", Bench.ratio(throughput(fast), throughput(peer(fast, Bench.DIRECT))))
      .put("fastUncachedVsBlocking", Bench.ratio(throughput(fast), throughput(peer(fast, Bench.BLOCKING))))
      .put("cachedVsBlocking", Bench.ratio(throughput(cached), throughput(peer(cached, Bench.BLOCKING))))
      .put("cachedVsLive", Bench.ratio(throughput(cached), throughput(cached.getJsonObject("live",
        new JsonObject()))))
      .put("fastUncachedP99VsDirect", Bench.ratio(latency(fast, "p99"), latency(peer(fast, Bench.DIRECT), "p99")))
      .put("overloadGoodputVsCapacity", overload.getJsonObject(Bench.SLUICE).getDouble("goodputVsCapacity"))
      .put("overloadGoodputVsCapacityBlocking",
        overload.getJsonObject(Bench.BLOCKING).getDouble("goodputVsCapacity"))
      .put("rssVsBlocking", Bench.ratio(rss.getDouble(Bench.SLUICE), rss.getDouble(Bench.BLOCKING)))
      .put("clusteredVsSingle", Bench.ratio(throughput(clustered), throughput(fast)))
      .put("clusteredP50VsSingle", Bench.ratio(latency(clustered, "p50"), latency(fast, "p50")))
      .put("clusteredP99VsSingle", Bench.ratio(latency(clustered, "p99"), latency(fast, "p99")))
      .put("slowLaneFastKept", slowLane.getDouble("fastKept"))
      .put("slowLaneP99Ratio", slowLane.getDouble("p99Ratio"));
  }

  /**
   * One scenario against each of its peers: {@code throughputVsDirect}, {@code peakRssVsBlocking} …, and under overload
   * {@code goodputVsBlocking}. Stored in the scenario as {@code ratios}.
   */
  static JsonObject scenarioRatios(JsonObject scenario) {
    JsonObject ratios = new JsonObject();
    JsonObject peers = scenario.getJsonObject("peers", new JsonObject());
    for (String name : peers.fieldNames()) {
      JsonObject peer = peers.getJsonObject(name);
      String suffix = Character.toUpperCase(name.charAt(0)) + name.substring(1);
      ratios.put("throughputVs" + suffix, Bench.ratio(throughput(scenario), throughput(peer)));
      ratios.put("peakRssVs" + suffix, Bench.ratio(rss(scenario), rss(peer)));
      if (scenario.containsKey("overload")) {
        ratios.put("goodputVs" + suffix, Bench.ratio(
          scenario.getJsonObject("overload").getDouble("goodputPerSecond"),
          peer.getJsonObject("overload", new JsonObject()).getDouble("goodputPerSecond")));
      }
    }
    return ratios;
  }

  /** Under 3× overload, for Sluice and for the blocking peer: goodput, latencies of successes and rejections, 504s. */
  static JsonObject overloadComparison(JsonArray scenarios) {
    JsonObject overload = find(scenarios, Bench.OVERLOAD);
    return new JsonObject().put(Bench.SLUICE, overloadFigures(overload))
      .put(Bench.BLOCKING, overloadFigures(peer(overload, Bench.BLOCKING)));
  }

  private static JsonObject overloadFigures(JsonObject scenario) {
    JsonObject o = orEmpty(scenario == null ? null : scenario.getJsonObject("overload"));
    // A latency is null, not absent, when there was no such answer (no rejection in a short run, say).
    JsonObject ok = orEmpty(o.getJsonObject("successLatencyMs"));
    JsonObject rejected = orEmpty(o.getJsonObject("rejectionLatencyMs"));
    return new JsonObject().put("goodputPerSecond", o.getDouble("goodputPerSecond"))
      .put("goodputVsCapacity", o.getDouble("goodputFractionOfCapacity"))
      .put("successP50Ms", ok.getDouble("p50")).put("successP99Ms", ok.getDouble("p99"))
      .put("rejectionP50Ms", rejected.getDouble("p50")).put("rejectionP99Ms", rejected.getDouble("p99"))
      .put("count503", o.getLong("rejections503")).put("count504", o.getLong("timeouts504"));
  }

  /**
   * The slow lane, for Sluice and each peer: the fast lane's throughput and p99 alone and with the rows locked, their
   * ratios, the writers' answers with the rows locked by status, the late answers of all phases, and the recovery.
   */
  static JsonObject slowLaneComparison(JsonArray scenarios) {
    JsonObject slowLane = find(scenarios, Bench.SLOW_LANE);
    return new JsonObject().put(Bench.SLUICE, slowLaneFigures(slowLane))
      .put(Bench.BLOCKING, slowLaneFigures(peer(slowLane, Bench.BLOCKING)))
      .put(Bench.DIRECT, slowLaneFigures(peer(slowLane, Bench.DIRECT)));
  }

  private static JsonObject slowLaneFigures(JsonObject scenario) {
    JsonObject s = orEmpty(scenario.getJsonObject("slowLane"));
    return new JsonObject().put("fastAlonePerSecond", s.getDouble("fastAlonePerSecond"))
      .put("fastWithSlowPerSecond", s.getDouble("fastWithSlowPerSecond")).put("fastKept", s.getDouble("fastKept"))
      .put("p99AloneMs", s.getDouble("p99AloneMs")).put("p99WithSlowMs", s.getDouble("p99WithSlowMs"))
      .put("p99Ratio", s.getDouble("p99Ratio")).put("fastLaneStarved", s.getBoolean("fastLaneStarved"))
      .put("writerAnswers", s.getJsonObject("writerAnswers"))
      .put("late", s.getLong("late")).put("recovered", s.getBoolean("recovered"))
      .put("recoveryMs", s.getLong("recoveryMs"));
  }

  private static JsonObject orEmpty(JsonObject json) {
    return json == null ? new JsonObject() : json;
  }

  /**
   * The highest peak RSS (VmHWM) of each program's processes over the run, in MiB; null when none was read. Sluice's
   * is that of its single processes, which the RSS target is about (a cluster's nodes are left out: {@code clustered},
   * {@code cluster-idle}); {@code clustered} is the highest of that cluster's nodes.
   */
  static JsonObject peakRssMiB(JsonArray scenarios) {
    Double sluice = null;
    Double direct = null;
    Double blocking = null;
    for (int i = 0; i < scenarios.size(); i++) {
      JsonObject s = scenarios.getJsonObject(i);
      if (!Bench.CLUSTERED.equals(s.getString("name"))
        && !s.getJsonObject("process", new JsonObject()).containsKey("nodes")) {
        sluice = max(sluice, rss(s));
      }
      direct = max(direct, rss(peer(s, Bench.DIRECT)));
      blocking = max(blocking, rss(peer(s, Bench.BLOCKING)));
    }
    return new JsonObject().put(Bench.SLUICE, sluice).put(Bench.DIRECT, direct).put(Bench.BLOCKING, blocking)
      .put(Bench.CLUSTERED, rss(find(scenarios, Bench.CLUSTERED)));
  }

  /** One row per target of issue 11: goal, measured value, status ({@code met}, {@code not met} …) and margin. */
  static JsonArray targets(JsonObject ratios, JsonObject overload, JsonObject slowLane) {
    JsonObject sluice = overload.getJsonObject(Bench.SLUICE);
    JsonArray rows = new JsonArray();
    Double vsDirect = ratios.getDouble("fastUncachedVsDirect");
    JsonObject direct = atLeast("fast-uncached vs direct peer (throughput)", "≥ 1.0× (0.9× floor)", vsDirect,
      FAST_VS_DIRECT_GOAL, "×");
    if (vsDirect != null && vsDirect < FAST_VS_DIRECT_GOAL && vsDirect >= FAST_VS_DIRECT_FLOOR) {
      direct.put("status", "floor met, target not");
    }
    rows.add(direct);
    rows.add(atLeast("fast-uncached vs blocking peer (throughput)", "≥ 1.5×",
      ratios.getDouble("fastUncachedVsBlocking"), FAST_VS_BLOCKING_GOAL, "×"));
    rows.add(atLeast("cached vs blocking peer with its cache (throughput)", "≥ 3×",
      ratios.getDouble("cachedVsBlocking"), CACHED_VS_BLOCKING_GOAL, "×"));
    rows.add(atLeast("cached read vs the same process's /health/live (throughput)", "≥ 0.8×",
      ratios.getDouble("cachedVsLive"), CACHED_VS_LIVE_GOAL, "×"));
    rows.add(atMost("fast-uncached p99 vs direct peer's p99", "≤ 1.0×", ratios.getDouble("fastUncachedP99VsDirect"),
      FAST_P99_VS_DIRECT_LIMIT, "×"));
    rows.add(atLeast("overload: goodput / pool capacity", "≥ 0.95", sluice.getDouble("goodputVsCapacity"),
      OVERLOAD_GOODPUT_GOAL, ""));
    rows.add(atMost("overload: successes p99", "≤ 1100 ms", sluice.getDouble("successP99Ms"),
      OVERLOAD_SUCCESS_P99_MS_LIMIT, " ms"));
    rows.add(rejectionP99("overload: rejections (503) p99", sluice));
    rows.add(new JsonObject().put("target", "overload: every statement stopped on the server within 1 s of its"
        + " deadline").put("goal", "≤ 1 s").putNull("measured").put("status", "not measured by the bench")
      .put("margin", "a test's job: the bench sees only processlist samples"));
    rows.add(atMost("peak RSS vs blocking peer (same -Xmx)", "≤ 1.5×", ratios.getDouble("rssVsBlocking"),
      RSS_VS_BLOCKING_LIMIT, "×"));
    JsonObject lane = slowLane.getJsonObject(Bench.SLUICE, new JsonObject());
    rows.add(atLeast("slow lane: fast-lane throughput kept with the rows locked (with-slow / alone)", "≥ 0.9",
      ratios.getDouble("slowLaneFastKept"), SLOW_LANE_FAST_KEPT_GOAL, ""));
    JsonObject p99 = atMost("slow lane: fast-lane p99 with the rows locked / alone", "≤ 2.0×",
      ratios.getDouble("slowLaneP99Ratio"), SLOW_LANE_P99_RATIO_LIMIT, "×");
    if (Boolean.TRUE.equals(lane.getBoolean("fastLaneStarved"))) {
      p99.put("measuredText", "no answer").put("status", "not met")
        .put("margin", "the fast lane got no answer at all with the rows locked");
    }
    rows.add(p99);
    rows.add(none("slow lane: writes answered after their deadline + " + Bench.SLOW_LANE_SLACK_MS + " ms (late)",
      lane.getLong("late")));
    rows.add(recovery(lane));
    return rows;
  }

  /** A count whose goal is 0: met or not, and how many; no percentage of a zero goal. */
  private static JsonObject none(String target, Long measured) {
    JsonObject row = new JsonObject().put("target", target).put("goal", "0").put("measured", measured)
      .put("measuredText", measured == null ? "n/a" : String.valueOf(measured)).put("status", "n/a")
      .put("margin", "not measured in this run");
    if (measured != null) {
      row.put("status", measured == 0 ? "met" : "not met")
        .put("margin", measured == 0 ? "none" : measured + " more than the goal");
    }
    return row;
  }

  /** Recovery within the limit; not back at all within the released phase is "not met", not "n/a". */
  private static JsonObject recovery(JsonObject lane) {
    String target = "slow lane: writes back at " + Math.round(Bench.SLOW_LANE_BACK_FRACTION * 100)
      + " % of their normal rate after the ROLLBACK";
    Long ms = lane.getLong("recoveryMs");
    JsonObject row = atMost(target, "≤ 2000 ms", ms == null ? null : ms.doubleValue(), SLOW_LANE_RECOVERY_MS_LIMIT,
      " ms");
    if (ms == null && Boolean.FALSE.equals(lane.getBoolean("recovered"))) {
      row.put("measuredText", "> " + Bench.SLOW_LANE_RELEASED.toMillis() + " ms").put("status", "not met")
        .put("margin", "not back within the " + Bench.SLOW_LANE_RELEASED.toSeconds() + " s the phase ran");
    }
    return row;
  }

  static JsonObject atLeast(String target, String goalText, Double measured, double goal, String unit) {
    JsonObject row = row(target, goalText, measured, unit);
    if (measured != null) {
      double percent = (measured / goal - 1) * 100;
      row.put("status", measured >= goal ? "met" : "not met").put("marginPercent", Bench.round(percent))
        .put("margin", measured >= goal ? String.format(Locale.ROOT, "%.1f %% above the goal", percent)
          : String.format(Locale.ROOT, "%.1f %% short of the goal", -percent));
    }
    return row;
  }

  /**
   * The p99 of an overload's rejections (≤ 50 ms). A run that measured its goodput and refused nothing at all has no
   * rejection to be slow: met, shown as "no 503".
   */
  static JsonObject rejectionP99(String target, JsonObject figures) {
    JsonObject row = atMost(target, "≤ 50 ms", figures.getDouble("rejectionP99Ms"), OVERLOAD_REJECTION_P99_MS_LIMIT,
      " ms");
    Long count = figures.getLong("count503");
    if (figures.getDouble("rejectionP99Ms") == null && count != null && count == 0
      && figures.getDouble("goodputVsCapacity") != null) {
      row.put("status", "met").put("measuredText", "no 503").put("margin", "not one request was refused");
    }
    return row;
  }

  static JsonObject atMost(String target, String goalText, Double measured, double limit, String unit) {
    JsonObject row = row(target, goalText, measured, unit);
    if (measured != null) {
      double percent = (measured / limit - 1) * 100;
      row.put("status", measured <= limit ? "met" : "not met").put("marginPercent", Bench.round(percent))
        .put("margin", measured <= limit ? String.format(Locale.ROOT, "%.1f %% under the limit", -percent)
          : String.format(Locale.ROOT, "%.1f %% over the limit", percent));
    }
    return row;
  }

  private static JsonObject row(String target, String goalText, Double measured, String unit) {
    return new JsonObject().put("target", target).put("goal", goalText).put("measured", measured)
      .put("measuredText", measured == null ? "n/a" : BenchReport.number(measured, unit.isEmpty() ? 3 : 2) + unit)
      .put("status", "n/a").put("margin", "not measured in this run");
  }

  static JsonObject peer(JsonObject scenario, String name) {
    return scenario.getJsonObject("peers", new JsonObject()).getJsonObject(name, new JsonObject());
  }

  private static Double throughput(JsonObject scenario) {
    return scenario.getDouble("throughputPerSecond");
  }

  private static Double latency(JsonObject scenario, String percentile) {
    return orEmpty(scenario.getJsonObject("latencyMs")).getDouble(percentile);
  }

  private static Double rss(JsonObject scenario) {
    return scenario.getJsonObject("process", new JsonObject()).getDouble("peakRssMiB");
  }

  /** The larger of two, either of which may be null (a ternary would unbox the null). */
  private static Double max(Double a, Double b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    return Math.max(a, b);
  }

  static JsonObject find(JsonArray scenarios, String name) {
    for (int i = 0; i < scenarios.size(); i++) {
      if (name.equals(scenarios.getJsonObject(i).getString("name"))) {
        return scenarios.getJsonObject(i);
      }
    }
    return new JsonObject();
  }
}
