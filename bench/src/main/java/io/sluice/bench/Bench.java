package io.sluice.bench;

import io.sluice.bench.peer.BlockingPeer;
import io.sluice.bench.peer.DirectPeer;
import io.sluice.bench.peer.PeerConfig;
import io.sluice.contract.Action;
import io.sluice.diagnose.BaseUrl;
import io.sluice.diagnose.ClosedLoop;
import io.sluice.diagnose.IdRange;
import io.sluice.diagnose.LoadRun;
import io.sluice.diagnose.Scenario;
import io.sluice.proxy.config.CacheSettings;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.config.PoolSettings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code bench/run}: starts the service jar once per scenario (a separate process, configured by environment
 * variables), drives it, reads the database server meanwhile, and writes one report as Markdown and JSON. The same
 * run measures two peers, each a program of its own in a JVM with the same {@code -Xmx}: the direct one (vertx-web +
 * vertx-mysql-client, {@link DirectPeer}) and the blocking one (the incident's design, {@link BlockingPeer}).
 *
 * <p>Order: the {@code fast-uncached} service starts (and with it the embedded database) and is measured; then, on
 * its database while it stays up and idle, {@code clustered} (1 API + 2 proxy processes, {@link SluiceCluster}),
 * {@code cluster-idle} (1 API + 3), {@code ceiling}, the direct peer ({@code fast-uncached}) and the blocking
 * peer ({@code fast-uncached}, {@code cached}, {@code overload}); then the {@code cached} and {@code overload}
 * services, and those of the other shape scenarios ({@link ShapeScenarios}); then the {@code slow-lane} service, and
 * both peers through the same phases on its database while it stays up and idle. All peers run on the database of a
 * service whose pool is the default 20: the overload service's 70 idle connections beside the blocking peer's 70 would
 * come close to MariaDB's default {@code max_connections} of 151. See bench/README.md for what each scenario
 * measures.
 */
public final class Bench {

  private static final Logger log = LoggerFactory.getLogger(Bench.class);

  /** The incident's bigger pool, and its 400–1000 ms queries (the fault injection's defaults). */
  static final int OVERLOAD_POOL_MAX_SIZE = 70;
  static final long OVERLOAD_MIN_MS = FaultSettings.DEFAULT_MIN_MS;
  static final long OVERLOAD_MAX_MS = FaultSettings.DEFAULT_MAX_MS;
  /** Offered concurrency over what the pool holds in flight at capacity (Little's law: maxSize). */
  static final int OVERLOAD_FACTOR = 3;
  /** Long enough that no entry expires during the cached scenario (the default 60 s is shorter than a run). */
  static final long CACHED_TTL_SECONDS = 600;
  /** Per request; every scenario answers far sooner (the service's own deadline is 2 s). */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  static final String FAST_UNCACHED = "fast-uncached";
  static final String CACHED = "cached";
  static final String OVERLOAD = "overload";
  /** Writer threads of the overload scenario's keyed writes, beside its 210 readers (about a 5 % share). */
  static final int OVERLOAD_KEYED_WRITERS = 10;
  static final String CEILING = "ceiling";
  /** fast-uncached's load through 1 API process and {@link #PROXY_NODES} proxy processes on loopback. */
  static final String CLUSTERED = "clustered";
  static final int PROXY_NODES = 2;
  /** The built-in load generator: {@code diagnose}'s {@link ClosedLoop}, in the bench's JVM. */
  static final String CLOSED_LOOP_GENERATOR = "closed loop in the bench JVM";

  /**
   * The incident's shape: a transaction of the bench's holds the settings rows of users 1..{@link #SLOW_LANE_LOCKED}
   * locked while {@link #SLOW_LANE_WRITERS} clients write those settings (the slow lane) and
   * {@link #SLOW_LANE_FAST_CONNECTIONS} connections read the other users (the fast lane). See {@link #slowLane()}.
   */
  static final String SLOW_LANE = "slow-lane";
  static final int SLOW_LANE_LOCKED = 200;
  static final int SLOW_LANE_WRITERS = 40;
  static final int SLOW_LANE_FAST_CONNECTIONS = 32;
  /** With the rows locked, before the fast lane is measured: long enough for the writers to fill what they can. */
  static final Duration SLOW_LANE_SETTLE = Duration.ofSeconds(3);
  /** The writers alone, without a lock: their normal rate of successes, which "recovered" is measured against. */
  static final Duration SLOW_LANE_PUT_ALONE = Duration.ofSeconds(5);
  /** After the ROLLBACK, the writers alone: the recovery is looked for in this span. */
  static final Duration SLOW_LANE_RELEASED = Duration.ofSeconds(5);
  static final Duration SLOW_LANE_BUCKET = Duration.ofMillis(250);
  /** Recovered: the first bucket after the release with at least this fraction of the normal rate. */
  static final double SLOW_LANE_BACK_FRACTION = 0.8;
  /** A write answered later than the deadline plus this is late. */
  static final long SLOW_LANE_SLACK_MS = 250;
  /**
   * The request deadline when the service's logged config does not say: api-module's
   * {@code HttpSettings.DEFAULT_REQUEST_TIMEOUT_MS} (the bench does not depend on api-module). The peers' writes have
   * the same budget ({@code PeerConfig.WRITE_TIMEOUT_MS}).
   */
  static final long DEFAULT_REQUEST_DEADLINE_MS = 2000;
  /** The slow lane's phases, as its writers record them. */
  static final String PHASE_WARM_UP = "warm-up";
  static final String PHASE_PUT_ALONE = "put-alone";
  static final String PHASE_WITH_SLOW = "with-slow";
  static final String PHASE_RELEASED = "released";
  private static final String PHASE_OVER = "over";

  /** The peers, by the names the report uses. */
  static final String SLUICE = "sluice";
  static final String DIRECT = "direct";
  static final String BLOCKING = "blocking";
  /** Both peers' pool: the incident's 70 connections (the direct peer's verticles share them out). */
  static final int PEER_POOL_MAX_SIZE = 70;
  /** HikariCP's minimumIdle in the incident's design. */
  static final int BLOCKING_MIN_IDLE = 30;

  private static final DateTimeFormatter STAMP =
    DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private final BenchOptions options;
  private final PrintStream progress;
  private final Instant date = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  /** A copy of the service jar taken at the start of the run (see {@link #snapshotJar()}). */
  private final Path serviceJar;
  private final String loadAverageAtStart;
  /** The service running now, for the shutdown hook; set and cleared by the bench's thread. */
  private volatile ServiceProcess current;
  /** The peer running now beside {@link #current}, for the shutdown hook, which stops it first. */
  private volatile ServiceProcess currentPeer;
  /** The cluster running now beside {@link #current}, for the shutdown hook, which stops it first too. */
  volatile SluiceCluster currentCluster;
  private String serverVersion;
  /** {@code wrk} when it is used for the HTTP scenarios but overload; null: the built-in closed loop. */
  private final Path wrk;

  Bench(BenchOptions options, PrintStream progress) {
    this.options = options;
    this.progress = progress;
    this.serviceJar = options.workDir().resolve("service/sluice.jar");
    this.loadAverageAtStart = Machine.loadAverage();
    this.wrk = options.loadGenerator().equals(BenchOptions.CLOSED_LOOP) ? null : WrkLoad.find().orElse(null);
    if (wrk == null && options.loadGenerator().equals(BenchOptions.WRK)) {
      throw new IllegalArgumentException("--load-generator wrk: wrk is not on the PATH");
    }
  }

  /** Where a run's report was written, and the report itself. */
  record Written(Path markdown, Path json, JsonObject report) {
  }

  public static void main(String[] args) {
    if (java.util.Arrays.asList(args).contains("--help") || java.util.Arrays.asList(args).contains("-h")) {
      System.out.println(BenchOptions.USAGE);
      return;
    }
    BenchOptions options;
    try {
      options = BenchOptions.parse(args, System.getenv(), Path.of(""));
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.println(BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    try {
      Written written = new Bench(options, System.err).run();
      System.out.println(Files.readString(written.markdown()));
      System.out.println("Report: " + written.markdown() + " and " + written.json());
    } catch (RuntimeException | IOException e) {
      log.error("The benchmark did not complete: {}", e.getMessage(), e);
      System.exit(1);
    }
  }

  /** Runs every scenario and writes the report; any scenario that cannot run fails the whole run. */
  Written run() {
    Thread hook = new Thread(this::stopCurrent, "bench-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      Files.createDirectories(options.workDir().resolve("logs"));
      Files.createDirectories(options.resultsDir());
      snapshotJar();
      JsonObject fast;
      JsonObject ceiling = null;
      JsonObject clustered = null;
      JsonObject clusterIdle = null;
      JsonObject clusterBudget = null;
      JsonObject clusterTrust = null;
      JsonObject clusterPartition = null;
      ShapeScenarios shapes = new ShapeScenarios(this, options, progress, wrk, serviceJar, STAMP.format(date));
      Map<String, JsonObject> direct = new LinkedHashMap<>();
      Map<String, JsonObject> blocking = new LinkedHashMap<>();
      try (Running running = startService(FAST_UNCACHED, Map.of("SLUICE_CACHE_USERS_ENABLED", "false"))) {
        running.db().ensureUsers(options.users());
        fast = fastUncached(running);
        // Right after the single process it is compared with, on its database, while it stays up and idle.
        if (options.runs(CLUSTERED)) {
          clustered = clustered(running);
        }
        if (options.runs(ShapeScenarios.CLUSTER_IDLE)) {
          clusterIdle = shapes.clusterIdle(running);
        }
        if (options.runs(CEILING)) {
          ceiling = ceiling(running);
        }
        if (options.runs(ClusterBudget.CLUSTER_BUDGET)) {
          clusterBudget = new ClusterBudget(this, options, progress, serviceJar, STAMP.format(date)).run(running);
        }
        if (options.runs(ClusterTrust.CLUSTER_TRUST)) {
          clusterTrust = new ClusterTrust(options, progress, serviceJar, STAMP.format(date)).run(running);
        }
        if (options.runs(ClusterPartition.CLUSTER_PARTITION)) {
          clusterPartition = new ClusterPartition(this, options, progress, serviceJar, STAMP.format(date))
            .run(running);
        }
        if (options.runs(FAST_UNCACHED)) {
          direct.put(FAST_UNCACHED, peer(FAST_UNCACHED, DIRECT, running, 0, -1));
          blocking.put(FAST_UNCACHED, peer(FAST_UNCACHED, BLOCKING, running, 0, -1));
        }
        if (options.runs(CACHED)) {
          blocking.put(CACHED, peer(CACHED, BLOCKING, running, CACHED_TTL_SECONDS, -1));
        }
        if (options.runs(OVERLOAD)) {
          blocking.put(OVERLOAD, peer(OVERLOAD, BLOCKING, running, 0, OVERLOAD_MIN_MS));
        }
        fast.put("process", process(running.service()));
      }
      JsonArray scenarios = new JsonArray().add(fast);
      if (options.runs(FAST_UNCACHED)) {
        fast.put("peers", new JsonObject().put(DIRECT, direct.get(FAST_UNCACHED))
          .put(BLOCKING, blocking.get(FAST_UNCACHED)));
      }
      if (options.runs(CACHED)) {
        scenarios.add(cached().put("peers", new JsonObject().put(BLOCKING, blocking.get(CACHED))));
      }
      if (options.runs(OVERLOAD)) {
        scenarios.add(overload().put("peers", new JsonObject().put(BLOCKING, blocking.get(OVERLOAD))));
      }
      if (ceiling != null) {
        fast.put("fractionOfCeiling", ratio(fast.getDouble("throughputPerSecond"),
          ceiling.getDouble("throughputPerSecond")));
        scenarios.add(ceiling);
      }
      if (clustered != null) {
        scenarios.add(clustered);
      }
      if (clusterIdle != null) {
        scenarios.add(clusterIdle);
      }
      shapes.singleProcess().forEach(scenarios::add);
      if (options.runs(SLOW_LANE)) {
        scenarios.add(slowLane());
      }
      new FaultScenarios(this, options, progress, serviceJar, STAMP.format(date)).run().forEach(scenarios::add);
      if (clusterBudget != null) {
        scenarios.add(clusterBudget);
      }
      if (clusterTrust != null) {
        scenarios.add(clusterTrust);
      }
      if (clusterPartition != null) {
        scenarios.add(clusterPartition);
      }
      return write(report(scenarios));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is shutting down: the hook is running or has run.
      }
    }
  }

  // ---- scenarios ----

  private JsonObject fastUncached(Running running) {
    BaseUrl url = BaseUrl.parse(running.service().baseUrl());
    int c = options.concurrency();
    warmUp(FAST_UNCACHED, () -> httpLoad(url, c, options.warmup()));
    Measured m = measure(FAST_UNCACHED, running, running.service(), httpGenerator(),
      () -> httpLoad(url, c, options.duration()));
    return scenario(FAST_UNCACHED, "GET /users/{random id} with the users cache off: every request goes HTTP → event"
      + " bus → proxy → pool → database and back.", c, running).mergeIn(m.json());
  }

  private JsonObject ceiling(Running running) {
    int c = options.concurrency();
    try (CeilingRun ceiling = CeilingRun.open(running.db())) {
      warmUp(CEILING, () -> ceiling.run(ids(), c, options.warmup(), progress));
      Measured m = measure(CEILING, running, Map.of(), CLOSED_LOOP_GENERATOR + " (with the pool under test)",
        () -> ceiling.run(ids(), c, options.duration(), progress));
      JsonObject json = new JsonObject().put("name", CEILING)
        .put("measures", "The same PK lookup issued straight at one Vert.x MySQL pool in the bench JVM: no HTTP, no"
          + " event bus, no admission, no cache. The database's ceiling for this read on this machine. The load"
          + " generator's CPU includes the pool: it runs in the bench's JVM.")
        .put("config", config(c).mergeIn(ceiling.describe())
          .put("note", "runs against the database of the fast-uncached service, which stays up and idle"));
      return json.mergeIn(m.json());
    }
  }

  /**
   * fast-uncached's load and generator through a cluster of the same jar on loopback: 1 API process and 2 proxy
   * processes, each with the same {@code -Xmx}, the proxies on {@code host}'s database, {@code db.pool.maxSize} the
   * single process's (in cluster mode, the tier's budget: each proxy node holds half). The nodes are stopped (SIGTERM)
   * before this returns, and their exit statuses reported.
   */
  private JsonObject clustered(Running host) {
    int budget = poolMaxSize(host.service());
    int c = options.concurrency();
    String stamp = STAMP.format(date);
    progress.printf("[bench] %s: starting 1 API node and %d proxy nodes%n", CLUSTERED, PROXY_NODES);
    JsonObject json;
    try (SluiceCluster cluster = SluiceCluster.start(serviceJar, options.heap(), options.workDir(),
      node -> options.workDir().resolve("logs").resolve(stamp + "-" + CLUSTERED + "-" + node + ".log"), host.db(),
      budget, Map.of("SLUICE_CACHE_USERS_ENABLED", "false"))) {
      currentCluster = cluster;
      BaseUrl url = BaseUrl.parse(cluster.api().baseUrl());
      String sameAnswer = sameAnswer(host.service(), cluster.api(), CLUSTERED);
      warmUp(CLUSTERED, () -> httpLoad(url, c, options.warmup()));
      Measured m = measure(CLUSTERED, host, cluster.pids(), httpGenerator(),
        () -> httpLoad(url, c, options.duration()));
      JsonObject config = config(c).put("cluster", cluster.membership())
        .put("serviceEnvironment", json(cluster.environment(SluiceCluster.PROXY_A)))
        .put("apiEnvironment", json(cluster.environment(SluiceCluster.API)));
      json = new JsonObject().put("name", CLUSTERED)
        .put("measures", "GET /users/{random id} with the users cache off, as fast-uncached and with its load"
          + " generator, through a cluster on loopback: 1 API process (HTTP tier) → clustered event bus (Hazelcast"
          + " membership, TCP between the nodes) → " + PROXY_NODES + " proxy processes, each with its share of the"
          + " tier's budget (db.pool.maxSize " + budget + ", the single process's pool), on the fast-uncached"
          + " service's database. On this machine's " + Runtime.getRuntime().availableProcessors() + " cores, the"
          + " 3 JVMs, the database and the load generator all compete for the same cores: the ratio to fast-uncached"
          + " is the cost of the hop AND of that crowding, not of the hop alone.")
        .put("config", config).put("serviceConfig", cluster.effectiveConfig(SluiceCluster.PROXY_A))
        .put("sameAnswerAsSluice", sameAnswer)
        .mergeIn(m.json());
      JsonObject nodes = cluster.describeNodes(options.heap());
      cluster.close();
      cluster.exitStatuses().forEach((node, status) -> nodes.getJsonObject(node).put("exitStatus", status));
      json.put("process", clusterProcess(nodes));
    } finally {
      currentCluster = null;
    }
    return json;
  }

  /** The single process's {@code db.pool.maxSize}, from the config it logged (the built-in default if not found). */
  private static int poolMaxSize(ServiceProcess service) {
    JsonObject config = service.effectiveConfig();
    JsonObject pool = config == null ? null : config.getJsonObject("db", new JsonObject()).getJsonObject("pool");
    return pool == null ? PoolSettings.DEFAULT_MAX_SIZE : pool.getInteger("maxSize", PoolSettings.DEFAULT_MAX_SIZE);
  }

  /**
   * A cluster's {@code process}: each node's, the highest peak RSS as {@code peakRssMiB} (what the other scenarios
   * report for their one process) and the sum of the nodes' as {@code totalPeakRssMiB}.
   */
  JsonObject clusterProcess(JsonObject nodes) {
    long highest = -1;
    long total = 0;
    for (String node : nodes.fieldNames()) {
      Long rss = nodes.getJsonObject(node).getLong("peakRssBytes");
      // One unreadable node makes the total unknown, not smaller.
      highest = rss == null ? highest : Math.max(highest, rss);
      total = rss == null || total < 0 ? -1 : total + rss;
    }
    return new JsonObject().put("xmx", options.heap())
      .put("peakRssBytes", highest < 0 ? null : highest)
      .put("peakRssMiB", highest < 0 ? null : round(highest / 1048576.0))
      .put("totalPeakRssBytes", total < 0 ? null : total)
      .put("totalPeakRssMiB", total < 0 ? null : round(total / 1048576.0))
      .put("nodes", nodes);
  }

  static JsonObject json(Map<String, String> map) {
    JsonObject json = new JsonObject();
    map.forEach(json::put);
    return json;
  }

  private JsonObject cached() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CACHE_USERS_ENABLED", "true");
    env.put("SLUICE_CACHE_USERS_TTL_SECONDS", String.valueOf(CACHED_TTL_SECONDS));
    env.put("SLUICE_CACHE_USERS_MAX_ENTRIES", String.valueOf(Math.max(options.users(),
      CacheSettings.DEFAULT_MAX_ENTRIES)));
    try (Running running = startService(CACHED, env)) {
      BaseUrl url = BaseUrl.parse(running.service().baseUrl());
      int c = options.concurrency();
      ClosedLoop.Result prime = prime(CACHED, url, c);
      warmUp(CACHED, () -> httpLoad(url, c, options.warmup()));
      Measured m = measure(CACHED, running, running.service(), httpGenerator(),
        () -> httpLoad(url, c, options.duration()));
      JsonObject json = scenario(CACHED, "GET /users/{random id} with the users cache on, after every id was read"
        + " once and a warm-up: fresh hits answered by the proxy without touching the pool.", c, running);
      json.getJsonObject("config").put("prime", primed(prime));
      json.mergeIn(m.json()).put("process", process(running.service()));
      // The same process's cheapest answer, with the same load: what a read served from memory costs beyond HTTP.
      warmUp(CACHED + " /health/live", () -> liveLoad(url, c, options.warmup()));
      Measured live = measure(CACHED + " /health/live", running, running.service(), httpGenerator(),
        () -> liveLoad(url, c, options.duration()));
      return json.put("live", live.json());
    }
  }

  private JsonObject overload() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CACHE_USERS_ENABLED", "false");
    env.put("SLUICE_FAULTS_DB_LATENCY_ENABLED", "true");
    env.put("SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(OVERLOAD_MIN_MS));
    env.put("SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(OVERLOAD_MAX_MS));
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(OVERLOAD_POOL_MAX_SIZE));
    int c = OVERLOAD_FACTOR * OVERLOAD_POOL_MAX_SIZE;
    try (Running running = startService(OVERLOAD, env)) {
      BaseUrl url = BaseUrl.parse(running.service().baseUrl());
      warmUp(OVERLOAD, () -> lookups(url, c, options.warmup()));
      // A share of writes beside the reads, each with an Idempotency-Key and retried until 201: they must be stored
      // exactly once, and every acknowledged one must be stored.
      KeyedWrites writes = KeyedWrites.start(running.service().baseUrl(), options.users(), OVERLOAD_KEYED_WRITERS);
      Measured m;
      try {
        m = measure(OVERLOAD, running, running.service(), CLOSED_LOOP_GENERATOR,
          () -> lookups(url, c, options.duration()));
      } finally {
        writes.stop();
      }
      JsonObject keyed = writes.verify(running.db());
      JsonObject json = scenario(OVERLOAD, "GET /users/{random id}, cache off, every borrowed connection held "
        + OVERLOAD_MIN_MS + "–" + OVERLOAD_MAX_MS + " ms by injected latency, pool " + OVERLOAD_POOL_MAX_SIZE
        + ", offered " + OVERLOAD_FACTOR + "× what the pool holds in flight at capacity: the incident, replayed.",
        c, running).mergeIn(m.json());
      return json.put("overload", overloadFigures(m.load()).put("keyedWrites", keyed))
        .put("process", process(running.service()));
    }
  }

  /** Goodput against the pool's capacity, and the latency of successes and of rejections, each on its own. */
  private JsonObject overloadFigures(ClosedLoop.Result load) {
    double meanMs = (OVERLOAD_MIN_MS + OVERLOAD_MAX_MS) / 2.0;
    double capacity = OVERLOAD_POOL_MAX_SIZE * 1000.0 / meanMs;
    // Over the sending time only: the drain after it runs a pool that is no longer offered enough work.
    double goodput = load.successesWhileSending() / (options.duration().toMillis() / 1000.0);
    return new JsonObject()
      .put("poolMaxSize", OVERLOAD_POOL_MAX_SIZE)
      .put("injectedLatencyMs", new JsonObject().put("min", OVERLOAD_MIN_MS).put("max", OVERLOAD_MAX_MS)
        .put("mean", meanMs))
      .put("poolCapacityPerSecond", round(capacity))
      .put("successes", load.successes())
      .put("successesWhileSending", load.successesWhileSending())
      .put("rejections503", load.count("503"))
      .put("timeouts504", load.count("504"))
      .put("goodputPerSecond", round(goodput))
      .put("goodputFractionOfCapacity", round(goodput / capacity))
      .put("goodputIncludingDrainPerSecond", round(load.successes() / load.seconds()))
      .put("successLatencyMs", latency(load.ok()))
      .put("rejectionLatencyMs", latency(load.rejected()));
  }

  /**
   * The slow lane: a service of its own (users cache off, default pool), driven through {@link #slowLanePhases}; then
   * both peers through the same phases on its database, while it stays up and idle. Before its phases, each peer must
   * answer {@code PUT /users/1/settings} with the JSON Sluice answered.
   */
  private JsonObject slowLane() {
    try (Running running = startService(SLOW_LANE, Map.of("SLUICE_CACHE_USERS_ENABLED", "false"))) {
      long deadlineMs = requestDeadlineMs(running.service());
      JsonObject settings = SlowLane.body(0, 0);
      JsonObject written = SlowLane.putOnce(running.service().baseUrl(), 1, settings);
      JsonObject json = scenario(SLOW_LANE, "The incident's shape: a transaction of the bench's holds the settings"
        + " rows of users 1.." + SLOW_LANE_LOCKED + " locked (SELECT … FOR UPDATE) while " + SLOW_LANE_WRITERS
        + " closed-loop clients PUT /users/{id}/settings for those users (the slow lane, " + Action.PUT_SETTINGS
        + ") and " + SLOW_LANE_FAST_CONNECTIONS + " connections GET /users/{random id} of the other users (the fast"
        + " lane), users cache off. The figures at the top are the fast lane's with the rows locked; slowLane holds"
        + " every phase.", SLOW_LANE_FAST_CONNECTIONS, running)
        .mergeIn(slowLanePhases(SLOW_LANE, running, running.service(), deadlineMs));
      slowLaneConfig(json.getJsonObject("config"));
      JsonObject peers = new JsonObject();
      for (String name : List.of(DIRECT, BLOCKING)) {
        peers.put(name, withPeer(SLOW_LANE, name, running, 0, -1, SLOW_LANE_FAST_CONNECTIONS,
          (peer, config, label, peerJson) -> {
            JsonObject answer = SlowLane.putOnce(peer.baseUrl(), 1, settings);
            if (!answer.equals(written)) {
              throw new IllegalStateException(label + " answers PUT /users/1/settings with " + answer + ", Sluice"
                + " with " + written);
            }
            peerJson.put("sameWriteAnswerAsSluice", "PUT /users/1/settings: " + answer.fieldNames())
              .mergeIn(slowLanePhases(label, running, peer, deadlineMs));
            slowLaneConfig(peerJson.getJsonObject("config"));
          }));
      }
      return json.put("peers", peers).put("process", process(running.service()));
    }
  }

  /**
   * The slow lane's phases against {@code target} (the service or a peer) on {@code host}'s database:
   * <ol>
   *   <li>warm-up (both lanes, no lock, not measured), then put-alone: the writers alone for
   *   {@link #SLOW_LANE_PUT_ALONE}, their normal rate of 200s;</li>
   *   <li>alone: the fast lane alone, measured;</li>
   *   <li>with-slow: the rows locked and the writers sending; the fast lane settles {@link #SLOW_LANE_SETTLE}, then is
   *   measured;</li>
   *   <li>released: ROLLBACK; the writers alone (the fast lane has stopped, as in put-alone) for
   *   {@link #SLOW_LANE_RELEASED}, in which the recovery is looked for.</li>
   * </ol>
   * Returns the with-slow measurement at the top level, as the other scenarios return theirs, and every phase under
   * {@code slowLane}. The writers honour Retry-After (see {@link SlowLane}).
   */
  private JsonObject slowLanePhases(String label, Running host, ServiceProcess target, long deadlineMs) {
    return slowLaneFigures(runSlowLane(label, host, target), deadlineMs);
  }

  /**
   * What the slow lane's phases leave: every write, the put-alone window and the moment of the release
   * ({@link System#nanoTime()}), the fast lane's two measurements, and how many rows were locked.
   */
  private record LaneRun(List<SlowLane.Answer> answers, long putAloneFrom, long putAloneTo, long released,
                         Measured alone, Measured withSlow, int lockedRows, IdRange fast, IdRange locked) {
  }

  /** Runs the phases {@link #slowLanePhases} describes; the lock is released and the writers stopped on return. */
  private LaneRun runSlowLane(String label, Running host, ServiceProcess target) {
    BaseUrl url = BaseUrl.parse(target.baseUrl());
    IdRange fast = new IdRange(SLOW_LANE_LOCKED + 1, options.users());
    IdRange locked = new IdRange(1, SLOW_LANE_LOCKED);
    int c = SLOW_LANE_FAST_CONNECTIONS;
    List<SlowLane.Answer> answers = new ArrayList<>();
    long putAloneFrom;
    long putAloneTo;
    Measured alone;
    Measured withSlow;
    long released;
    int lockedRows;
    try (RowLocks locks = RowLocks.open(host.db(), locked)) {
      try (SlowLane writers = SlowLane.start(target.baseUrl(), locked, SLOW_LANE_WRITERS, PHASE_WARM_UP)) {
        warmUp(label, () -> httpLoad(url, fast, c, options.warmup()));
        progress.printf("[bench] %s: %s, %s: %d writers, no lock, no fast lane%n", label, PHASE_PUT_ALONE,
          BenchOptions.text(SLOW_LANE_PUT_ALONE), SLOW_LANE_WRITERS);
        putAloneFrom = writers.endPhase(PHASE_PUT_ALONE);
        pause(SLOW_LANE_PUT_ALONE);
        putAloneTo = writers.endPhase(PHASE_OVER);
        writers.stop();
        answers.addAll(writers.answers());
      }
      alone = measure(label + " · alone", host, target, httpGenerator(),
        () -> httpLoad(url, fast, c, options.duration()));
      lockedRows = locks.hold();
      try (SlowLane writers = SlowLane.start(target.baseUrl(), locked, SLOW_LANE_WRITERS, PHASE_WITH_SLOW)) {
        progress.printf("[bench] %s: %s: %d settings rows locked, %d writers; the fast lane settles %s%n", label,
          PHASE_WITH_SLOW, lockedRows, SLOW_LANE_WRITERS, BenchOptions.text(SLOW_LANE_SETTLE));
        httpLoad(url, fast, c, SLOW_LANE_SETTLE);
        withSlow = measureStarvable(label + " · with-slow", host, target, httpGenerator(),
          () -> httpLoad(url, fast, c, options.duration()));
        // The release is timed before the ROLLBACK is sent: its round trip counts in the recovery.
        released = writers.endPhase(PHASE_RELEASED);
        locks.release();
        progress.printf("[bench] %s: %s: ROLLBACK; the writers alone for %s%n", label, PHASE_RELEASED,
          BenchOptions.text(SLOW_LANE_RELEASED));
        pause(SLOW_LANE_RELEASED);
        writers.stop();
        answers.addAll(writers.answers());
      }
    }
    return new LaneRun(answers, putAloneFrom, putAloneTo, released, alone, withSlow, lockedRows, fast, locked);
  }

  /** The slow lane's figures from its run: the writers by phase, the recovery, the fast lane alone and locked. */
  private JsonObject slowLaneFigures(LaneRun run, long deadlineMs) {
    List<SlowLane.Answer> answers = run.answers();
    double putAloneSeconds = (run.putAloneTo() - run.putAloneFrom()) / 1e9;
    double normal = SlowLane.successesBetween(answers, run.putAloneFrom(), run.putAloneTo()) / putAloneSeconds;
    long lateAfterMs = deadlineMs + SLOW_LANE_SLACK_MS;
    JsonObject putAlone = SlowLane.figures(answers, PHASE_PUT_ALONE, lateAfterMs)
      .put("seconds", round(putAloneSeconds)).put("successesPerSecond", round(normal));
    JsonObject withSlowWriters = SlowLane.figures(answers, PHASE_WITH_SLOW, lateAfterMs);
    JsonObject releasedWriters = SlowLane.figures(answers, PHASE_RELEASED, lateAfterMs);
    JsonObject recovery = SlowLane.recovery(answers, run.released(), normal, SLOW_LANE_BACK_FRACTION,
      SLOW_LANE_BUCKET, SLOW_LANE_RELEASED);
    JsonObject aloneJson = run.alone().json();
    JsonObject withSlowJson = run.withSlow().json();
    Double p99Alone = p99(aloneJson);
    Double p99WithSlow = p99(withSlowJson);
    long late = putAlone.getLong("late") + withSlowWriters.getLong("late") + releasedWriters.getLong("late");
    // Starved: no fast-lane answer at all with the rows locked, so no p99 to divide; the p99 target is then not met.
    boolean starved = withSlowJson.getJsonObject("latencyMs") == null;
    JsonObject slowLane = new JsonObject()
      .put("fastLane", new JsonObject().put("connections", SLOW_LANE_FAST_CONNECTIONS)
        .put("ids", run.fast().toString()).put("generator", httpGenerator()))
      .put("writers", new JsonObject().put("clients", SLOW_LANE_WRITERS).put("ids", run.locked().toString())
        .put("honoursRetryAfter", true))
      .put("lockedRows", run.lockedRows()).put("deadlineMs", deadlineMs).put("slackMs", SLOW_LANE_SLACK_MS)
      .put("lateAfterMs", lateAfterMs).put("settleSeconds", round(SLOW_LANE_SETTLE.toMillis() / 1000.0))
      .put("putAlone", putAlone)
      .put("alone", new JsonObject().put("fastLane", aloneJson))
      .put("withSlow", new JsonObject().put("fastLane", withSlowJson).put("writers", withSlowWriters))
      .put("released", new JsonObject().put("seconds", round(SLOW_LANE_RELEASED.toMillis() / 1000.0))
        .put("writers", releasedWriters).put("recovery", recovery))
      .put("fastAlonePerSecond", aloneJson.getDouble("throughputPerSecond"))
      .put("fastWithSlowPerSecond", withSlowJson.getDouble("throughputPerSecond"))
      .put("fastKept", ratio(withSlowJson.getDouble("throughputPerSecond"), aloneJson.getDouble("throughputPerSecond")))
      .put("p99AloneMs", p99Alone).put("p99WithSlowMs", p99WithSlow).put("p99Ratio", ratio(p99WithSlow, p99Alone))
      .put("fastLaneStarved", starved)
      .put("writerAnswers", withSlowWriters.getJsonObject("byStatus")).put("late", late)
      .put("recovered", recovery.getBoolean("recovered")).put("recoveryMs", recovery.getLong("recoveryMs"));
    return withSlowJson.copy().put("slowLane", slowLane);
  }

  /** A measurement's p99 in ms; null when it had no answer (its {@code latencyMs} is then null, not absent). */
  private static Double p99(JsonObject measured) {
    JsonObject latency = measured.getJsonObject("latencyMs");
    return latency == null ? null : latency.getDouble("p99");
  }

  /** The fast lane's ids and the writers, in a slow-lane program's {@code config}. */
  private void slowLaneConfig(JsonObject config) {
    config.put("ids", (SLOW_LANE_LOCKED + 1) + "-" + options.users()).put("writers", SLOW_LANE_WRITERS)
      .put("lockedIds", "1-" + SLOW_LANE_LOCKED);
  }

  /** The service's request deadline ({@code http.requestTimeoutMs}) from the config it logged, else the default. */
  private static long requestDeadlineMs(ServiceProcess service) {
    JsonObject config = service.effectiveConfig();
    JsonObject http = config == null ? null : config.getJsonObject("http");
    return http == null ? DEFAULT_REQUEST_DEADLINE_MS
      : http.getLong("requestTimeoutMs", DEFAULT_REQUEST_DEADLINE_MS);
  }

  /** A phase's length: the bench's thread waits while the clients run. */
  private static void pause(Duration phase) {
    try {
      Thread.sleep(phase.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during a phase of " + SLOW_LANE);
    }
  }

  // ---- the peers ----

  /**
   * Starts the peer {@code name} on {@code host}'s database, drives it as the Sluice scenario {@code scenario} drives
   * the service (fills its cache first when it has one; the closed loop and 210 workers under overload), and stops
   * it. Its cache has the users cache's TTL and size when {@code cacheTtlSeconds} > 0; the overload's latency is
   * injected when {@code latencyMinMs} >= 0. Its JSON has the scenario's measured fields, plus its process.
   */
  private JsonObject peer(String scenario, String name, Running host, long cacheTtlSeconds, long latencyMinMs) {
    boolean overload = scenario.equals(OVERLOAD);
    int c = overload ? OVERLOAD_FACTOR * OVERLOAD_POOL_MAX_SIZE : options.concurrency();
    return withPeer(scenario, name, host, cacheTtlSeconds, latencyMinMs, c, (peer, config, label, json) -> {
      BaseUrl url = BaseUrl.parse(peer.baseUrl());
      if (config.cacheEnabled()) {
        json.getJsonObject("config").put("prime", primed(prime(label, url, c)));
      }
      warmUp(label, overload ? () -> lookups(url, c, options.warmup()) : () -> httpLoad(url, c, options.warmup()));
      Measured m = measure(label, host, peer, overload ? CLOSED_LOOP_GENERATOR : httpGenerator(),
        overload ? () -> lookups(url, c, options.duration()) : () -> httpLoad(url, c, options.duration()));
      json.mergeIn(m.json());
      if (overload) {
        json.put("overload", overloadFigures(m.load()));
      }
    });
  }

  /** What a scenario does with a peer once it answers: adds its figures to {@code json}, the peer's report. */
  @FunctionalInterface
  private interface PeerLoad {
    void run(ServiceProcess peer, PeerConfig config, String label, JsonObject json);
  }

  /**
   * Starts the peer {@code name} on {@code host}'s database, checks that it answers {@code GET /users/1} as Sluice
   * does, hands it to {@code load}, and stops it. Returns its report: what it is, what {@code load} added, its process.
   */
  private JsonObject withPeer(String scenario, String name, Running host, long cacheTtlSeconds, long latencyMinMs,
                              int concurrency, PeerLoad load) {
    // minimumIdle is HikariCP's: the direct peer's Vert.x pools open connections on demand.
    PeerConfig config = new PeerConfig(ServiceProcess.freePort(), host.db().settings(), PEER_POOL_MAX_SIZE,
      name.equals(BLOCKING) ? BLOCKING_MIN_IDLE : 0, cacheTtlSeconds,
      Math.max(options.users(), CacheSettings.DEFAULT_MAX_ENTRIES), latencyMinMs,
      latencyMinMs < 0 ? -1 : OVERLOAD_MAX_MS, 0);
    String mainClass = (name.equals(DIRECT) ? DirectPeer.class : BlockingPeer.class).getName();
    String label = scenario + " · " + name + " peer";
    progress.printf("[bench] %s: starting%n", label);
    Path logFile = options.workDir().resolve("logs").resolve(STAMP.format(date) + "-" + scenario + "-" + name
      + ".log");
    try (ServiceProcess peer = ServiceProcess.startPeer(name + " peer", mainClass, config.toArgs(), config.port(),
      options.heap(), options.workDir(), logFile, Map.of(PeerConfig.PASSWORD_ENV, host.db().password()))) {
      currentPeer = peer;
      JsonObject json = describePeer(name, mainClass, config, concurrency)
        .put("sameAnswerAsSluice", sameAnswer(host.service(), peer, label));
      load.run(peer, config, label, json);
      return json.put("process", process(peer));
    } finally {
      currentPeer = null;
    }
  }

  /**
   * The peer answers {@code GET /users/1} with the very JSON Sluice answers (it is read before the peer's load): the
   * comparison is of the same work. A peer that differs fails the run.
   */
  private static String sameAnswer(ServiceProcess sluice, ServiceProcess peer, String label) {
    JsonObject expected = sluice.get("/users/1");
    JsonObject actual = peer.get("/users/1");
    if (!expected.equals(actual)) {
      throw new IllegalStateException(label + " answers GET /users/1 with " + actual + ", Sluice with " + expected);
    }
    return "GET /users/1: " + actual.fieldNames();
  }

  private JsonObject describePeer(String name, String mainClass, PeerConfig config, int concurrency) {
    String measures = name.equals(DIRECT)
      ? "The stack's direct limit: vertx-web + vertx-mysql-client, one verticle per core, each with its own pool ("
      + PEER_POOL_MAX_SIZE + " connections in all), no event bus."
      : "The incident's design in Java: JDK HttpServer on " + BlockingPeer.THREADS + " threads, HikariCP max "
      + PEER_POOL_MAX_SIZE + " / min idle " + BLOCKING_MIN_IDLE + ", 2 s connection timeout (then 503), MariaDB"
      + " JDBC.";
    JsonObject settings = config(concurrency).put("arguments", String.join(" ", config.toArgs()))
      .put("cache", config.cacheEnabled() ? "Caffeine, expire " + config.cacheTtlSeconds() + " s after write, max "
        + config.cacheMaxEntries() + " entries, encoded answers" : "off")
      .put("injectedLatencyMs", config.latencyEnabled() ? config.latencyMinMs() + "-" + config.latencyMaxMs() : null);
    return new JsonObject().put("name", name).put("program", mainClass).put("measures", measures)
      .put("config", settings);
  }

  /** What the report says about a process: its pid, {@code -Xmx}, and peak RSS so far. */
  JsonObject process(ServiceProcess process) {
    long rss = process.peakRssBytes();
    return new JsonObject().put("pid", process.pid()).put("xmx", options.heap())
      .put("peakRssBytes", rss < 0 ? null : rss).put("peakRssMiB", rss < 0 ? null : round(rss / 1048576.0));
  }

  // ---- loads ----

  /** Users 1..{@code --users}: the ids every load picks from. */
  private IdRange ids() {
    return new IdRange(1, options.users());
  }

  /**
   * {@code GET /users/{random id}} from {@code concurrency} workers for {@code duration}: {@code wrk} when it is
   * used, else the closed loop.
   */
  private ClosedLoop.Result httpLoad(BaseUrl url, int concurrency, Duration duration) {
    return httpLoad(url, ids(), concurrency, duration);
  }

  /** {@code GET /health/live} with the load generator of {@link #httpLoad}. */
  private ClosedLoop.Result liveLoad(BaseUrl url, int concurrency, Duration duration) {
    return wrk == null
      ? load(new LoadRun.Plan(url, Scenario.LIVE, ids(), concurrency, null, duration, REQUEST_TIMEOUT))
      : WrkLoad.run(wrk, options.workDir(), url, Scenario.LIVE.path(0, 0), concurrency, duration, REQUEST_TIMEOUT,
        progress);
  }

  /** {@link #httpLoad(BaseUrl, int, Duration)} on the users of {@code ids} only. */
  private ClosedLoop.Result httpLoad(BaseUrl url, IdRange ids, int concurrency, Duration duration) {
    return wrk == null ? lookups(url, ids, concurrency, duration)
      : WrkLoad.run(wrk, options.workDir(), url, ids, concurrency, duration, REQUEST_TIMEOUT, progress);
  }

  /** Every id once, in order: fills a cache before its warm-up. */
  private ClosedLoop.Result prime(String label, BaseUrl url, int concurrency) {
    progress.printf("[bench] %s: filling the cache with users 1..%d%n", label, options.users());
    return load(new LoadRun.Plan(url, Scenario.USER, ids(), concurrency, (long) options.users(), null,
      REQUEST_TIMEOUT, true));
  }

  private static JsonObject primed(ClosedLoop.Result prime) {
    return new JsonObject().put("requests", prime.total()).put("seconds", round(prime.seconds()))
      .put("statusCounts", counts(prime.counts()));
  }

  /** The HTTP scenarios' load generator, as the report names it (overload always uses the closed loop). */
  String httpGenerator() {
    return wrk == null ? CLOSED_LOOP_GENERATOR : "wrk (" + wrk + ")";
  }

  /** {@code GET /users/{random id}} from {@code concurrency} closed-loop workers for {@code duration}. */
  private ClosedLoop.Result lookups(BaseUrl url, int concurrency, Duration duration) {
    return lookups(url, ids(), concurrency, duration);
  }

  private ClosedLoop.Result lookups(BaseUrl url, IdRange ids, int concurrency, Duration duration) {
    return load(new LoadRun.Plan(url, Scenario.USER, ids, concurrency, null, duration, REQUEST_TIMEOUT));
  }

  /** The diagnose command's HTTP load, unchanged; blocks until the requests in flight at its end have finished. */
  ClosedLoop.Result load(LoadRun.Plan plan) {
    try (LoadRun run = LoadRun.start(plan, progress)) {
      return run.result().await().requests();
    }
  }

  // ---- running the service and measuring ----

  /** A service process and the database it uses. */
  record Running(ServiceProcess service, DbTarget db) implements AutoCloseable {

    /** The embedded MariaDB server this service started, if any: its CPU is reported beside the service's. */
    Long databasePid() {
      return db.embedded() ? ProcStat.databaseServer(service.handle()).map(ProcessHandle::pid).orElse(null) : null;
    }

    @Override
    public void close() {
      service.close();
    }
  }

  Running startService(String scenario, Map<String, String> scenarioEnv) {
    Map<String, String> env = new LinkedHashMap<>();
    DbTarget db = options.externalDb();
    int embeddedPort = ServiceProcess.freePort();
    if (db == null) {
      env.put("SLUICE_EMBEDDED_DATA_DIR", dataDir().toString());
      env.put("SLUICE_EMBEDDED_PORT", String.valueOf(embeddedPort));
      env.put("SLUICE_EMBEDDED_SEED_USERS", String.valueOf(options.users()));
    } else {
      env.put("SLUICE_DB_HOST", db.host());
      env.put("SLUICE_DB_PORT", String.valueOf(db.port()));
      env.put("SLUICE_DB_DATABASE", db.database());
      env.put("SLUICE_DB_USER", db.user());
      env.put("SLUICE_DB_PASSWORD", db.password());
    }
    env.putAll(scenarioEnv);
    progress.printf("[bench] %s: starting the service%n", scenario);
    Path logFile = options.workDir().resolve("logs").resolve(STAMP.format(date) + "-" + scenario + ".log");
    ServiceProcess service = ServiceProcess.start(serviceJar, options.heap(), options.workDir(), logFile, env);
    current = service;
    if (db == null) {
      // The service wrote the embedded database's password into its data directory at its first start.
      db = DbTarget.embedded(embeddedPort, dataDir().resolve("mariadb"));
    }
    return new Running(service, db);
  }

  /**
   * Every scenario runs the jar as it was when the run began, although a build elsewhere may replace
   * {@code app/target/sluice.jar} meanwhile.
   */
  private void snapshotJar() throws IOException {
    Files.createDirectories(serviceJar.getParent());
    Files.copy(options.jar(), serviceJar, StandardCopyOption.REPLACE_EXISTING);
  }

  /** The embedded MariaDB's directory (its client, its socket) under {@link #dataDir}. */
  Path embeddedDir() {
    return dataDir().resolve("mariadb");
  }

  /** One data directory per user count: a directory once seeded is never seeded again. */
  private Path dataDir() {
    return options.workDir().resolve("data-" + options.users());
  }

  private void stopCurrent() {
    SluiceCluster cluster = currentCluster;
    if (cluster != null) {
      cluster.close();
    }
    ServiceProcess peer = currentPeer;
    if (peer != null) {
      peer.close();
    }
    ServiceProcess service = current;
    if (service != null) {
      service.close();
    }
  }

  void warmUp(String scenario, Supplier<ClosedLoop.Result> load) {
    if (options.warmup().isZero()) {
      return;
    }
    progress.printf("[bench] %s: warm-up %s (not measured)%n", scenario, BenchOptions.text(options.warmup()));
    ClosedLoop.Result l = load.get();
    progress.printf("[bench] %s: warm-up done, %d requests%n", scenario, l.total());
  }

  /**
   * The load's outcome with the server's side sampled while it ran, and the CPU used meanwhile by the load generator,
   * the process under test and the database.
   */
  record Measured(ClosedLoop.Result load, JsonObject server, String generator, JsonObject cpu) {

    JsonObject json() {
      return new JsonObject().put("requests", load.total()).put("elapsedSeconds", round(load.seconds()))
        .put("throughputPerSecond", round(load.throughput())).put("latencyMs", latency(load.latency()))
        .put("statusCounts", counts(load.counts())).put("firstError", load.firstError())
        .put("loadGenerator", new JsonObject().put("tool", generator)
          .mergeIn(cpu.getJsonObject("loadGenerator")))
        .put("cpu", cpu)
        .put("server", server);
    }
  }

  /**
   * Runs {@code load} against {@code target} on {@code host}'s database, sampling the server and metering CPU
   * meanwhile. {@code generator} names the load generator.
   */
  Measured measure(String scenario, Running host, ServiceProcess target, String generator,
                   Supplier<ClosedLoop.Result> load) {
    return measure(scenario, host, Map.of("service", target.pid()), generator, load, false);
  }

  /**
   * {@link #measure} of a load that may fairly complete nothing: the slow lane's fast lane with the rows locked, which
   * a design without lanes can starve for the whole measured time. Nothing completed is then its result (throughput 0,
   * no latency), not a failed run.
   */
  private Measured measureStarvable(String scenario, Running host, ServiceProcess target, String generator,
                                    Supplier<ClosedLoop.Result> load) {
    return measure(scenario, host, Map.of("service", target.pid()), generator, load, true);
  }

  /**
   * {@link #measure} of a program of several processes ({@code name → pid}: a cluster's nodes; none for the ceiling,
   * whose pool runs in the bench's JVM).
   */
  Measured measure(String scenario, Running host, Map<String, Long> program, String generator,
                   Supplier<ClosedLoop.Result> load) {
    return measure(scenario, host, program, generator, load, false);
  }

  /** The measurement itself; a {@code starvable} load may complete nothing (see {@link #measureStarvable}). */
  private Measured measure(String scenario, Running host, Map<String, Long> program, String generator,
                           Supplier<ClosedLoop.Result> load, boolean starvable) {
    progress.printf("[bench] %s: measuring %s%n", scenario, BenchOptions.text(options.duration()));
    ConnectionSampler sampler = ConnectionSampler.start(host.db());
    ProcStat.CpuMeter cpu = ProcStat.CpuMeter.start(program, host.databasePid());
    ClosedLoop.Result l;
    try {
      l = load.get();
    } catch (RuntimeException e) {
      sampler.stop(0);
      throw e;
    }
    JsonObject used = cpu.stop();
    JsonObject server = sampler.stop(l.total());
    serverVersion = server.getString("serverVersion", serverVersion);
    if (l.total() == 0 && !starvable) {
      throw new IllegalStateException(scenario + " completed no request" + (l.firstError() == null ? ""
        : ": " + l.firstError()));
    }
    return new Measured(l, server, generator, used);
  }

  JsonObject scenario(String name, String measures, int concurrency, Running running) {
    JsonObject environment = new JsonObject();
    running.service().environment().forEach(environment::put);
    JsonObject config = config(concurrency).put("serviceEnvironment", environment);
    return new JsonObject().put("name", name).put("measures", measures).put("config", config)
      .put("serviceConfig", running.service().effectiveConfig());
  }

  JsonObject config(int concurrency) {
    return new JsonObject().put("concurrency", concurrency).put("ids", "1-" + options.users())
      .put("warmupSeconds", round(options.warmup().toMillis() / 1000.0))
      .put("durationSeconds", round(options.duration().toMillis() / 1000.0))
      .put("requestTimeoutSeconds", REQUEST_TIMEOUT.toSeconds());
  }

  // ---- the report ----

  private JsonObject report(JsonArray scenarios) {
    JsonObject db = options.externalDb() == null
      ? new JsonObject().put("kind", "embedded MariaDB, started by the service").put("dataDir", shown(dataDir()))
      : new JsonObject().put("kind", "external").put("server", options.externalDb().where());
    db.put("version", serverVersion).put("users", options.users());
    JsonObject report = new JsonObject()
      .put("date", date.toString())
      .put("smoke", options.smoke())
      .put("commit", Machine.commit(options.repo()))
      .put("machine", Machine.describe().put("loadAverageAtStart", loadAverageAtStart)
        .put("loadAverageAtEnd", Machine.loadAverage()))
      .put("jvm", Machine.jvm().put("note", "the bench, every service process and both peers run on this JVM; the"
        + " service and the peers with -Xmx" + options.heap()))
      .put("database", db)
      .put("options", new JsonObject().put("users", options.users()).put("concurrency", options.concurrency())
        .put("warmup", BenchOptions.text(options.warmup())).put("duration", BenchOptions.text(options.duration()))
        .put("xmx", options.heap()).put("loadGenerator", options.loadGenerator())
        .put("scenarios", new JsonArray(options.scenarios())))
      .put("loadGenerator", new JsonObject().put("http", httpGenerator()).put("overload", CLOSED_LOOP_GENERATOR)
        .put("note", "its CPU is reported per measured phase (loadGenerator.cores: CPU seconds over wall seconds;"
          + " the bench JVM plus a finished wrk): near the machine's cores, the generator was saturated"))
      .put("serviceJar", shown(options.jar()) + " (copied at the start of the run; each scenario starts it with"
        + " java -jar in a process of its own)")
      .put("rerun", options.rerun())
      .put("scenarios", scenarios);
    for (int i = 0; i < scenarios.size(); i++) {
      JsonObject scenario = scenarios.getJsonObject(i);
      if (scenario.containsKey("peers")) {
        scenario.put("ratios", Comparison.scenarioRatios(scenario));
      }
    }
    JsonObject ratios = Comparison.ratios(scenarios).mergeIn(ShapeFigures.ratios(scenarios));
    JsonObject clustered = Comparison.find(scenarios, CLUSTERED);
    if (!clustered.isEmpty()) {
      clustered.put("vsSingle", new JsonObject().put("throughput", ratios.getDouble("clusteredVsSingle"))
        .put("p50", ratios.getDouble("clusteredP50VsSingle")).put("p99", ratios.getDouble("clusteredP99VsSingle")));
    }
    JsonObject overload = Comparison.overloadComparison(scenarios);
    JsonObject slowLane = Comparison.slowLaneComparison(scenarios);
    JsonArray targets = Comparison.targets(ratios, overload, slowLane).addAll(ShapeFigures.targets(scenarios))
      .addAll(FaultScenarios.targets(scenarios)).addAll(ClusterBudget.targets(scenarios))
      .addAll(ClusterTrust.targets(scenarios))
      .addAll(ClusterPartition.targets(scenarios));
    ShapeFigures.addOpenLoop(overload, scenarios);
    report.put("ratios", ratios).put("overloadComparison", overload).put("slowLaneComparison", slowLane)
      .put("cluster", ShapeFigures.cluster(scenarios)).put("cache", ShapeFigures.cache(scenarios))
      .put("peakRssMiB", Comparison.peakRssMiB(scenarios)).put("targets", targets);
    return report.put("summary", BenchReport.summary(scenarios)).put("caveats", BenchReport.caveats(report));
  }

  private Written write(JsonObject report) throws IOException {
    String stamp = STAMP.format(date);
    Path md = options.resultsDir().resolve(stamp + ".md");
    Path json = options.resultsDir().resolve(stamp + ".json");
    String markdown = BenchReport.markdown(report);
    String encoded = report.encodePrettily() + "\n";
    Files.writeString(md, markdown);
    Files.writeString(json, encoded);
    replace(options.resultsDir().resolve("latest.md"), markdown);
    replace(options.resultsDir().resolve("latest.json"), encoded);
    return new Written(md, json, report);
  }

  /** Written aside, then moved over: a reader never sees half a {@code latest} file. */
  private static void replace(Path target, String content) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.writeString(tmp, content);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private String shown(Path path) {
    return path.startsWith(options.repo()) ? options.repo().relativize(path).toString() : path.toString();
  }

  static JsonObject latency(ClosedLoop.Latency l) {
    return l == null ? null : new JsonObject().put("p50", l.p50()).put("p90", l.p90()).put("p99", l.p99())
      .put("p99.9", l.p999()).put("max", l.max());
  }

  static JsonObject counts(Map<String, Long> counts) {
    JsonObject json = new JsonObject();
    counts.forEach(json::put);
    return json;
  }

  static Double ratio(Double part, Double whole) {
    return part == null || whole == null || whole == 0 ? null : round(part / whole);
  }

  static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
