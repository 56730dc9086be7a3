package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole bench, very short: the service jar (built by app earlier in the reactor) started per scenario on
 * its embedded database, 500 users, about 1.5 s per scenario, the two peers (four short runs, about 40 s in all),
 * the clustered scenario (1 API + 2 proxy processes; about 20 s with their starts and stops on an idle machine), the
 * shape scenarios (cluster-idle's 1 API + 3 proxy processes, three more single services; about a minute) and the slow
 * lane (its fixed phases of 5 + 3 + 5 s for Sluice and each peer: about a minute). It
 * works with wrk on the PATH and without it (the closed loop). It checks that the run completes and that its report
 * parses and covers every scenario and peer, with the ratios under their stable names, and that the cluster formed,
 * both proxy nodes served and every node stopped cleanly; it asserts no duration, rate or ratio value, which would
 * only measure the machine running it.
 */
class BenchSmokeTest {

  private static final List<String> SCENARIOS =
    List.of(Bench.FAST_UNCACHED, Bench.CACHED, Bench.OVERLOAD, Bench.CEILING, Bench.CLUSTERED,
      ShapeScenarios.CLUSTER_IDLE, ShapeScenarios.CLUSTER_SLOW, ShapeScenarios.CACHE_REPEAT,
      ShapeScenarios.OVERLOAD_OPEN, Bench.SLOW_LANE, FaultScenarios.KILL_BURST, FaultScenarios.START_REFUSED);

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  @DisplayName("bench --smoke writes a Markdown and a JSON report with every scenario and the peers, each with"
    + " requests, and the ratios under their stable names")
  void smokeRunWritesAParseableReportWithEveryScenario() throws IOException {
    Path repo = Path.of(System.getProperty("sluice.repo", "..")).toAbsolutePath().normalize();
    Path jar = repo.resolve("app/target/sluice.jar");
    assertTrue(Files.isRegularFile(jar), jar + " is missing: app is packaged before bench in the reactor;"
      + " run mvn verify from the project root");
    Path dir = repo.resolve("bench/target/bench-smoke");
    String[] args = {"--smoke", "--repo", repo.toString(), "--jar", jar.toString(),
      "--work-dir", dir.resolve("work").toString(), "--results-dir", dir.resolve("results").toString()};
    // No environment: an SLUICE_BENCH_DB_HOST of the machine running the tests must not redirect the smoke run.
    BenchOptions options = BenchOptions.parse(args, Map.of(), repo);

    Bench.Written written = new Bench(options, System.out).run();

    JsonObject report = new JsonObject(Files.readString(dir.resolve("results/latest.json")));
    assertEquals(written.report(), report, "latest.json is the run's report");
    String markdown = Files.readString(dir.resolve("results/latest.md"));
    assertTrue(markdown.contains("## Summary"));
    assertTrue(markdown.contains("## Targets"));
    assertTrue(markdown.contains("## Side by side"));
    assertNotNull(report.getString("commit"));
    assertTrue(report.getJsonObject("machine").getInteger("cores") > 0);
    JsonArray scenarios = report.getJsonArray("scenarios");
    assertEquals(SCENARIOS, scenarios.stream().map(s -> ((JsonObject) s).getString("name")).toList());
    for (Object s : scenarios) {
      JsonObject scenario = (JsonObject) s;
      String name = scenario.getString("name");
      if (FaultScenarios.isFault(scenario)) {
        continue;
      }
      assertTrue(scenario.getLong("requests") > 0, name + " completed requests");
      assertTrue(scenario.getDouble("throughputPerSecond") > 0, name + " has a throughput");
      assertNotNull(scenario.getJsonObject("latencyMs"), name + " has latencies");
      assertTrue(scenario.getJsonObject("server").getInteger("samples") > 0, name + " sampled the database");
    }
    JsonObject overload = named(scenarios, Bench.OVERLOAD).getJsonObject("overload");
    assertNotNull(overload.getDouble("goodputFractionOfCapacity"));
    JsonObject keyed = overload.getJsonObject("keyedWrites");
    assertTrue(keyed.getLong("writes") > 0, "the overload scenario sent keyed writes: " + keyed);
    assertEquals(0, keyed.getLong("duplicates"), "keyed writes stored twice: " + keyed);
    assertEquals(0, keyed.getLong("acknowledgedMissing"), "acknowledged keyed writes missing: " + keyed);
    assertEquals(keyed.getLong("writes"), keyed.getLong("acknowledged") + keyed.getLong("unresolved"));
    assertEquals(SCENARIOS.size(), report.getJsonArray("summary").size());
    assertClustered(named(scenarios, Bench.CLUSTERED));
    assertSlowLane(named(scenarios, Bench.SLOW_LANE), report);

    assertPeers(named(scenarios, Bench.FAST_UNCACHED), Bench.DIRECT, Bench.BLOCKING);
    assertPeers(named(scenarios, Bench.CACHED), Bench.BLOCKING);
    assertPeers(named(scenarios, Bench.OVERLOAD), Bench.BLOCKING);
    assertNotNull(Comparison.peer(named(scenarios, Bench.OVERLOAD), Bench.BLOCKING).getJsonObject("overload")
      .getDouble("goodputFractionOfCapacity"));
    JsonObject ratios = report.getJsonObject("ratios");
    for (String name : List.of("fastUncachedVsDirect", "fastUncachedVsBlocking", "cachedVsBlocking",
      "overloadGoodputVsCapacity", "overloadGoodputVsCapacityBlocking", "clusteredVsSingle", "clusteredP50VsSingle",
      "clusteredP99VsSingle", "slowLaneFastKept", "slowLaneP99Ratio", "cachedVsLive", "fastUncachedP99VsDirect")) {
      assertNotNull(ratios.getDouble(name), "ratios." + name + " in " + ratios);
    }
    assertTrue(ratios.containsKey("rssVsBlocking"), "ratios.rssVsBlocking in " + ratios);
    for (String program : List.of(Bench.SLUICE, Bench.BLOCKING)) {
      JsonObject o = report.getJsonObject("overloadComparison").getJsonObject(program);
      assertNotNull(o.getLong("count504"), program + " 504 count in " + o);
      assertNotNull(o.getDouble("successP99Ms"), program + " success p99 in " + o);
    }
    // 8 of issue 11, 2 of issue 20, 4 of the slow lane, 6 of the shape scenarios, 3 of the fault scenarios.
    // 23, and cluster-budget's 6 (not run by --smoke: "n/a")
    assertEquals(29, report.getJsonArray("targets").size());
    assertFaults(scenarios);
    assertShapes(report, scenarios);
  }

  /** The fault scenarios ran: every burst answered and timed, every refused start exited with a code. */
  private static void assertFaults(JsonArray scenarios) {
    JsonObject kill = named(scenarios, FaultScenarios.KILL_BURST).getJsonObject("killBurst");
    assertEquals(FaultScenarios.KILL_BURSTS, kill.getJsonArray("bursts").size(), "bursts: " + kill);
    assertEquals((long) FaultScenarios.KILL_BURSTS * FaultScenarios.KILL_POOL, kill.getJsonObject("statuses").stream()
      .mapToLong(e -> ((Number) e.getValue()).longValue()).sum(), "every request answered: " + kill);
    assertNotNull(kill.getLong("connectionsDestroyed"), "connectionsDestroyed read: " + kill);
    JsonObject start = named(scenarios, FaultScenarios.START_REFUSED).getJsonObject("startRefused");
    assertEquals(FaultScenarios.START_RUNS, start.getJsonArray("runs").size(), "starts: " + start);
    assertTrue(start.getBoolean("allExitedNonZero"), "a start on a taken port exited 0: " + start);
  }

  /**
   * The shape scenarios ran and reported their checks: cluster-idle on 1 API + 3 proxy nodes that stopped cleanly,
   * cluster-slow's two phases and its slow client, cache-repeat's second reads, overload-open's cohort. Their values
   * are the proxy's to improve, not this test's to assert.
   */
  private static void assertShapes(JsonObject report, JsonArray scenarios) {
    JsonObject idle = named(scenarios, ShapeScenarios.CLUSTER_IDLE);
    assertEquals(300L, idle.getJsonObject("clusterIdle").getLong("reads"));
    JsonObject nodes = idle.getJsonObject("process").getJsonObject("nodes");
    assertEquals(List.of(SluiceCluster.API, SluiceCluster.PROXY_A, SluiceCluster.PROXY_B, SluiceCluster.PROXY_C),
      List.copyOf(nodes.fieldNames()));
    for (String node : nodes.fieldNames()) {
      assertEquals(0, nodes.getJsonObject(node).getInteger("exitStatus"), node + " stopped cleanly: " + nodes);
    }
    JsonObject slow = named(scenarios, ShapeScenarios.CLUSTER_SLOW);
    assertTrue(slow.getJsonObject("fastLaneAlone").getLong("requests") > 0, "the fast lane ran alone");
    assertTrue(slow.getJsonObject("slowLane").getJsonObject("slowClient").getLong("requests") > 0,
      "the slow client sent: " + slow.getJsonObject("slowLane"));
    assertEquals(200, slow.getJsonObject("slowLane").getInteger("lockedRows"));
    JsonObject repeat = named(scenarios, ShapeScenarios.CACHE_REPEAT).getJsonObject("cacheRepeat");
    assertEquals(50L, repeat.getJsonObject("secondReadXCache").stream()
      .mapToLong(e -> ((Number) e.getValue()).longValue()).sum(), "every second read was tallied: " + repeat);
    JsonObject open = named(scenarios, ShapeScenarios.OVERLOAD_OPEN).getJsonObject("openLoop");
    assertTrue(open.getLong("scheduled") > 0, "the open loop sent its cohort: " + open);
    assertNotNull(open.getJsonObject("sendLagMs"), "the generator's lag is reported: " + open);

    JsonObject ratios = report.getJsonObject("ratios");
    assertNotNull(ratios.getDouble("eightLoopsSlowClientFastKept"), "ratios: " + ratios);
    assertNotNull(ratios.getDouble("overloadOpenGoodputVsCapacity"), "ratios: " + ratios);
    assertNotNull(report.getJsonObject("cluster").getLong("idle503"), "cluster.idle503");
    assertNotNull(report.getJsonObject("cache").getLong("repeatHits"), "cache.repeatHits");
    assertNotNull(report.getJsonObject("overloadComparison").getJsonObject("sluiceOpenLoop"));
  }

  /**
   * The slow lane ran its phases for Sluice and both peers: the rows were locked, the writers wrote in every phase
   * (answers counted by status), the fast lane was measured alone and with the rows locked, and the recovery was
   * looked for. A peer's fast lane may starve with the rows locked, so no 2xx is required of it there.
   */
  private static void assertSlowLane(JsonObject scenario, JsonObject report) {
    assertEquals(List.of(Bench.DIRECT, Bench.BLOCKING), List.copyOf(scenario.getJsonObject("peers").fieldNames()));
    assertTrue(report.getJsonObject("slowLaneComparison").containsKey(Bench.SLUICE));
    List<JsonObject> programs = List.of(scenario, scenario.getJsonObject("peers").getJsonObject(Bench.DIRECT),
      scenario.getJsonObject("peers").getJsonObject(Bench.BLOCKING));
    for (JsonObject program : programs) {
      JsonObject lane = program.getJsonObject("slowLane");
      String what = Bench.SLOW_LANE + " · " + program.getString("name");
      assertNotNull(lane, what + " has its phases");
      assertEquals(Bench.SLOW_LANE_LOCKED, lane.getInteger("lockedRows"), what + " locked the rows");
      assertTrue(lane.getJsonObject("putAlone").getLong("requests") > 0, what + " wrote alone");
      assertTrue(lane.getJsonObject("withSlow").getJsonObject("writers").getLong("requests") > 0,
        what + " wrote with the rows locked");
      assertTrue(lane.getJsonObject("released").getJsonObject("writers").getLong("requests") > 0,
        what + " wrote after the release");
      assertTrue(lane.getJsonObject("alone").getJsonObject("fastLane").getLong("requests") > 0,
        what + " read alone");
      // With the rows locked, a design without lanes may fairly complete no read at all.
      assertNotNull(program.getLong("requests"), what + " measured its reads with the rows locked");
      assertNotNull(lane.getDouble("fastKept"), what + " kept a share of its fast lane: " + lane.getDouble("fastKept"));
      assertNotNull(lane.getLong("late"), what + " counted late writes");
      assertEquals(Set.of("200", "503", "504", "other"), lane.getJsonObject("writerAnswers").fieldNames());
      assertTrue(lane.getJsonObject("released").getJsonObject("recovery").containsKey("recovered"));
    }
  }

  /** The scenario of that name, at its place in {@link #SCENARIOS} (the order is asserted first). */
  private static JsonObject named(JsonArray scenarios, String name) {
    return scenarios.getJsonObject(SCENARIOS.indexOf(name));
  }

  /**
   * The clustered scenario ran on three processes that formed one cluster, both proxy nodes executed statements with
   * their share of the budget, each node was metered, and each stopped cleanly on SIGTERM.
   */
  private static void assertClustered(JsonObject clustered) {
    // "200" from the closed loop, "2xx" from wrk.
    assertTrue(clustered.getJsonObject("statusCounts").stream().anyMatch(e -> e.getKey().startsWith("2")),
      "clustered answered 2xx: " + clustered.getJsonObject("statusCounts"));
    JsonObject cluster = clustered.getJsonObject("config").getJsonObject("cluster");
    assertEquals(Set.of(SluiceCluster.PROXY_A, SluiceCluster.PROXY_B), cluster.getJsonObject("shares").fieldNames(),
      "both proxy nodes have a share: " + cluster);
    JsonObject nodes = clustered.getJsonObject("process").getJsonObject("nodes");
    assertEquals(List.of(SluiceCluster.API, SluiceCluster.PROXY_A, SluiceCluster.PROXY_B),
      List.copyOf(nodes.fieldNames()));
    for (String node : nodes.fieldNames()) {
      JsonObject n = nodes.getJsonObject(node);
      assertEquals(0, n.getInteger("exitStatus"), node + " stopped cleanly on SIGTERM: " + n);
      assertTrue(n.getLong("pid") > 0, node + " ran as a process of its own");
      assertTrue(clustered.getJsonObject("cpu").getJsonObject("nodes").containsKey(node), node + " was metered");
      if (!node.equals(SluiceCluster.API)) {
        assertTrue(n.getLong("statementsExecuted") > 0, node + " executed statements: " + n);
      }
    }
    assertNotNull(clustered.getJsonObject("vsSingle").getDouble("throughput"));
  }

  /** Each peer of the scenario ran, answered, and was metered: its own process, the generator's CPU. */
  private static void assertPeers(JsonObject scenario, String... peers) {
    JsonObject all = scenario.getJsonObject("peers");
    assertNotNull(all, scenario.getString("name") + " has peers");
    assertEquals(List.of(peers), List.copyOf(all.fieldNames()), scenario.getString("name") + " peers");
    for (String name : peers) {
      JsonObject peer = all.getJsonObject(name);
      String what = scenario.getString("name") + " · " + name;
      assertTrue(peer.getLong("requests") > 0, what + " completed requests");
      assertTrue(peer.getJsonObject("statusCounts").stream().anyMatch(e -> e.getKey().startsWith("2")),
        what + " answered 2xx: " + peer.getJsonObject("statusCounts"));
      assertTrue(peer.getJsonObject("process").getLong("pid") > 0, what + " ran as a process of its own");
      assertNotNull(peer.getJsonObject("loadGenerator").getString("tool"), what + " names its load generator");
    }
  }
}
