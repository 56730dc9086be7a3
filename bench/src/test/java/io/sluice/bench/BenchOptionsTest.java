package io.sluice.bench;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --scenarios}: parsed into the report's order, unknown names refused, and repeated by the rerun command. */
class BenchOptionsTest {

  @TempDir
  Path repo;

  @Test
  @DisplayName("--scenarios keeps the report's order, runs all by default, and the rerun command repeats it")
  void scenariosInReportOrder() throws IOException {
    BenchOptions some = parse("--scenarios", "clustered, ceiling");
    assertEquals(List.of(Bench.CEILING, Bench.CLUSTERED), some.scenarios());
    assertTrue(some.rerun().endsWith(" --scenarios ceiling,clustered"), some.rerun());

    BenchOptions all = parse();
    assertEquals(BenchOptions.ALL_SCENARIOS, all.scenarios());
    assertEquals(BenchOptions.SMOKE_SCENARIOS, parse("--smoke").scenarios(), "--smoke leaves cluster-budget and cluster-partition out");
    assertTrue(!BenchOptions.SMOKE_SCENARIOS.contains(ClusterBudget.CLUSTER_BUDGET));
    assertTrue(!BenchOptions.SMOKE_SCENARIOS.contains(ClusterPartition.CLUSTER_PARTITION));
    assertTrue(!all.rerun().contains("--scenarios"), all.rerun());
  }

  @Test
  @DisplayName("--scenarios with an unknown name fails naming the known ones")
  void unknownScenarioIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
      () -> parse("--scenarios", "fast-uncached,clusterd"));
    assertTrue(e.getMessage().contains("clusterd") && e.getMessage().contains("clustered"), e.getMessage());
  }

  @Test
  @DisplayName("slow-lane and cluster-slow need users beyond the 200 locked ones, and run by default")
  void slowLaneNeedsUsersBeyondTheLockedOnes() throws IOException {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
      () -> parse("--users", "200", "--scenarios", "slow-lane"));
    assertTrue(e.getMessage().contains("--users above 200"), e.getMessage());
    IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
      () -> parse("--users", "200", "--scenarios", "cluster-slow"));
    assertTrue(shape.getMessage().contains("cluster-slow needs --users above 200"), shape.getMessage());

    assertEquals(List.of(Bench.SLOW_LANE), parse("--users", "201", "--scenarios", "slow-lane").scenarios());
    assertEquals(100, parse("--users", "100", "--scenarios", "fast-uncached").users(), "other scenarios lock nothing");
    assertTrue(parse().runs(Bench.SLOW_LANE));
    assertTrue(parse().runs(ShapeScenarios.CLUSTER_SLOW));
  }

  private BenchOptions parse(String... extra) throws IOException {
    Files.createDirectories(repo.resolve("app/target"));
    Path jar = Files.writeString(repo.resolve("app/target/sluice.jar"), "");
    String[] args = new String[extra.length + 2];
    args[0] = "--jar";
    args[1] = jar.toString();
    System.arraycopy(extra, 0, args, 2, extra.length);
    return BenchOptions.parse(args, Map.of(), repo);
  }
}
