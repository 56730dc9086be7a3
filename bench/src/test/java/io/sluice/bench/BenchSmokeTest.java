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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole bench, very short: the service jar (built by app earlier in the reactor) started per scenario on
 * its embedded database, 500 users, about 1.5 s per scenario. It checks that the run completes and that its report
 * parses and covers every scenario; it asserts no duration or rate, which would only measure the machine running it.
 */
class BenchSmokeTest {

  private static final List<String> SCENARIOS =
    List.of(Bench.FAST_UNCACHED, Bench.CACHED, Bench.OVERLOAD, Bench.CEILING);

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  @DisplayName("bench --smoke writes a Markdown and a JSON report with the four scenarios, each with requests")
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
    assertTrue(Files.readString(dir.resolve("results/latest.md")).contains("## Summary"));
    assertNotNull(report.getString("commit"));
    assertTrue(report.getJsonObject("machine").getInteger("cores") > 0);
    JsonArray scenarios = report.getJsonArray("scenarios");
    assertEquals(SCENARIOS, scenarios.stream().map(s -> ((JsonObject) s).getString("name")).toList());
    for (Object s : scenarios) {
      JsonObject scenario = (JsonObject) s;
      String name = scenario.getString("name");
      assertTrue(scenario.getLong("requests") > 0, name + " completed requests");
      assertTrue(scenario.getDouble("throughputPerSecond") > 0, name + " has a throughput");
      assertNotNull(scenario.getJsonObject("latencyMs"), name + " has latencies");
      assertTrue(scenario.getJsonObject("server").getInteger("samples") > 0, name + " sampled the database");
    }
    JsonObject overload = scenarios.getJsonObject(2).getJsonObject("overload");
    assertNotNull(overload.getDouble("goodputFractionOfCapacity"));
    JsonObject keyed = overload.getJsonObject("keyedWrites");
    assertTrue(keyed.getLong("writes") > 0, "the overload scenario sent keyed writes: " + keyed);
    assertEquals(0, keyed.getLong("duplicates"), "keyed writes stored twice: " + keyed);
    assertEquals(0, keyed.getLong("acknowledgedMissing"), "acknowledged keyed writes missing: " + keyed);
    assertEquals(keyed.getLong("writes"), keyed.getLong("acknowledged") + keyed.getLong("unresolved"));
    assertEquals(4, report.getJsonArray("summary").size());
  }
}
