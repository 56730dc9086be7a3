package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The report's Markdown, rendered from its JSON only: whatever the Markdown says, the JSON holds too. Also the
 * summary rows and the caveats, which both renderings carry.
 */
final class BenchReport {

  private BenchReport() {
  }

  // ---- summary and caveats (part of the JSON) ----

  static JsonArray summary(JsonArray scenarios) {
    JsonArray rows = new JsonArray();
    for (JsonObject s : objects(scenarios)) {
      JsonObject latency = latencyOf(s);
      rows.add(new JsonObject().put("scenario", s.getString("name"))
        .put("concurrency", s.getJsonObject("config").getInteger("concurrency"))
        .put("requests", s.getLong("requests"))
        .put("throughputPerSecond", s.getDouble("throughputPerSecond"))
        .put("p50Ms", latency.getDouble("p50")).put("p90Ms", latency.getDouble("p90"))
        .put("p99Ms", latency.getDouble("p99")).put("maxMs", latency.getDouble("max"))
        .put("statusCounts", s.getJsonObject("statusCounts"))
        .put("serverConnectionsMax", s.getJsonObject("server") == null ? null
          : s.getJsonObject("server").getInteger("maxConnections"))
        .put("keyFigure", keyFigure(s, scenarios)));
    }
    return rows;
  }

  private static String keyFigure(JsonObject s, JsonArray scenarios) {
    JsonObject server = s.getJsonObject("server");
    return switch (s.getString("name")) {
      case Bench.FAST_UNCACHED -> "throughput " + number(s.getDouble("fractionOfCeiling"), 2) + " × ceiling, "
        + versus(s, Bench.DIRECT) + " direct peer, " + versus(s, Bench.BLOCKING) + " blocking peer";
      case Bench.CACHED -> {
        Double fast = find(scenarios, Bench.FAST_UNCACHED).getDouble("throughputPerSecond");
        yield "throughput " + number(Bench.ratio(s.getDouble("throughputPerSecond"), fast), 2)
          + " × fast-uncached, " + versus(s, Bench.BLOCKING) + " blocking peer with its cache; "
          + number(server.getDouble("statementsPerRequest"), 3) + " DB statements/request";
      }
      case Bench.OVERLOAD -> {
        JsonObject o = s.getJsonObject("overload");
        JsonObject rejected = o.getJsonObject("rejectionLatencyMs");
        yield "goodput " + number(o.getDouble("goodputPerSecond"), 1) + "/s = "
          + number(o.getDouble("goodputFractionOfCapacity"), 2) + " × pool capacity ("
          + number(o.getDouble("poolCapacityPerSecond"), 0) + "/s); 503 p50 "
          + (rejected == null ? "n/a" : number(rejected.getDouble("p50"), 2) + " ms");
      }
      case Bench.CLUSTERED -> {
        JsonObject fast = find(scenarios, Bench.FAST_UNCACHED);
        yield "1 API + " + Bench.PROXY_NODES + " proxy processes: throughput "
          + number(Bench.ratio(s.getDouble("throughputPerSecond"), fast.getDouble("throughputPerSecond")), 2)
          + " × the single process, p50 " + latencyRatio(s, fast, "p50") + " ×, p99 " + latencyRatio(s, fast, "p99")
          + " × (the hop and the crowding of 3 JVMs on the same cores)";
      }
      case Bench.SLOW_LANE -> {
        JsonObject lane = s.getJsonObject("slowLane");
        yield "fast lane kept " + number(lane.getDouble("fastKept"), 2) + " × its throughput with the rows locked, p99 "
          + number(lane.getDouble("p99Ratio"), 2) + " ×; writes with the rows locked " + counts(lane.getJsonObject(
          "writerAnswers")) + ", " + lane.getLong("late") + " late; back " + recovery(lane) + " after the ROLLBACK";
      }
      case Bench.CEILING -> "the database's ceiling: pool of "
        + s.getJsonObject("config").getJsonObject("pool").getInteger("maxSize") + ", no HTTP";
      case FaultScenarios.KILL_BURST, FaultScenarios.START_REFUSED -> FaultScenarios.keyFigure(s);
      case ClusterBudget.CLUSTER_BUDGET -> ClusterBudget.keyFigure(s);
      case ClusterTrust.CLUSTER_TRUST -> ClusterTrust.keyFigure(s);
      case ClusterPartition.CLUSTER_PARTITION -> ClusterPartition.keyFigure(s);
      default -> ShapeFigures.keyFigure(s);
    };
  }

  /** {@code in 250 ms}, or {@code not within 5 s}. */
  private static String recovery(JsonObject lane) {
    Long ms = lane.getLong("recoveryMs");
    return ms != null ? "in " + ms + " ms" : Boolean.FALSE.equals(lane.getBoolean("recovered"))
      ? "not within " + Bench.SLOW_LANE_RELEASED.toSeconds() + " s" : "n/a";
  }

  /** A measurement's latencies; empty when it had no answer (its {@code latencyMs} is then null, not absent). */
  private static JsonObject latencyOf(JsonObject measured) {
    JsonObject latency = measured.getJsonObject("latencyMs");
    return latency == null ? new JsonObject() : latency;
  }

