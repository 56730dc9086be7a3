package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The shape scenarios' figures ({@link ShapeScenarios}) in the report: ratios, the top-level {@code cluster} and
 * {@code cache} checks, the open loop's row of the overload comparison, target rows, and their Markdown. Computed from
 * the scenarios' JSON only, like {@link Comparison}; the names are stable (bench/README.md lists them), and a figure
 * of a scenario that did not run is null, its target "n/a".
 */
final class ShapeFigures {

  static final double SLOW_CLIENT_FAST_KEPT_GOAL = 0.8;

  private ShapeFigures() {
  }

  /** {@code eightLoopsSlowClientFastKept} and {@code overloadOpenGoodputVsCapacity}, merged into {@code ratios}. */
  static JsonObject ratios(JsonArray scenarios) {
    return new JsonObject()
      .put("eightLoopsSlowClientFastKept", section(scenarios, ShapeScenarios.CLUSTER_SLOW, "slowLane")
        .getDouble("fastLaneKept"))
      .put("overloadOpenGoodputVsCapacity", section(scenarios, ShapeScenarios.OVERLOAD_OPEN, "openLoop")
        .getDouble("goodputFractionOfCapacity"));
  }

  /** The report's {@code cluster}: {@code idle503} (target 0) of {@code idleReads} sequential GETs. */
  static JsonObject cluster(JsonArray scenarios) {
    JsonObject idle = section(scenarios, ShapeScenarios.CLUSTER_IDLE, "clusterIdle");
    return new JsonObject().put("idle503", idle.getLong("count503")).put("idleReads", idle.getLong("reads"));
  }

  /** The report's {@code cache}: {@code repeatHits} (target: all) of {@code repeatReads} second reads. */
  static JsonObject cache(JsonArray scenarios) {
    JsonObject repeat = section(scenarios, ShapeScenarios.CACHE_REPEAT, "cacheRepeat");
    return new JsonObject().put("repeatHits", repeat.getLong("repeatHits")).put("repeatReads", repeat.getLong("ids"));
  }

  /**
   * The open loop's row of {@code overloadComparison} ({@code sluiceOpenLoop}): the fields of the closed loop's rows,
   * latencies from the intended send time.
   */
  static JsonObject openLoopComparison(JsonArray scenarios) {
    JsonObject o = section(scenarios, ShapeScenarios.OVERLOAD_OPEN, "openLoop");
    JsonObject ok = orEmpty(o.getJsonObject("successLatencyMs"));
    JsonObject rejected = orEmpty(o.getJsonObject("rejectionLatencyMs"));
    return new JsonObject().put("goodputPerSecond", o.getDouble("goodputPerSecond"))
      .put("goodputVsCapacity", o.getDouble("goodputFractionOfCapacity"))
      .put("successP50Ms", ok.getDouble("p50")).put("successP90Ms", ok.getDouble("p90"))
      .put("successP99Ms", ok.getDouble("p99"))
      .put("rejectionP50Ms", rejected.getDouble("p50")).put("rejectionP99Ms", rejected.getDouble("p99"))
      .put("count503", o.getLong("rejections503")).put("count504", o.getLong("timeouts504"));
  }

  /** Adds {@code sluiceOpenLoop} to the report's {@code overloadComparison} when {@code overload-open} ran. */
  static void addOpenLoop(JsonObject overloadComparison, JsonArray scenarios) {
    if (!Comparison.find(scenarios, ShapeScenarios.OVERLOAD_OPEN).isEmpty()) {
      overloadComparison.put("sluiceOpenLoop", openLoopComparison(scenarios));
    }
  }

