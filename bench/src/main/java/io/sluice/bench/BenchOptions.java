package io.sluice.bench;

import io.sluice.diagnose.Durations;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one benchmark run does. Each value comes from, in order of precedence: its command-line option, the
 * {@code --smoke} preset, its {@code SLUICE_BENCH_*} environment variable, the default.
 *
 * @param externalDb  the database named by {@code SLUICE_BENCH_DB_HOST} (and friends); null: the service's embedded one
 * @param repo        the project's root: the service jar, {@code git} and the default directories are found from it
 * @param workDir     embedded data ({@code data-<users>}, seeded once and kept) and the service logs
 * @param resultsDir  where the report goes ({@code <UTC timestamp>.md/.json} and {@code latest.md/.json})
 * @param heap        {@code -Xmx} of the service and of each peer, the same for all ({@code 512m})
 * @param loadGenerator {@code auto} (wrk when it is on the PATH, else the built-in closed loop), {@code wrk} or
 *                    {@code closed-loop}
 * @param scenarios   the scenarios to run, in {@link #ALL_SCENARIOS} order; {@code fast-uncached}'s own measurement
 *                    runs whatever the list (it hosts the database and is the baseline of the ratios), its peers only
 *                    when it is listed
 */
record BenchOptions(int users, int concurrency, Duration warmup, Duration duration, boolean smoke, Path repo, Path jar,
                    Path workDir, Path resultsDir, DbTarget externalDb, String heap, String loadGenerator,
                    List<String> scenarios) {

  /** The same for the service and the peers, so that their peak RSS compares like with like. */
  static final String DEFAULT_HEAP = "512m";
  static final String AUTO = "auto";
  static final String WRK = "wrk";
  static final String CLOSED_LOOP = "closed-loop";

  /** Every scenario, in the order the report lists them. */
  static final List<String> ALL_SCENARIOS = List.of(Bench.FAST_UNCACHED, Bench.CACHED, Bench.OVERLOAD, Bench.CEILING,
    Bench.CLUSTERED, ShapeScenarios.CLUSTER_IDLE, ShapeScenarios.CLUSTER_SLOW, ShapeScenarios.CACHE_REPEAT,
    ShapeScenarios.OVERLOAD_OPEN, Bench.SLOW_LANE, FaultScenarios.KILL_BURST, FaultScenarios.START_REFUSED,
    ClusterBudget.CLUSTER_BUDGET, ClusterTrust.CLUSTER_TRUST, ClusterPartition.CLUSTER_PARTITION);

  /**
   * What {@code --smoke} runs unless {@code --scenarios} says otherwise: all but {@code cluster-budget}, whose three
   * clusters of 4 or 5 processes (a heartbeat timeout and a grace each) would add minutes to every build, and
   * {@code cluster-trust} (5 processes, keytool certificates), {@code cluster-partition} (the same as cluster-budget,
   * and root for its network namespaces).
   */
  static final List<String> SMOKE_SCENARIOS = ALL_SCENARIOS.stream()
    .filter(s -> !s.equals(ClusterBudget.CLUSTER_BUDGET) && !s.equals(ClusterTrust.CLUSTER_TRUST)
      && !s.equals(ClusterPartition.CLUSTER_PARTITION)).toList();

  static final int DEFAULT_USERS = 10_000;
  static final int DEFAULT_CONCURRENCY = 64;
  /** Long enough for C2 to finish compiling the hot path: 5 s left the service at half its speed. */
  static final Duration DEFAULT_WARMUP = Duration.ofSeconds(15);
  static final Duration DEFAULT_DURATION = Duration.ofSeconds(20);

  /** A few seconds in all: checks that everything runs, measures nothing worth quoting. */
  static final int SMOKE_USERS = 500;
  static final Duration SMOKE_WARMUP = Duration.ofMillis(500);
  static final Duration SMOKE_DURATION = Duration.ofMillis(1500);

  static final String USAGE = """
    Usage: bench/run [--users N] [--duration T] [--warmup T] [--concurrency N] [--smoke] [--xmx SIZE]
                     [--load-generator auto|wrk|closed-loop] [--scenarios LIST]
                     [--repo DIR] [--jar FILE] [--work-dir DIR] [--results-dir DIR]
      --users N         users seeded and looked up at random (default 10000; env SLUICE_BENCH_USERS)
      --duration T      measured time per scenario: 20s, 1500ms, 1m (default 20s; env SLUICE_BENCH_DURATION)
      --warmup T        unmeasured load before each scenario (default 15s; env SLUICE_BENCH_WARMUP)
      --concurrency N   closed-loop workers of fast-uncached, cached and ceiling (default 64;
                        env SLUICE_BENCH_CONCURRENCY); overload always uses 3 x its pool
      --smoke           500 users, 1.5 s per scenario, every scenario but cluster-budget, cluster-trust and
                        cluster-partition;
                        report under <work-dir>/smoke-results, so that bench/results/latest.* keeps the last
                        full run
      --xmx SIZE        -Xmx of the service and of both peers, one value for all (default 512m;
                        env SLUICE_BENCH_XMX)
      --load-generator G  auto: wrk when it is on the PATH, else the built-in closed loop (default;
                        env SLUICE_BENCH_LOAD_GENERATOR); overload always uses the closed loop
      --scenarios LIST  comma-separated, of fast-uncached,cached,overload,ceiling,clustered,cluster-idle,
                        cluster-slow,cache-repeat,overload-open,slow-lane,kill-burst,start-refused,
                        cluster-budget,cluster-trust,cluster-partition (default all; cluster-partition needs
                        root;
                        env SLUICE_BENCH_SCENARIOS); fast-uncached itself always runs (it hosts the
                        database and is the ratios' baseline), its peers only when it is listed;
                        cluster-slow and slow-lane need --users above 200 (users 1..200 are the locked ones)
      --repo DIR        project root (default: the current directory)
      --jar FILE        service jar (default: <repo>/app/target/sluice.jar)
      --work-dir DIR    embedded database data and service logs (default: <repo>/bench/work)
      --results-dir DIR report directory (default: <repo>/bench/results)
    External database instead of the embedded one: SLUICE_BENCH_DB_HOST, SLUICE_BENCH_DB_PORT (3306),
    SLUICE_BENCH_DB_USER (sluice), SLUICE_BENCH_DB_PASSWORD (empty), SLUICE_BENCH_DB_DATABASE (sluice).""";

  /** Reads the options; an invalid one is an {@link IllegalArgumentException} whose message names it. */
  static BenchOptions parse(String[] args, Map<String, String> env, Path cwd) {
    Map<String, String> given = new HashMap<>();
    boolean smoke = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--smoke")) {
        smoke = true;
        continue;
      }
      int eq = arg.indexOf('=');
      String name = eq > 0 ? arg.substring(0, eq) : arg;
      if (!Set.of("--users", "--duration", "--warmup", "--concurrency", "--repo", "--jar", "--work-dir",
        "--results-dir", "--xmx", "--load-generator", "--scenarios").contains(name)) {
        throw new IllegalArgumentException("unknown argument: " + arg);
      }
      if (eq < 0 && i + 1 >= args.length) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      given.put(name, eq > 0 ? arg.substring(eq + 1) : args[++i]);
    }

    String users = pick(given.get("--users"), smoke ? String.valueOf(SMOKE_USERS) : null,
      env.get("SLUICE_BENCH_USERS"), String.valueOf(DEFAULT_USERS));
    String concurrency = pick(given.get("--concurrency"), null, env.get("SLUICE_BENCH_CONCURRENCY"),
      String.valueOf(DEFAULT_CONCURRENCY));
    String warmup = pick(given.get("--warmup"), smoke ? SMOKE_WARMUP.toMillis() + "ms" : null,
      env.get("SLUICE_BENCH_WARMUP"), DEFAULT_WARMUP.toSeconds() + "s");
    String duration = pick(given.get("--duration"), smoke ? SMOKE_DURATION.toMillis() + "ms" : null,
      env.get("SLUICE_BENCH_DURATION"), DEFAULT_DURATION.toSeconds() + "s");

    String heap = pick(given.get("--xmx"), null, env.get("SLUICE_BENCH_XMX"), DEFAULT_HEAP).trim();
    if (!heap.matches("\\d+[kKmMgG]?")) {
      throw new IllegalArgumentException("--xmx must be a JVM heap size such as 512m or 1g, got " + heap);
    }
    String generator = pick(given.get("--load-generator"), null, env.get("SLUICE_BENCH_LOAD_GENERATOR"), AUTO).trim();
    if (!List.of(AUTO, WRK, CLOSED_LOOP).contains(generator)) {
      throw new IllegalArgumentException("--load-generator must be auto, wrk or closed-loop, got " + generator);
    }

    List<String> scenarios = scenarios(pick(given.get("--scenarios"), smoke ? String.join(",", SMOKE_SCENARIOS) : null,
      env.get("SLUICE_BENCH_SCENARIOS"), String.join(",", ALL_SCENARIOS)));

    Path repo = Path.of(given.getOrDefault("--repo", cwd.toString())).toAbsolutePath().normalize();
    if (!Files.isDirectory(repo.resolve("app"))) {
      throw new IllegalArgumentException("--repo " + repo + " is not the project root (no app module in it)");
    }
    Path workDir = path(given.get("--work-dir"), repo.resolve("bench/work"));
    Path resultsDir = path(given.get("--results-dir"), smoke ? workDir.resolve("smoke-results")
      : repo.resolve("bench/results"));
    Path jar = path(given.get("--jar"), repo.resolve("app/target/sluice.jar"));

    int userCount = integer("--users", users, 1, 10_000_000);
    usersBeyondLocked(scenarios, Bench.SLOW_LANE, Bench.SLOW_LANE_LOCKED, userCount);
    usersBeyondLocked(scenarios, ShapeScenarios.CLUSTER_SLOW, ShapeScenarios.LOCKED_LAST, userCount);
    BenchOptions options = new BenchOptions(userCount,
      integer("--concurrency", concurrency, 1, 10_000), duration("--warmup", warmup, true),
      duration("--duration", duration, false), smoke, repo, jar, workDir, resultsDir, DbTarget.fromEnv(env), heap,
      generator, scenarios);
    if (!Files.isRegularFile(options.jar())) {
      throw new IllegalArgumentException("service jar " + options.jar() + " not found: build it with"
        + " `mvn -q -B -DskipTests package` (bench/run does)");
    }
    return options;
  }

  /**
   * The scenarios that lock users 1..{@code locked} ({@link RowLocks}) read the others: with none left, they would
   * fail after the scenarios before them had run.
   */
  private static void usersBeyondLocked(List<String> scenarios, String scenario, long locked, int users) {
    if (scenarios.contains(scenario) && users <= locked) {
      throw new IllegalArgumentException("--scenarios " + scenario + " needs --users above " + locked + " (users 1.."
        + locked + " are locked, the fast lane reads the others), got " + users);
    }
  }

  /** The command that repeats this run. */
  String rerun() {
    return (externalDb == null ? "" : "SLUICE_BENCH_DB_HOST=" + externalDb.host() + " … ")
      + "bench/run --users " + users + " --duration " + text(duration) + " --warmup " + text(warmup)
      + " --concurrency " + concurrency + " --xmx " + heap
      + (loadGenerator.equals(AUTO) ? "" : " --load-generator " + loadGenerator)
      + (scenarios.equals(ALL_SCENARIOS) ? "" : " --scenarios " + String.join(",", scenarios));
  }

  /** Whether {@code scenario} is to run (for {@code fast-uncached}: whether its peers are). */
  boolean runs(String scenario) {
    return scenarios.contains(scenario);
  }

  /** A comma-separated list of scenario names, returned in {@link #ALL_SCENARIOS} order. */
  private static List<String> scenarios(String list) {
    List<String> named = new ArrayList<>();
    for (String name : list.split(",")) {
      String trimmed = name.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      if (!ALL_SCENARIOS.contains(trimmed)) {
        throw new IllegalArgumentException("--scenarios: unknown scenario " + trimmed + "; known: "
          + String.join(",", ALL_SCENARIOS));
      }
      named.add(trimmed);
    }
    if (named.isEmpty()) {
      throw new IllegalArgumentException("--scenarios names no scenario");
    }
    return ALL_SCENARIOS.stream().filter(named::contains).toList();
  }

  static String text(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  private static String pick(String arg, String smokePreset, String env, String fallback) {
    return arg != null ? arg : smokePreset != null ? smokePreset : env != null && !env.isBlank() ? env : fallback;
  }

  private static Path path(String given, Path fallback) {
    return (given == null ? fallback : Path.of(given)).toAbsolutePath().normalize();
  }

  private static int integer(String name, String value, int min, int max) {
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(name + " must be an integer " + min + ".." + max + ", got " + value);
  }

  /** As the diagnose command reads durations ({@code 500ms}, {@code 10s}, {@code 1m}); a bare number is seconds. */
  private static Duration duration(String name, String value, boolean zeroAllowed) {
    if (zeroAllowed && value.trim().matches("0+(ms|s)?")) {
      return Duration.ZERO;
    }
    String withUnit = value.trim().matches("\\d+") ? value.trim() + "s" : value;
    try {
      return Durations.parse(withUnit);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage());
    }
  }
}