  private static String latencyRatio(JsonObject s, JsonObject single, String percentile) {
    return number(Bench.ratio(latencyOf(s).getDouble(percentile),
      latencyOf(single).getDouble(percentile)), 2);
  }

  /** The scenario's throughput over its peer's, as {@code 1.23 ×}. */
  private static String versus(JsonObject scenario, String peer) {
    return number(Bench.ratio(scenario.getDouble("throughputPerSecond"),
      Comparison.peer(scenario, peer).getDouble("throughputPerSecond")), 2) + " ×";
  }

  static JsonArray caveats(JsonObject report) {
    JsonObject machine = report.getJsonObject("machine");
    List<String> caveats = new ArrayList<>();
    if (report.getBoolean("smoke", false)) {
      caveats.add("Smoke run: each scenario ran for a second or two. It checks that the bench works; its numbers are"
        + " not worth quoting.");
    }
    caveats.add("One run. The load generator, the service and the database share this machine's "
      + machine.getInteger("cores") + " cores, and anything else running at the time (a build, another test) skews"
      + " the numbers. Compare runs made on the same machine, and rerun before trusting a difference of a few"
      + " percent.");
    caveats.add("Closed loop: a fixed number of workers, each sending its next request when the previous one ends."
      + " Latency is timed from the actual send, so a stall delays the sends that would have measured it"
      + " (coordinated omission): the percentiles understate the tail an open-loop client would see. Throughput is"
      + " the saturated rate at that concurrency, not a latency SLO.");
    caveats.add("Overload: a worker answered 503 sends again at once (no back-off on Retry-After), so the 503 count"
      + " and rate describe this loop, not real clients. Goodput and the two latency distributions are the point.");
    caveats.add("Ceiling: the statement goes through the same Vert.x MySQL client (one event loop, "
      + "prepared-statement cache on), so it is the ceiling of the database plus that client on this machine, not"
      + " of the database alone.");
    caveats.add("Peers: each runs in a JVM of its own with the same -Xmx as the service, on the same database, after"
      + " Sluice's fast-uncached run and while that service stays up and idle (it hosts the embedded database). Sluice"
      + " and the peers are measured one after the other, not at the same time: a change in the machine's load"
      + " between them moves the ratios. The overload service also serves keyed writes beside its reads; the"
      + " blocking peer only reads.");
    caveats.add("wrk, when used, counts answers of status 400 and above apart without their status (shown as "
      + WrkLoad.ERROR_STATUS + "), and times all answers together; the overload scenario therefore always uses the"
      + " closed loop, which times successes and rejections apart.");
    if (!find(report.getJsonArray("scenarios"), Bench.SLOW_LANE).isEmpty()) {
      caveats.add("Slow lane: the " + Bench.SLOW_LANE_WRITERS + " writers are well-behaved clients: after a 503 with"
        + " Retry-After each waits that many seconds (cut short when the phase ends) before its next write; after any"
        + " other answer it writes again at once. Their answers are counted by the phase they were sent in, the"
        + " settle included: a write sent with the rows locked and answered 200 after the ROLLBACK counts there. The fast lane is measured " + Bench.SLOW_LANE_SETTLE.toSeconds() + " s after the rows"
        + " were locked and stops when they are released: the released phase, like put-alone (the normal rate), has"
        + " the writers only. With wrk, the settle and the measurement are two runs of wrk, a few milliseconds apart."
        + " The peers run with their usual pool of " + Bench.PEER_POOL_MAX_SIZE + ", more than the " 
        + Bench.SLOW_LANE_WRITERS + " writers; Sluice with its default pool of 20, fewer. Recovery is read in "
        + Bench.SLOW_LANE_BUCKET.toMillis() + " ms buckets, so " + Bench.SLOW_LANE_BUCKET.toMillis() + " ms is the"
        + " best figure it can give.");
    }
    if (!find(report.getJsonArray("scenarios"), Bench.CLUSTERED).isEmpty()) {
      caveats.add("Clustered: the API process, both proxy processes, the database and the load generator all run on"
        + " this machine's " + machine.getInteger("cores") + " cores, where the single process shares them with the"
        + " database and the generator only. ratios.clusteredVsSingle is therefore the cost of the clustered hop"
        + " (serialisation, TCP on loopback, a second process on the path) AND of 3 JVMs crowding the same cores,"
        + " not of the hop alone; on machines of their own the nodes would add capacity instead.");
    }
    caveats.addAll(ShapeFigures.caveats(report.getJsonArray("scenarios")));
    caveats.add("Peak RSS is the kernel's high-water mark (VmHWM) of each JVM process, read before it stops: the"
      + " service's embedded MariaDB is a process of its own and not counted.");
    caveats.add("Server connections are sampled every " + ConnectionSampler.PERIOD.toMillis() + " ms from "
      + "SHOW FULL PROCESSLIST (the sampler's own session left out); a peak shorter than that can be missed."
      + " Threads_connected is the server's own count: it includes the sampler, and on a shared server other"
      + " clients too.");
    return new JsonArray(caveats);
  }

  // ---- Markdown ----