  /** One row per shape target, in the form of {@link Comparison#targets}. */
  static JsonArray targets(JsonArray scenarios) {
    JsonArray rows = new JsonArray();
    JsonObject cluster = cluster(scenarios);
    rows.add(none("cluster-idle: 503s among " + ShapeScenarios.CLUSTER_IDLE_READS + " sequential GETs ("
        + ShapeScenarios.CLUSTER_IDLE_PROXY_NODES + " proxy nodes × " + ShapeScenarios.CLUSTER_IDLE_INSTANCES
        + " instances, budget " + ShapeScenarios.CLUSTER_IDLE_BUDGET + ")", cluster.getLong("idle503"),
      cluster.getLong("idleReads")));
    rows.add(Comparison.atLeast("cluster-slow: fast-lane throughput kept beside one slow client ("
        + ShapeScenarios.SLOW_INSTANCES + " loops, pool " + ShapeScenarios.SLOW_POOL + ")", "≥ 0.8",
      ratios(scenarios).getDouble("eightLoopsSlowClientFastKept"), SLOW_CLIENT_FAST_KEPT_GOAL, ""));
    JsonObject cache = cache(scenarios);
    Long hits = cache.getLong("repeatHits");
    Long reads = cache.getLong("repeatReads");
    JsonObject repeat = Comparison.atLeast("cache-repeat: second read of a fresh id is a HIT",
      "all " + ShapeScenarios.REPEAT_IDS, hits == null || reads == null || reads == 0 ? null
        : Bench.round((double) hits / reads), 1.0, "");
    if (hits != null && reads != null) {
      repeat.put("measuredText", hits + " / " + reads);
    }
    rows.add(repeat);
    JsonObject open = openLoopComparison(scenarios);
    String prefix = "overload-open (" + Math.round(ShapeScenarios.OPEN_RATE_PER_SECOND) + "/s, open loop): ";
    rows.add(Comparison.atLeast(prefix + "goodput / pool capacity", "≥ 0.95", open.getDouble("goodputVsCapacity"),
      Comparison.OVERLOAD_GOODPUT_GOAL, ""));
    rows.add(Comparison.atMost(prefix + "successes p99 (from the intended send)", "≤ 1100 ms",
      open.getDouble("successP99Ms"), Comparison.OVERLOAD_SUCCESS_P99_MS_LIMIT, " ms"));
    rows.add(Comparison.rejectionP99(prefix + "rejections (503) p99 (from the intended send)", open));
    return rows;
  }

  /** A count whose goal is 0: met at 0, else not met by that many; no percentage of a zero goal. */
  static JsonObject none(String target, Long measured, Long of) {
    JsonObject row = new JsonObject().put("target", target).put("goal", "0").put("measured", measured)
      .put("measuredText", measured == null ? "n/a" : measured + (of == null ? "" : " / " + of))
      .put("status", "n/a").put("margin", "not measured in this run");
    if (measured != null) {
      row.put("status", measured == 0 ? "met" : "not met")
        .put("margin", measured == 0 ? "none" : measured + " too many");
    }
    return row;
  }

  /** The Summary's key figure of a shape scenario; "" for any other. */
  static String keyFigure(JsonObject s) {
    String name = s.getString("name", "");
    return switch (name) {
      case ShapeScenarios.CLUSTER_IDLE -> {
        JsonObject idle = s.getJsonObject("clusterIdle", new JsonObject());
        yield idle.getLong("count503") + " × 503 of " + idle.getLong("reads") + " sequential GETs (target 0)";
      }
      case ShapeScenarios.CLUSTER_SLOW -> "fast lane kept " + BenchReport.number(s.getJsonObject("slowLane",
        new JsonObject()).getDouble("fastLaneKept"), 3) + " × its throughput alone beside one slow client (target ≥ "
        + SLOW_CLIENT_FAST_KEPT_GOAL + ")";
      case ShapeScenarios.CACHE_REPEAT -> {
        JsonObject repeat = s.getJsonObject("cacheRepeat", new JsonObject());
        yield repeat.getLong("repeatHits") + " / " + repeat.getLong("ids") + " second reads were HIT (target: all)";
      }
      case ShapeScenarios.OVERLOAD_OPEN -> {
        JsonObject o = s.getJsonObject("openLoop", new JsonObject());
        yield "goodput " + BenchReport.number(o.getDouble("goodputPerSecond"), 1) + "/s = "
          + BenchReport.number(o.getDouble("goodputFractionOfCapacity"), 2) + " × pool capacity at "
          + Math.round(ShapeScenarios.OPEN_RATE_PER_SECOND) + "/s offered; 503 p99 "
          + BenchReport.number(orEmpty(o.getJsonObject("rejectionLatencyMs")).getDouble("p99"), 1) + " ms";
      }
      default -> "";
    };
  }

