package io.sluice.bench;

import io.sluice.diagnose.BaseUrl;
import io.sluice.diagnose.ClosedLoop;
import io.sluice.diagnose.IdRange;
import io.sluice.diagnose.LoadRun;
import io.sluice.diagnose.Scenario;
import io.vertx.core.json.JsonObject;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The scenarios that check the proxy's shape rather than its speed: what a request meets because of how the pool and
 * its admission are laid out over event loops and nodes. Each runs the service as {@link Bench} runs it and reports
 * in the same form; {@link ShapeFigures} turns their figures into ratios and target rows.
 *
 * <ul>
 *   <li>{@code cluster-idle}: 1 API + 3 proxy processes, {@value #CLUSTER_IDLE_INSTANCES} proxy instances each, a
 *   budget of {@value #CLUSTER_IDLE_BUDGET}; {@value #CLUSTER_IDLE_READS} GETs one at a time. An idle cluster has no
 *   reason to answer 503.</li>
 *   <li>{@code cluster-slow}: one process, {@value #SLOW_INSTANCES} proxy instances over a pool of
 *   {@value #SLOW_POOL}; a fast lane of {@value #FAST_LANE_CONNECTIONS} connections alone, then beside one client
 *   whose writes wait on rows the bench holds locked. One slow client should cost the fast lane at most its one
 *   connection.</li>
 *   <li>{@code cache-repeat}: users cache on, {@value #SLOW_INSTANCES} proxy instances; {@value #REPEAT_IDS} fresh ids
 *   read twice in a row each. The second read should be a hit, whichever event loop takes it.</li>
 *   <li>{@code overload-open}: the overload service, driven by an {@link OpenLoop} at 3× the pool's capacity.</li>
 * </ul>
 */
final class ShapeScenarios {

  static final String CLUSTER_IDLE = "cluster-idle";
  static final String CLUSTER_SLOW = "cluster-slow";
  static final String CACHE_REPEAT = "cache-repeat";
  static final String OVERLOAD_OPEN = "overload-open";

  static final int CLUSTER_IDLE_PROXY_NODES = 3;
  static final int CLUSTER_IDLE_INSTANCES = 16;
  /** The proxy tier's budget ({@code db.pool.maxSize}), split between the proxy nodes. */
  static final int CLUSTER_IDLE_BUDGET = 20;
  static final int CLUSTER_IDLE_READS = 300;

  static final int SLOW_INSTANCES = 8;
  static final int SLOW_POOL = 8;
  static final int FAST_LANE_CONNECTIONS = 32;
  /** Users whose settings rows the bench locks and the slow client writes; the fast lane reads the others. */
  static final long LOCKED_FIRST = 1;
  static final long LOCKED_LAST = 200;
  /** The fast lane beside the slow client before it is measured: long enough for every loop to have met it. */
  static final Duration SETTLE = Duration.ofSeconds(3);

  static final int REPEAT_IDS = 50;

  /** Requests per second offered to the overload service: 3 × its pool's capacity (70 / 0.7 s). */
  static final double OPEN_RATE_PER_SECOND = Bench.OVERLOAD_FACTOR * overloadCapacityPerSecond();
  static final Duration OPEN_TIMEOUT = Duration.ofSeconds(5);
  private static final String SEQUENTIAL_GENERATOR = "one request at a time from the bench JVM (JDK HttpClient)";

  private final Bench bench;
  private final BenchOptions options;
  private final PrintStream progress;
  private final Path wrk;
  private final Path serviceJar;
  private final String stamp;

  /**
   * @param wrk   wrk when the bench uses it, else null (the closed loop)
   * @param stamp the run's stamp, which starts every log file's name
   */
  ShapeScenarios(Bench bench, BenchOptions options, PrintStream progress, Path wrk, Path serviceJar, String stamp) {
    this.bench = bench;
    this.options = options;
    this.progress = progress;
    this.wrk = wrk;
    this.serviceJar = serviceJar;
    this.stamp = stamp;
  }

  /** The pool's capacity under the overload's injected latency, by Little's law: 70 / 0.7 s = 100/s. */
  static double overloadCapacityPerSecond() {
    return Bench.OVERLOAD_POOL_MAX_SIZE * 1000.0 / ((Bench.OVERLOAD_MIN_MS + Bench.OVERLOAD_MAX_MS) / 2.0);
  }

  /** The single-process shape scenarios that are listed, in report order, each with its own service. */
  List<JsonObject> singleProcess() {
    List<JsonObject> scenarios = new ArrayList<>();
    if (options.runs(CLUSTER_SLOW)) {
      scenarios.add(clusterSlow());
    }
    if (options.runs(CACHE_REPEAT)) {
      scenarios.add(cacheRepeat());
    }
    if (options.runs(OVERLOAD_OPEN)) {
      scenarios.add(overloadOpen());
    }
    return scenarios;
  }

  // ---- cluster-idle ----

  /**
   * 1 API + 3 proxy processes on {@code host}'s database, ready once the proxies' pools add up to the budget; then
   * {@value #CLUSTER_IDLE_READS} sequential GETs of random ids at the API node, users cache off. The nodes are stopped
   * before this returns.
   */
  JsonObject clusterIdle(Bench.Running host) {
    Map<String, String> env = Map.of("SLUICE_CACHE_USERS_ENABLED", "false",
      "SLUICE_PROXY_INSTANCES", String.valueOf(CLUSTER_IDLE_INSTANCES));
    progress.printf("[bench] %s: starting 1 API node and %d proxy nodes (%d proxy instances each, budget %d)%n",
      CLUSTER_IDLE, CLUSTER_IDLE_PROXY_NODES, CLUSTER_IDLE_INSTANCES, CLUSTER_IDLE_BUDGET);
    try (SluiceCluster cluster = SluiceCluster.start(CLUSTER_IDLE_PROXY_NODES, serviceJar, options.heap(),
      options.workDir(), node -> logFile(CLUSTER_IDLE + "-" + node), host.db(), CLUSTER_IDLE_BUDGET, env)) {
      bench.currentCluster = cluster;
      List<Long> ids = randomIds(CLUSTER_IDLE_READS, false);
      SequentialReads reads = new SequentialReads(cluster.api().baseUrl(), ids, 1, Bench.REQUEST_TIMEOUT);
      Bench.Measured m = bench.measure(CLUSTER_IDLE, host, cluster.pids(), SEQUENTIAL_GENERATOR, reads::run);
      String proxy = cluster.proxies().get(0);
      JsonObject config = bench.config(1).put("cluster", cluster.membership())
        .put("proxyInstances", CLUSTER_IDLE_INSTANCES)
        .put("serviceEnvironment", Bench.json(cluster.environment(proxy)))
        .put("apiEnvironment", Bench.json(cluster.environment(SluiceCluster.API)));
      JsonObject json = new JsonObject().put("name", CLUSTER_IDLE)
        .put("measures", CLUSTER_IDLE_READS + " GET /users/{random id}, one at a time (each sent once the previous"
          + " one has its answer), users cache off, through 1 API process and " + CLUSTER_IDLE_PROXY_NODES
          + " proxy processes of " + CLUSTER_IDLE_INSTANCES + " proxy instances each, sharing a budget of "
          + CLUSTER_IDLE_BUDGET + " connections. Nothing queues: every 503 is the layout's, not the load's. Target: 0.")
        .put("config", config).put("serviceConfig", cluster.effectiveConfig(proxy))
        .mergeIn(m.json())
        .put("clusterIdle", new JsonObject().put("reads", (long) ids.size())
          .put("count503", m.load().count("503")).put("firstNon2xx", reads.firstNon2xx()));
      JsonObject nodes = cluster.describeNodes(options.heap());
      cluster.close();
      cluster.exitStatuses().forEach((node, status) -> nodes.getJsonObject(node).put("exitStatus", status));
      return json.put("process", bench.clusterProcess(nodes));
    } finally {
      bench.currentCluster = null;
    }
  }

  // ---- cluster-slow ----

  /**
   * Phase A: the fast lane alone. Phase B: the bench locks the settings rows of users 1..200 and one client loops
   * writes to them (each waits on the lock until the service gives up on it), the fast lane runs {@link #SETTLE}
   * unmeasured, then is measured again. The scenario's own figures are phase B's; {@code fastLaneAlone} holds A's.
   */
  private JsonObject clusterSlow() {
    if (options.users() <= LOCKED_LAST) {
      throw new IllegalStateException(CLUSTER_SLOW + " needs more than " + LOCKED_LAST + " users (the fast lane reads"
        + " ids above them), got --users " + options.users());
    }
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CACHE_USERS_ENABLED", "false");
    env.put("SLUICE_PROXY_INSTANCES", String.valueOf(SLOW_INSTANCES));
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(SLOW_POOL));
    IdRange fast = new IdRange(LOCKED_LAST + 1, options.users());
    try (Bench.Running running = bench.startService(CLUSTER_SLOW, env)) {
      BaseUrl url = BaseUrl.parse(running.service().baseUrl());
      bench.warmUp(CLUSTER_SLOW, () -> fastLane(url, fast, options.warmup()));
      Bench.Measured alone = bench.measure(CLUSTER_SLOW + " (fast lane alone)", running, running.service(),
        bench.httpGenerator(), () -> fastLane(url, fast, options.duration()));
      Bench.Measured beside;
      JsonObject slow;
      int lockedRows;
      progress.printf("[bench] %s: locking user_settings %d..%d and starting one slow client%n", CLUSTER_SLOW,
        LOCKED_FIRST, LOCKED_LAST);
      try (RowLocks locks = RowLocks.open(running.db(), new IdRange(LOCKED_FIRST, LOCKED_LAST))) {
        lockedRows = locks.hold();
        SlowWriter writer = SlowWriter.start(running.service().baseUrl(), LOCKED_FIRST, LOCKED_LAST);
        try {
          progress.printf("[bench] %s: fast lane beside the slow client, %s to settle (not measured)%n", CLUSTER_SLOW,
            BenchOptions.text(SETTLE));
          fastLane(url, fast, SETTLE);
          beside = bench.measure(CLUSTER_SLOW + " (fast lane beside one slow client)", running, running.service(),
            bench.httpGenerator(), () -> fastLane(url, fast, options.duration()));
        } finally {
          writer.stop();
          // The slow client's write in flight waits on a lock: the ROLLBACK lets it end.
          locks.release();
          writer.await();
        }
        slow = writer.figures();
      }
      JsonObject json = bench.scenario(CLUSTER_SLOW, "GET /users/{random id in " + fast + "} from "
          + FAST_LANE_CONNECTIONS + " connections (the fast lane), users cache off, " + SLOW_INSTANCES + " proxy"
          + " instances over a pool of " + SLOW_POOL + ": first alone, then beside ONE client looping PUT"
          + " /users/{id}/settings on users " + LOCKED_FIRST + ".." + LOCKED_LAST + ", whose rows the bench holds"
          + " locked (SELECT … FOR UPDATE in an open transaction), so that each write waits until the service gives"
          + " up on it. The figures are those beside the slow client, measured after " + BenchOptions.text(SETTLE)
          + " of it; fastLaneKept = their throughput / the fast lane's alone (target ≥ 0.8).",
        FAST_LANE_CONNECTIONS, running).mergeIn(beside.json());
      json.getJsonObject("config").put("ids", fast.toString());
      return json.put("fastLaneAlone", alone.json())
        .put("slowLane", new JsonObject().put("lockedRows", lockedRows).put("slowClient", slow)
          .put("fastLaneKept", Bench.ratio(beside.load().throughput(), alone.load().throughput())))
        .put("process", bench.process(running.service()));
    }
  }

  /** The fast lane: {@value #FAST_LANE_CONNECTIONS} connections of wrk, or closed-loop workers without it. */
  private ClosedLoop.Result fastLane(BaseUrl url, IdRange ids, Duration duration) {
    return wrk == null
      ? bench.load(new LoadRun.Plan(url, Scenario.USER, ids, FAST_LANE_CONNECTIONS, null, duration,
      Bench.REQUEST_TIMEOUT))
      : WrkLoad.run(wrk, options.workDir(), url, ids, FAST_LANE_CONNECTIONS, duration, Bench.REQUEST_TIMEOUT,
      progress);
  }

  // ---- cache-repeat ----

  /** {@value #REPEAT_IDS} ids never read before, each read twice in a row; the second read's X-Cache is tallied. */
  private JsonObject cacheRepeat() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CACHE_USERS_ENABLED", "true");
    env.put("SLUICE_CACHE_USERS_TTL_SECONDS", String.valueOf(Bench.CACHED_TTL_SECONDS));
    env.put("SLUICE_PROXY_INSTANCES", String.valueOf(SLOW_INSTANCES));
    try (Bench.Running running = bench.startService(CACHE_REPEAT, env)) {
      // A service just started has read no id: any id is fresh. No warm-up: it would read ids.
      List<Long> ids = randomIds(REPEAT_IDS, true);
      SequentialReads reads = new SequentialReads(running.service().baseUrl(), ids, 2, Bench.REQUEST_TIMEOUT);
      Bench.Measured m = bench.measure(CACHE_REPEAT, running, running.service(), SEQUENTIAL_GENERATOR, reads::run);
      JsonObject secondReads = new JsonObject();
      reads.lastReadCache().forEach(secondReads::put);
      JsonObject json = bench.scenario(CACHE_REPEAT, REPEAT_IDS + " ids never read before, each read twice in a row"
          + " (GET /users/{id}, one request at a time), users cache on, " + SLOW_INSTANCES + " proxy instances. The"
          + " first read of an id loads it; the second should be a hit (X-Cache: HIT) whichever event loop takes it."
          + " Target: all " + REPEAT_IDS + ".", 1, running)
        .mergeIn(m.json());
      json.getJsonObject("config").put("ids", ids.size() + " distinct ids at random in 1-" + options.users());
      return json.put("cacheRepeat", new JsonObject().put("ids", (long) ids.size())
          .put("repeatHits", reads.lastReadCache().getOrDefault("HIT", 0L))
          .put("secondReadXCache", secondReads).put("firstNon2xx", reads.firstNon2xx()))
        .put("process", bench.process(running.service()));
    }
  }

  // ---- overload-open ----

  /**
   * The overload service (pool 70, 400–1000 ms injected on every borrowed connection, cache off) offered
   * {@link #OPEN_RATE_PER_SECOND} requests a second on a fixed schedule, whatever it answers: the warm-up and the
   * measured cohort in one unbroken schedule, latency from each request's intended send time.
   */
  private JsonObject overloadOpen() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CACHE_USERS_ENABLED", "false");
    env.put("SLUICE_FAULTS_DB_LATENCY_ENABLED", "true");
    env.put("SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(Bench.OVERLOAD_MIN_MS));
    env.put("SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(Bench.OVERLOAD_MAX_MS));
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(Bench.OVERLOAD_POOL_MAX_SIZE));
    try (Bench.Running running = bench.startService(OVERLOAD_OPEN, env)) {
      OpenLoop.Plan plan = new OpenLoop.Plan(BaseUrl.parse(running.service().baseUrl()),
        new IdRange(1, options.users()), OPEN_RATE_PER_SECOND, options.warmup(), options.duration(), OPEN_TIMEOUT);
      String generator = "open loop at " + Math.round(OPEN_RATE_PER_SECOND) + "/s in the bench JVM (Vert.x web"
        + " client)";
      OpenLoop.Result result;
      Bench.Measured m;
      try (OpenLoop run = OpenLoop.start(plan, progress)) {
        if (!options.warmup().isZero()) {
          progress.printf("[bench] %s: warm-up %s (sent on the same schedule, not measured)%n", OVERLOAD_OPEN,
            BenchOptions.text(options.warmup()));
        }
        run.measuring().await();
        m = bench.measure(OVERLOAD_OPEN, running, running.service(), generator,
          () -> run.result().await().requests());
        result = run.result().await();
      }
      JsonObject json = bench.scenario(OVERLOAD_OPEN, "GET /users/{random id}, cache off, every borrowed connection"
          + " held " + Bench.OVERLOAD_MIN_MS + "–" + Bench.OVERLOAD_MAX_MS + " ms by injected latency, pool "
          + Bench.OVERLOAD_POOL_MAX_SIZE + " (capacity " + Math.round(overloadCapacityPerSecond()) + "/s), offered "
          + Math.round(OPEN_RATE_PER_SECOND) + " requests/s on a fixed schedule whatever the answers (open loop, as"
          + " wrk2): latency runs from each request's intended send time, so a stall is charged to every request"
          + " that arrives during it.", 0, running).mergeIn(m.json());
      json.getJsonObject("config").putNull("concurrency").put("openLoopRatePerSecond", OPEN_RATE_PER_SECOND)
        .put("requestTimeoutSeconds", OPEN_TIMEOUT.toSeconds());
      return json.put("openLoop", openLoopFigures(result)).put("process", bench.process(running.service()));
    }
  }

  static JsonObject openLoopFigures(OpenLoop.Result r) {
    ClosedLoop.Result load = r.requests();
    double capacity = overloadCapacityPerSecond();
    return new JsonObject()
      .put("ratePerSecond", OPEN_RATE_PER_SECOND)
      .put("poolMaxSize", Bench.OVERLOAD_POOL_MAX_SIZE)
      .put("injectedLatencyMs", new JsonObject().put("min", Bench.OVERLOAD_MIN_MS).put("max", Bench.OVERLOAD_MAX_MS)
        .put("mean", (Bench.OVERLOAD_MIN_MS + Bench.OVERLOAD_MAX_MS) / 2.0))
      .put("poolCapacityPerSecond", Bench.round(capacity))
      .put("scheduled", r.scheduled())
      .put("windowSeconds", Bench.round(r.windowSeconds()))
      .put("successes", load.successes())
      .put("rejections503", load.count("503"))
      .put("timeouts504", load.count("504"))
      .put("noAnswer", load.count("timeout") + load.count(ClosedLoop.ERROR))
      .put("goodputPerSecond", Bench.round(r.goodputPerSecond()))
      .put("goodputFractionOfCapacity", Bench.round(r.goodputPerSecond() / capacity))
      .put("successLatencyMs", Bench.latency(load.ok()))
      .put("rejectionLatencyMs", Bench.latency(load.rejected()))
      .put("sendLagMs", Bench.latency(r.sendLag()))
      .put("maxInFlight", r.maxInFlight())
      .put("latencyFrom", "the intended send time");
  }

  // ---- helpers ----

  /** {@code n} ids at random in 1..users; distinct ones when {@code distinct} (and there are enough). */
  private List<Long> randomIds(int n, boolean distinct) {
    if (distinct && n > options.users()) {
      throw new IllegalStateException("need " + n + " distinct users, --users is " + options.users());
    }
    Set<Long> seen = new LinkedHashSet<>();
    List<Long> ids = new ArrayList<>();
    while (ids.size() < n) {
      long id = 1 + ThreadLocalRandom.current().nextLong(options.users());
      if (!distinct || seen.add(id)) {
        ids.add(id);
      }
    }
    return ids;
  }

  private Path logFile(String name) {
    return options.workDir().resolve("logs").resolve(stamp + "-" + name + ".log");
  }
}