  static String markdown(JsonObject r) {
    StringBuilder out = new StringBuilder();
    JsonObject machine = r.getJsonObject("machine");
    JsonObject jvm = r.getJsonObject("jvm");
    JsonObject db = r.getJsonObject("database");
    JsonObject opts = r.getJsonObject("options");
    out.append("# Sluice benchmark").append(r.getBoolean("smoke", false) ? " (smoke run)" : "").append("\n\n");
    out.append("| | |\n|---|---|\n");
    row(out, "Date (UTC)", r.getString("date"));
    row(out, "Machine", machine.getInteger("cores") + " cores (availableProcessors), " + machine.getString("memory")
      + " RAM, " + machine.getString("os") + " " + machine.getString("arch") + ", CPU " + machine.getString("cpuModel"));
    row(out, "Load average", machine.getString("loadAverageAtStart") + " at the start, "
      + machine.getString("loadAverageAtEnd") + " at the end (1, 5, 15 min; the bench itself adds to it)");
    row(out, "JVM", jvm.getString("vm") + " " + jvm.getString("version") + " (" + jvm.getString("vendor")
      + "), for the bench and the service");
    row(out, "Commit", "`" + r.getString("commit") + "`");
    row(out, "Database", db.getString("kind") + ", " + db.getString("version", "version unknown")
      + (db.containsKey("dataDir") ? ", `" + db.getString("dataDir") + "`" : ", " + db.getString("server"))
      + ", " + db.getInteger("users") + " users");
    row(out, "Run", "ids uniform in 1.." + opts.getInteger("users") + "; concurrency " + opts.getInteger("concurrency")
      + " (overload " + Bench.OVERLOAD_FACTOR * Bench.OVERLOAD_POOL_MAX_SIZE + "); warm-up " + opts.getString("warmup")
      + ", then " + opts.getString("duration") + " measured, per scenario");
    row(out, "Heap", "-Xmx" + opts.getString("xmx") + " for the service, for each peer and for each cluster node");
    JsonObject generator = r.getJsonObject("loadGenerator", new JsonObject());
    row(out, "Load generator", generator.getString("http") + " for fast-uncached, cached, clustered and the"
      + " slow lane's reads (its writes: " + Bench.SLOW_LANE_WRITERS + " JDK HttpClient threads in the bench JVM); "
      + generator.getString("overload") + " for overload (it times successes and rejections apart)");
    row(out, "Rerun", "`" + r.getString("rerun") + "` (from the project root; see bench/README.md)");

    out.append("\n## Summary\n\n");
    out.append("| Scenario | Concurrency | Requests | Throughput (req/s) | p50 ms | p90 ms | p99 ms | max ms | Statuses"
      + " | Server connections (max) | Key figure |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n");
    for (JsonObject s : objects(r.getJsonArray("summary"))) {
      out.append("| ").append(s.getString("scenario")).append(" | ")
        .append(s.getInteger("concurrency") == null ? "open loop" : s.getInteger("concurrency"))
        .append(" | ").append(s.getLong("requests")).append(" | ").append(number(s.getDouble("throughputPerSecond"), 1))
        .append(" | ").append(number(s.getDouble("p50Ms"), 2)).append(" | ").append(number(s.getDouble("p90Ms"), 2))
        .append(" | ").append(number(s.getDouble("p99Ms"), 2)).append(" | ").append(number(s.getDouble("maxMs"), 2))
        .append(" | ").append(counts(s.getJsonObject("statusCounts"))).append(" | ")
        .append(s.getInteger("serverConnectionsMax")).append(" | ").append(s.getString("keyFigure")).append(" |\n");
    }

    targets(out, r);
    sideBySide(out, r);

    for (JsonObject s : objects(r.getJsonArray("scenarios"))) {
      scenario(out, s);
    }

    out.append("\n## Caveats\n\n");
    for (Object caveat : r.getJsonArray("caveats")) {
      out.append("- ").append(caveat).append('\n');
    }
    return out.toString();
  }

  private static void targets(StringBuilder out, JsonObject r) {
    if (!r.containsKey("targets")) {
      return;
    }
    out.append("\n## Targets (issue 11)\n\n");
    out.append("Sluice against the peers measured in this run. `ratios` in the JSON holds the same figures.\n\n");
    out.append("| Target | Goal | Measured | Status | By how much |\n|---|---|---:|---|---|\n");
    for (JsonObject t : objects(r.getJsonArray("targets"))) {
      out.append("| ").append(t.getString("target")).append(" | ").append(t.getString("goal")).append(" | ")
        .append(t.getString("measuredText", "n/a")).append(" | ").append(t.getString("status")).append(" | ")
        .append(t.getString("margin")).append(" |\n");
    }
  }