  /** The Concurrency row of a scenario's table, or null when the scenario is not a shape scenario. */
  static String concurrency(JsonObject s) {
    JsonObject config = s.getJsonObject("config", new JsonObject());
    return switch (s.getString("name", "")) {
      case ShapeScenarios.CLUSTER_IDLE, ShapeScenarios.CACHE_REPEAT -> "1 request at a time";
      case ShapeScenarios.OVERLOAD_OPEN -> "open loop: " + BenchReport.number(config.getDouble(
        "openLoopRatePerSecond"), 0) + " requests/s on a fixed schedule, ids uniform in " + config.getString("ids");
      default -> null;
    };
  }

  /**
   * The Warm-up, measured row of a scenario whose load is a number of requests rather than a time, or null for any
   * other.
   */
  static String measured(JsonObject s) {
    return switch (s.getString("name", "")) {
      case ShapeScenarios.CLUSTER_IDLE, ShapeScenarios.CACHE_REPEAT -> "no warm-up; " + s.getLong("requests")
        + " requests in " + BenchReport.number(s.getDouble("elapsedSeconds"), 2) + " s";
      default -> null;
    };
  }

  /** The rows a shape scenario adds to its table (label, value), in order; none for another scenario. */
  static List<Map.Entry<String, String>> rows(JsonObject s) {
    List<Map.Entry<String, String>> rows = new ArrayList<>();
    JsonObject idle = s.getJsonObject("clusterIdle");
    if (idle != null) {
      rows.add(Map.entry("503s (target 0)", idle.getLong("count503") + " of " + idle.getLong("reads")
        + " sequential GETs" + (idle.getString("firstNon2xx") == null ? ""
        : "; first non-2xx answer: " + idle.getString("firstNon2xx"))));
      JsonObject cluster = s.getJsonObject("config").getJsonObject("cluster", new JsonObject());
      rows.add(Map.entry("Shares settled (each proxy node's /admin/pool maxSize)",
        String.valueOf(cluster.getJsonObject("settledPoolMaxSizes"))));
    }
    // By name: slow-lane's own slowLane section has another shape (BenchReport reads it).
    JsonObject slow = ShapeScenarios.CLUSTER_SLOW.equals(s.getString("name")) ? s.getJsonObject("slowLane") : null;
    if (slow != null) {
      JsonObject alone = s.getJsonObject("fastLaneAlone", new JsonObject());
      JsonObject client = slow.getJsonObject("slowClient", new JsonObject());
      rows.add(Map.entry("Fast lane alone", BenchReport.number(alone.getDouble("throughputPerSecond"), 1)
        + " req/s, p50 " + BenchReport.number(latency(alone, "p50"), 2) + " ms, p99 "
        + BenchReport.number(latency(alone, "p99"), 2) + " ms; " + counts(alone.getJsonObject("statusCounts"))));
      rows.add(Map.entry("Fast lane kept beside one slow client (target ≥ 0.8)",
        BenchReport.number(slow.getDouble("fastLaneKept"), 3) + " × (the throughput above / alone)"));
      rows.add(Map.entry("Slow client", client.getLong("requests") + " PUT /users/{id}/settings on ids "
        + client.getString("ids") + " (" + slow.getInteger("lockedRows") + " rows locked): "
        + counts(client.getJsonObject("statusCounts")) + "; " + client.getLong("retryAfterWaits")
        + " Retry-After waits honoured"));
    }
    JsonObject repeat = s.getJsonObject("cacheRepeat");
    if (repeat != null) {
      rows.add(Map.entry("Second reads (X-Cache)", counts(repeat.getJsonObject("secondReadXCache")) + "; target: all "
        + repeat.getLong("ids") + " HIT"));
    }
    JsonObject open = s.getJsonObject("openLoop");
    if (open != null) {
      rows.add(Map.entry("Pool capacity (Little's law)", open.getInteger("poolMaxSize") + " connections / "
        + BenchReport.number(open.getJsonObject("injectedLatencyMs").getDouble("mean") / 1000, 1) + " s = "
        + BenchReport.number(open.getDouble("poolCapacityPerSecond"), 1) + " req/s; offered "
        + BenchReport.number(open.getDouble("ratePerSecond"), 0) + " req/s"));
      rows.add(Map.entry("Goodput (2xx/s)", BenchReport.number(open.getDouble("goodputPerSecond"), 1) + " req/s = "
        + BenchReport.number(open.getDouble("goodputFractionOfCapacity"), 3) + " × capacity (" + open.getLong("successes")
        + " successes among the " + open.getLong("scheduled") + " requests due in the "
        + BenchReport.number(open.getDouble("windowSeconds"), 1) + " s window)"));
      rows.add(Map.entry("Latency of successes (2xx), from the intended send",
        latency(open.getJsonObject("successLatencyMs"))));
      rows.add(Map.entry("Latency of rejections (503), from the intended send",
        latency(open.getJsonObject("rejectionLatencyMs")) + " (" + open.getLong("rejections503") + " rejections, "
          + open.getLong("timeouts504") + " × 504, " + open.getLong("noAnswer") + " without an answer in "
          + ShapeScenarios.OPEN_TIMEOUT.toSeconds() + " s)"));
      rows.add(Map.entry("Generator's send lag (actual − intended send)", latency(open.getJsonObject("sendLagMs"))
        + "; at most " + open.getInteger("maxInFlight") + " requests in flight"));
    }
    return rows;
  }