  /** Every program measured, scenario by scenario: throughput, latency, answers, peak RSS and the CPU it took. */
  private static void sideBySide(StringBuilder out, JsonObject r) {
    out.append("\n## Side by side\n\n");
    out.append("CPU in cores (CPU seconds over wall seconds, machine: ").append(r.getJsonObject("machine")
      .getInteger("cores")).append("): the load generator (the bench JVM, plus wrk when used), the program under test,"
      + " and the database server.\n\n");
    out.append("| Scenario | Program | Throughput (req/s) | p50 ms | p99 ms | Statuses | Peak RSS MiB | CPU generator"
      + " / program / database |\n|---|---|---:|---:|---:|---|---:|---|\n");
    for (JsonObject s : objects(r.getJsonArray("scenarios"))) {
      String name = s.getString("name");
      sideRow(out, name, Bench.CEILING.equals(name) ? "bench pool (no HTTP)" : Bench.CLUSTERED.equals(name)
        ? "Sluice, 1 API + " + Bench.PROXY_NODES + " proxy processes" : "Sluice", s);
      JsonObject peers = s.getJsonObject("peers", new JsonObject());
      for (String peer : peers.fieldNames()) {
        sideRow(out, name, peer + " peer", peers.getJsonObject(peer));
      }
    }
    JsonObject overload = r.getJsonObject("overloadComparison");
    if (overload != null) {
      out.append("\nOverload (3× the pool's capacity, the same injected latency for all):\n\n");
      out.append("| Program | Goodput (2xx/s) | × capacity | Successes p50 / p99 ms | Rejections (503) p50 / p99 ms"
        + " | 503 | 504 |\n|---|---:|---:|---|---|---:|---:|\n");
      for (String program : overload.fieldNames()) {
        JsonObject o = overload.getJsonObject(program);
        out.append("| ").append(program).append(" | ").append(number(o.getDouble("goodputPerSecond"), 1))
          .append(" | ").append(number(o.getDouble("goodputVsCapacity"), 3)).append(" | ")
          .append(number(o.getDouble("successP50Ms"), 1)).append(" / ").append(number(o.getDouble("successP99Ms"), 1))
          .append(" | ").append(number(o.getDouble("rejectionP50Ms"), 1)).append(" / ")
          .append(number(o.getDouble("rejectionP99Ms"), 1)).append(" | ").append(o.getLong("count503"))
          .append(" | ").append(o.getLong("count504")).append(" |\n");
      }
    }
    if (!find(r.getJsonArray("scenarios"), Bench.SLOW_LANE).isEmpty()) {
      slowLaneTable(out, r.getJsonObject("slowLaneComparison"));
    }
  }

  private static void slowLaneTable(StringBuilder out, JsonObject lanes) {
    out.append("\nSlow lane (the settings rows of users 1..").append(Bench.SLOW_LANE_LOCKED).append(" locked, ")
      .append(Bench.SLOW_LANE_WRITERS).append(" writers on them, ").append(Bench.SLOW_LANE_FAST_CONNECTIONS)
      .append(" connections reading the other users):\n\n");
    out.append("| Program | Fast lane alone (req/s) | With the rows locked (req/s) | Kept | p99 alone / locked ms"
      + " | p99 × | Writes with the rows locked | Late | Back after ROLLBACK |\n"
      + "|---|---:|---:|---:|---|---:|---|---:|---|\n");
    for (String program : lanes.fieldNames()) {
      JsonObject l = lanes.getJsonObject(program);
      out.append("| ").append(program).append(" | ").append(number(l.getDouble("fastAlonePerSecond"), 1))
        .append(" | ").append(number(l.getDouble("fastWithSlowPerSecond"), 1)).append(" | ")
        .append(number(l.getDouble("fastKept"), 3)).append(" | ").append(number(l.getDouble("p99AloneMs"), 1))
        .append(" / ").append(number(l.getDouble("p99WithSlowMs"), 1)).append(" | ")
        .append(Boolean.TRUE.equals(l.getBoolean("fastLaneStarved")) ? "starved" : number(l.getDouble("p99Ratio"), 2))
        .append(" | ").append(counts(l.getJsonObject("writerAnswers")))
        .append(" | ").append(l.getLong("late")).append(" | ").append(recovery(l)).append(" |\n");
    }
  }

  private static void sideRow(StringBuilder out, String scenario, String program, JsonObject s) {
    JsonObject latency = latencyOf(s);
    JsonObject process = s.getJsonObject("process", new JsonObject());
    out.append("| ").append(scenario).append(" | ").append(program).append(" | ")
      .append(number(s.getDouble("throughputPerSecond"), 1)).append(" | ").append(number(latency.getDouble("p50"), 2))
      .append(" | ").append(number(latency.getDouble("p99"), 2)).append(" | ")
      .append(counts(s.getJsonObject("statusCounts"))).append(" | ")
      .append(rss(process)).append(" | ").append(cpu(s.getJsonObject("cpu"))).append(" |\n");
  }

  /** A process's peak RSS; a cluster's as its nodes' sum and each node's ({@code 900 = 300 + 300 + 300}). */
  private static String rss(JsonObject process) {
    JsonObject nodes = process.getJsonObject("nodes");
    if (nodes == null) {
      return number(process.getDouble("peakRssMiB"), 0);
    }
    return number(process.getDouble("totalPeakRssMiB"), 0) + " = " + nodes.fieldNames().stream()
      .map(node -> number(nodes.getJsonObject(node).getDouble("peakRssMiB"), 0)).collect(Collectors.joining(" + "));
  }

  /** {@code generator / program / database} in cores; n/a where not measured. */
  private static String cpu(JsonObject cpu) {
    if (cpu == null) {
      return "n/a";
    }
    JsonObject nodes = cpu.getJsonObject("nodes");
    String program = nodes == null ? cores(cpu, "service") : cores(cpu, "service") + " (" + nodes.fieldNames().stream()
      .map(node -> cores(nodes, node)).collect(Collectors.joining(" + ")) + ")";
    return cores(cpu, "loadGenerator") + " / " + program + " / " + cores(cpu, "database");
  }

  private static String cores(JsonObject cpu, String who) {
    JsonObject used = cpu.getJsonObject(who);
    return used == null ? "–" : number(used.getDouble("cores"), 2);
  }

  private static void scenario(StringBuilder out, JsonObject s) {
    if (FaultScenarios.isFault(s)) {
      out.append("\n## ").append(s.getString("name")).append("\n\n").append(s.getString("measures")).append("\n\n");
      out.append("| Metric | Value |\n|---|---|\n");
      FaultScenarios.rows(s).forEach(r -> row(out, r.getKey(), r.getValue()));
      return;
    }
    if (ClusterBudget.CLUSTER_BUDGET.equals(s.getString("name"))) {
      out.append("\n## ").append(s.getString("name")).append("\n\n").append(s.getString("measures")).append("\n\n");
      out.append("| Sequence | Figures |\n|---|---|\n");
      ClusterBudget.rows(s).forEach(r -> row(out, r.getKey(), r.getValue()));
      return;
    }
    if (ClusterTrust.CLUSTER_TRUST.equals(s.getString("name"))) {
      out.append("\n## ").append(s.getString("name")).append("\n\n").append(s.getString("measures")).append("\n\n");
      out.append("| Figure | Value |\n|---|---|\n");
      ClusterTrust.rows(s).forEach(r -> row(out, r.getKey(), r.getValue()));
      return;
    }
    if (ClusterPartition.CLUSTER_PARTITION.equals(s.getString("name"))) {
      out.append("\n## ").append(s.getString("name")).append("\n\n").append(s.getString("measures")).append("\n\n");
      out.append("| Figure | Value |\n|---|---|\n");
      ClusterPartition.rows(s).forEach(r -> row(out, r.getKey(), r.getValue()));
      return;
    }
    JsonObject config = s.getJsonObject("config");
    JsonObject server = s.getJsonObject("server");
    out.append("\n## ").append(s.getString("name")).append("\n\n").append(s.getString("measures")).append("\n\n");
    out.append("| Metric | Value |\n|---|---|\n");
    String shape = ShapeFigures.concurrency(s);
    row(out, "Concurrency", shape != null ? shape : config.getInteger("concurrency") + " closed-loop workers, ids"
      + " uniform in " + config.getString("ids"));
    String measured = ShapeFigures.measured(s);
    row(out, "Warm-up, measured", measured != null ? measured : number(config.getDouble("warmupSeconds"), 1)
      + " s unmeasured, then " + number(s.getDouble("elapsedSeconds"), 2) + " s measured ("
      + number(config.getDouble("durationSeconds"), 1) + " s of sending, plus the requests in flight at its end)");
    if (config.containsKey("prime")) {
      JsonObject prime = config.getJsonObject("prime");
      row(out, "Cache fill (before warm-up)", prime.getLong("requests") + " requests, one per id, in "
        + number(prime.getDouble("seconds"), 2) + " s: " + counts(prime.getJsonObject("statusCounts")));
    }
    row(out, "Requests", String.valueOf(s.getLong("requests")));
    row(out, "Throughput", number(s.getDouble("throughputPerSecond"), 1) + " req/s");
    row(out, "Latency, all answers", latency(s.getJsonObject("latencyMs")));
    row(out, "Status counts", counts(s.getJsonObject("statusCounts")));
    if (s.containsKey("overload")) {
      JsonObject o = s.getJsonObject("overload");
      JsonObject injected = o.getJsonObject("injectedLatencyMs");
      row(out, "Pool capacity (Little's law)", o.getInteger("poolMaxSize") + " connections / "
        + number(injected.getDouble("mean") / 1000, 1) + " s mean injected latency = "
        + number(o.getDouble("poolCapacityPerSecond"), 1) + " req/s");
      row(out, "Goodput (2xx/s)", number(o.getDouble("goodputPerSecond"), 1) + " req/s = "
        + number(o.getDouble("goodputFractionOfCapacity"), 3) + " × capacity (" + o.getLong("successesWhileSending")
        + " successes while sending; " + number(o.getDouble("goodputIncludingDrainPerSecond"), 1)
        + "/s counting all " + o.getLong("successes") + " over the whole measured time, drain included)");
      row(out, "Latency of successes (2xx)", latency(o.getJsonObject("successLatencyMs")));
      row(out, "Latency of rejections (503)", latency(o.getJsonObject("rejectionLatencyMs")) + " ("
        + o.getLong("rejections503") + " rejections)");
      JsonObject k = o.getJsonObject("keyedWrites");
      if (k != null) {
        row(out, "Keyed writes (Idempotency-Key, retried until 201)", k.getLong("writes") + " writes from "
          + k.getInteger("writers") + " writers, " + k.getLong("acknowledged") + " acknowledged, "
          + k.getLong("unresolved") + " unresolved; duplicates " + k.getLong("duplicates")
          + ", acknowledged but missing " + k.getLong("acknowledgedMissing") + " (both must be 0); attempts: "
          + counts(k.getJsonObject("attemptsByAnswer")));
      }
    }
    ShapeFigures.rows(s).forEach(r -> row(out, r.getKey(), r.getValue()));
    // By name: cluster-slow has a slowLane section of its own, of another shape (ShapeFigures.rows reads it).
    if (Bench.SLOW_LANE.equals(s.getString("name"))) {
      slowLaneRows(out, s.getJsonObject("slowLane"));
    }
    if (s.containsKey("ratios")) {
      row(out, "Against the peers (Sluice / peer)", s.getJsonObject("ratios").stream()
        .map(e -> e.getKey() + " " + number(e.getValue() == null ? null : ((Number) e.getValue()).doubleValue(), 3))
        .collect(Collectors.joining(", ")));
    }
    if (s.getJsonObject("process", new JsonObject()).containsKey("nodes")) {
      clusterRows(out, s);
    }
    JsonObject live = s.getJsonObject("live");
    if (live != null) {
      row(out, "GET /health/live, same process and load", number(live.getDouble("throughputPerSecond"), 1)
        + " req/s, " + latency(live.getJsonObject("latencyMs")) + "; this read / live = "
        + number(Bench.ratio(s.getDouble("throughputPerSecond"), live.getDouble("throughputPerSecond")), 3));
    }
    if (s.containsKey("fractionOfCeiling")) {
      row(out, "Fraction of the ceiling", number(s.getDouble("fractionOfCeiling"), 3)
        + " (this throughput / the ceiling scenario's)");
    }
    loadRows(out, s);
    row(out, "Server connections", "max " + server.getInteger("maxConnections") + " in the processlist, of which at"
      + " most " + server.getInteger("maxBusyConnections") + " running a statement at once; Threads_connected max "
      + server.getLong("maxThreadsConnected") + " (" + server.getInteger("samples") + " samples)");
    row(out, "Statements at the database", server.getLong("statementsExecuted") + " prepared statements executed = "
      + number(server.getDouble("statementsPerRequest"), 3) + " per request; " + server.getLong("statementsPrepared")
      + " prepared (cache misses)");
    if (config.containsKey("pool")) {
      row(out, "Pool (in the bench JVM)", "maxSize " + config.getJsonObject("pool").getInteger("maxSize")
        + " (the service's default), statement `" + config.getString("statement") + "`; " + config.getString("note"));
    }
    if (config.containsKey("serviceEnvironment")) {
      row(out, "Service environment", config.getJsonObject("serviceEnvironment").stream()
        .filter(e -> !e.getKey().contains("PORT") && !e.getKey().equals("SLUICE_HTTP_HOST"))
        .map(e -> "`" + e.getKey() + "=" + e.getValue() + "`").collect(Collectors.joining(" ")));
      row(out, "Service config (effective)", serviceConfig(s.getJsonObject("serviceConfig")));
    }
    if (s.getString("firstError") != null) {
      row(out, "First failed request", s.getString("firstError"));
    }
    if (server.getString("problem") != null) {
      row(out, "Database sampler", server.getString("problem"));
    }
    JsonObject peers = s.getJsonObject("peers", new JsonObject());
    for (String name : peers.fieldNames()) {
      peer(out, s.getString("name"), peers.getJsonObject(name));
    }
  }