  /** What a reader of the shape scenarios must keep in mind; none when none of them ran. */
  static List<String> caveats(JsonArray scenarios) {
    List<String> caveats = new ArrayList<>();
    if (!Comparison.find(scenarios, ShapeScenarios.OVERLOAD_OPEN).isEmpty()) {
      caveats.add("overload-open: an open loop in the bench JVM, on one event loop of its own. Its send lag (in the"
        + " scenario's table) says whether it kept its schedule: a lag near the latencies means the generator, not"
        + " the service, set them. Its warm-up is sent on the same schedule, so the measured requests meet the"
        + " backlog the warm-up built; CPU and database samples cover the measured window and its drain only.");
    }
    if (!Comparison.find(scenarios, ShapeScenarios.CLUSTER_SLOW).isEmpty()) {
      caveats.add("cluster-slow: the fast lane's two runs (alone, then beside the slow client) follow each other on"
        + " the same service; a change in the machine's load between them moves fastLaneKept.");
    }
    return caveats;
  }

  private static JsonObject section(JsonArray scenarios, String scenario, String key) {
    return orEmpty(Comparison.find(scenarios, scenario).getJsonObject(key));
  }

  private static JsonObject orEmpty(JsonObject json) {
    return json == null ? new JsonObject() : json;
  }

  private static Double latency(JsonObject s, String percentile) {
    return orEmpty(s.getJsonObject("latencyMs")).getDouble(percentile);
  }

  private static String latency(JsonObject l) {
    if (l == null) {
      return "no answers";
    }
    return String.format(Locale.ROOT, "p50 %s · p90 %s · p99 %s · max %s ms", BenchReport.number(l.getDouble("p50"), 2),
      BenchReport.number(l.getDouble("p90"), 2), BenchReport.number(l.getDouble("p99"), 2),
      BenchReport.number(l.getDouble("max"), 2));
  }

  private static String counts(JsonObject counts) {
    return counts == null || counts.isEmpty() ? "none" : counts.stream().map(e -> e.getKey() + ": " + e.getValue())
      .collect(Collectors.joining(", "));
  }
}