  /** The slow lane's phases: the fast lane alone and with the rows locked, the writers in each phase, the recovery. */
  private static void slowLaneRows(StringBuilder out, JsonObject lane) {
    JsonObject putAlone = lane.getJsonObject("putAlone");
    JsonObject alone = lane.getJsonObject("alone").getJsonObject("fastLane");
    JsonObject withSlow = lane.getJsonObject("withSlow");
    JsonObject released = lane.getJsonObject("released");
    JsonObject recovery = released.getJsonObject("recovery");
    row(out, "Slow lane: set-up", lane.getInteger("lockedRows") + " settings rows locked (users "
      + lane.getJsonObject("writers").getString("ids") + "); " + lane.getJsonObject("writers").getInteger("clients")
      + " writers, honouring Retry-After; fast lane " + lane.getJsonObject("fastLane").getInteger("connections")
      + " connections on users " + lane.getJsonObject("fastLane").getString("ids") + "; late: answered more than "
      + lane.getLong("lateAfterMs") + " ms after the send (deadline " + lane.getLong("deadlineMs") + " ms + "
      + lane.getLong("slackMs") + " ms)");
    row(out, "Phase put-alone (writers only, no lock)", number(putAlone.getDouble("successesPerSecond"), 1)
      + " 200s/s over " + number(putAlone.getDouble("seconds"), 2) + " s: the normal rate; " + writers(putAlone));
    row(out, "Phase alone (fast lane only)", number(alone.getDouble("throughputPerSecond"), 1) + " req/s; "
      + latency(alone.getJsonObject("latencyMs")) + "; " + counts(alone.getJsonObject("statusCounts")));
    row(out, "Phase with-slow: fast lane (after " + number(lane.getDouble("settleSeconds"), 0) + " s to settle)",
      number(lane.getDouble("fastWithSlowPerSecond"), 1) + " req/s = " + number(lane.getDouble("fastKept"), 3)
      + " × alone; p99 " + number(lane.getDouble("p99WithSlowMs"), 2) + " ms = " + number(lane.getDouble("p99Ratio"), 2)
      + " × alone (the figures above)");
    row(out, "Phase with-slow: writers (settle included)", writers(withSlow.getJsonObject("writers")));
    row(out, "Phase released (ROLLBACK, writers only)", writers(released.getJsonObject("writers")));
    row(out, "Recovery", "back " + recovery(lane) + " (first " + recovery.getLong("bucketMs") + " ms bucket with ≥ "
      + number(recovery.getDouble("thresholdPerSecond"), 1) + " 200s/s, " + Math.round(Bench.SLOW_LANE_BACK_FRACTION
      * 100) + " % of the normal rate); 200s per bucket: " + recovery.getJsonArray("successesPerBucket").encode());
  }

  private static String writers(JsonObject w) {
    JsonObject l = w.getJsonObject("latencyMs");
    return w.getLong("requests") + " writes: " + counts(w.getJsonObject("byAnswer")) + "; " + w.getLong("late")
      + " late; " + w.getLong("rejectedWithoutRetryAfter") + " × 503 without Retry-After; latency "
      + (l == null ? "n/a" : "p50 " + l.getLong("p50") + " · p99 " + l.getLong("p99") + " · max " + l.getLong("max")
      + " ms");
  }

  private static void loadRows(StringBuilder out, JsonObject s) {
    JsonObject generator = s.getJsonObject("loadGenerator");
    if (generator != null) {
      row(out, "Load generator", generator.getString("tool") + ": " + number(generator.getDouble("cores"), 2)
        + " cores busy (" + number(generator.getDouble("cpuSeconds"), 1) + " CPU s; "
        + number(generator.getDouble("fractionOfMachine") == null ? null
        : generator.getDouble("fractionOfMachine") * 100, 0) + " % of the machine)");
    }
    if (s.getJsonObject("cpu") != null) {
      row(out, "CPU (cores): generator / program / database", cpu(s.getJsonObject("cpu")));
    }
    JsonObject process = s.getJsonObject("process");
    if (process != null) {
      row(out, "Peak RSS (VmHWM)", number(process.getDouble("peakRssMiB"), 1) + " MiB with -Xmx"
        + process.getString("xmx") + (process.containsKey("nodes") ? " (the highest node; "
        + number(process.getDouble("totalPeakRssMiB"), 1) + " MiB for the nodes together)" : ""));
    }
  }

  /** The clustered scenario's nodes: each one's role, share, statements, CPU, peak RSS and exit status. */
  private static void clusterRows(StringBuilder out, JsonObject s) {
    JsonObject cluster = s.getJsonObject("config").getJsonObject("cluster", new JsonObject());
    row(out, "Cluster", "`" + cluster.getString("name") + "` on loopback, budget (db.pool.maxSize) "
      + cluster.getInteger("budget") + ", shares " + counts(cluster.getJsonObject("shares")));
    JsonObject nodes = s.getJsonObject("process").getJsonObject("nodes");
    JsonObject cpu = s.getJsonObject("cpu", new JsonObject()).getJsonObject("nodes", new JsonObject());
    for (String node : nodes.fieldNames()) {
      JsonObject n = nodes.getJsonObject(node);
      Integer exit = n.getInteger("exitStatus");
      row(out, "Node " + node, n.getString("role") + ", pid " + n.getLong("pid") + ": CPU " + cores(cpu, node)
        + " cores, peak RSS " + number(n.getDouble("peakRssMiB"), 1) + " MiB with -Xmx" + n.getString("xmx")
        + (n.containsKey("poolMaxSize") ? ", pool maxSize " + n.getInteger("poolMaxSize") + ", "
        + n.getLong("statementsExecuted") + " statements executed" : "") + "; exit status " + exit
        + (exit != null && exit == 0 ? " (clean)" : " (NOT a clean shutdown)"));
    }
    if (!s.containsKey("vsSingle")) {
      return;
    }
    JsonObject vs = s.getJsonObject("vsSingle");
    row(out, "Against the single process (fast-uncached)", "throughput " + number(vs.getDouble("throughput"), 3)
      + " ×, p50 " + number(vs.getDouble("p50"), 3) + " ×, p99 " + number(vs.getDouble("p99"), 3) + " ×: the cost of"
      + " the hop and of the crowding together (3 JVMs, the database and the generator on the same cores)");
  }

  /** A peer's part of a scenario: what it is, how it was run, and what it did. */
  private static void peer(StringBuilder out, String scenario, JsonObject p) {
    JsonObject config = p.getJsonObject("config");
    JsonObject server = p.getJsonObject("server", new JsonObject());
    out.append("\n### ").append(scenario).append(" · ").append(p.getString("name")).append(" peer\n\n")
      .append(p.getString("measures")).append("\n\n| Metric | Value |\n|---|---|\n");
    row(out, "Program", "`" + p.getString("program") + " " + config.getString("arguments") + "`");
    row(out, "Cache, injected latency", config.getString("cache") + "; latency "
      + (config.getString("injectedLatencyMs") == null ? "off" : config.getString("injectedLatencyMs") + " ms"));
    if (config.containsKey("prime")) {
      JsonObject prime = config.getJsonObject("prime");
      row(out, "Cache fill (before warm-up)", prime.getLong("requests") + " requests in "
        + number(prime.getDouble("seconds"), 2) + " s: " + counts(prime.getJsonObject("statusCounts")));
    }
    row(out, "Concurrency", config.getInteger("concurrency") + " workers; " + number(p.getDouble("elapsedSeconds"), 2)
      + " s measured");
    row(out, "Throughput", number(p.getDouble("throughputPerSecond"), 1) + " req/s");
    row(out, "Latency, all answers", latency(p.getJsonObject("latencyMs")));
    row(out, "Status counts", counts(p.getJsonObject("statusCounts")));
    if (p.containsKey("overload")) {
      JsonObject o = p.getJsonObject("overload");
      row(out, "Goodput (2xx/s)", number(o.getDouble("goodputPerSecond"), 1) + " req/s = "
        + number(o.getDouble("goodputFractionOfCapacity"), 3) + " × capacity");
      row(out, "Latency of successes (2xx)", latency(o.getJsonObject("successLatencyMs")));
      row(out, "Latency of rejections (503)", latency(o.getJsonObject("rejectionLatencyMs")) + " ("
        + o.getLong("rejections503") + " rejections, " + o.getLong("timeouts504") + " × 504)");
    }
    if (p.containsKey("slowLane")) {
      slowLaneRows(out, p.getJsonObject("slowLane"));
    }
    loadRows(out, p);
    row(out, "Server connections", "max " + server.getInteger("maxConnections") + " in the processlist (the idle"
      + " Sluice service's pool included), at most " + server.getInteger("maxBusyConnections")
      + " running a statement at once");
    row(out, "Statements at the database", server.getLong("statementsExecuted") + " prepared statements executed = "
      + number(server.getDouble("statementsPerRequest"), 3) + " per request");
    if (p.getString("firstError") != null) {
      row(out, "First failed request", p.getString("firstError"));
    }
  }

  /** The settings that shape these scenarios, from the config the service logged at start. */
  private static String serviceConfig(JsonObject c) {
    if (c == null) {
      return "not found in the service log";
    }
    JsonObject http = c.getJsonObject("http", new JsonObject());
    JsonObject db = c.getJsonObject("db", new JsonObject());
    JsonObject pool = db.getJsonObject("pool", new JsonObject());
    JsonObject users = c.getJsonObject("cache", new JsonObject()).getJsonObject("users", new JsonObject());
    JsonObject faults = c.getJsonObject("faults", new JsonObject()).getJsonObject("dbLatency", new JsonObject());
    return "pool maxSize " + pool.getValue("maxSize") + ", maxWaitQueueSize " + pool.getValue("maxWaitQueueSize")
      + ", acquireTimeoutMs " + pool.getValue("acquireTimeoutMs") + "; request deadline (http.requestTimeoutMs) "
      + http.getValue("requestTimeoutMs") + " ms; statementTimeoutMs " + db.getValue("statementTimeoutMs")
      + "; users cache " + (Boolean.TRUE.equals(users.getValue("enabled")) ? "on, ttl " + users.getValue("ttlSeconds")
      + " s, maxEntries " + users.getValue("maxEntries") : "off") + "; injected DB latency "
      + (Boolean.TRUE.equals(faults.getValue("enabled")) ? faults.getValue("minMs") + "–" + faults.getValue("maxMs")
      + " ms" : "off") + " (the whole config is in the JSON report)";
  }

  private static String latency(JsonObject l) {
    if (l == null) {
      return "no answers";
    }
    return "p50 " + number(l.getDouble("p50"), 2) + " · p90 " + number(l.getDouble("p90"), 2) + " · p99 "
      + number(l.getDouble("p99"), 2) + " · p99.9 " + number(l.getDouble("p99.9"), 2) + " · max "
      + number(l.getDouble("max"), 2) + " ms";
  }

  private static String counts(JsonObject counts) {
    return counts == null || counts.isEmpty() ? "none" : counts.stream().map(e -> e.getKey() + ": " + e.getValue())
      .collect(Collectors.joining(", "));
  }

  private static void row(StringBuilder out, String label, String value) {
    out.append("| ").append(label).append(" | ").append(value.replace("|", "\\|")).append(" |\n");
  }

  static String number(Double value, int decimals) {
    return value == null ? "n/a" : String.format(Locale.ROOT, "%." + decimals + "f", value);
  }

  private static List<JsonObject> objects(JsonArray array) {
    List<JsonObject> list = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      list.add(array.getJsonObject(i));
    }
    return list;
  }

  private static JsonObject find(JsonArray scenarios, String name) {
    return objects(scenarios).stream().filter(s -> name.equals(s.getString("name"))).findFirst()
      .orElse(new JsonObject());
  }
}
