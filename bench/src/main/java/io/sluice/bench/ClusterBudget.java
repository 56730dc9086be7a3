package io.sluice.bench;

import io.sluice.diagnose.DbCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Issue 21's membership sequences ({@code cluster-budget}), each on a cluster of its own (1 API node and the proxy
 * nodes the sequence starts, processes of the service jar) on the bench's database, under a closed loop of
 * {@value #CLIENTS} readers through the API node (users cache off, {@value #LATENCY_MS} ms injected before each
 * statement, so the pools fill up to their shares), with the server's connections of the tier's own account counted
 * every {@value #SAMPLE_MS} ms:
 * <ul>
 *   <li>{@code rolling-start}: 3 proxy nodes started {@value #ROLLING_GAP_MS} ms apart, until their pools add up to
 *   the budget;</li>
 *   <li>{@code reload-join}: 2 proxy nodes settled on a budget of {@value #BUDGET}; a third starts and, while it
 *   joins, the config file all of them read raises {@code db.pool.maxSize} to {@value #RELOADED_BUDGET} (each node
 *   reads it again within its reload period); until the pools add up to that;</li>
 *   <li>{@code freeze-thaw}: 3 proxy nodes settled; one frozen (SIGSTOP) until the API node no longer lists it, a
 *   replacement started and the others' pools grown back to the whole budget (the grace over), then thawed
 *   (SIGCONT); until the API node lists all 4 proxy nodes with a share above 0 and the thawed node sees as many
 *   members (one cluster again); then {@value #AFTER_READS} sequential reads through the API node.</li>
 * </ul>
 * Targets: the peak never above the documented bound ({@link #bound}); after the thaw, one cluster again with every
 * share above 0 within heartbeat timeout + grace + {@value #RECOVERY_SLACK_MS} ms, and every read after that a 200;
 * the thawed node's pool never above its share before the freeze (a minority holds at most its last share).
 *
 * <p>The tier's own account ({@value #ACCOUNT}, created through the embedded server's root socket) keeps the bench's
 * host service, which holds connections of its own as the service's account, out of the count. On an external
 * database the service's account is used and the count includes every other session of it (the report says so).
 */
final class ClusterBudget {

  private static final Logger log = LoggerFactory.getLogger(ClusterBudget.class);

  static final String CLUSTER_BUDGET = "cluster-budget";
  static final String ROLLING_START = "rolling-start";
  static final String RELOAD_JOIN = "reload-join";
  static final String FREEZE_THAW = "freeze-thaw";

  static final int BUDGET = 8;
  static final int RELOADED_BUDGET = 12;
  static final int HEARTBEAT_SECONDS = 10;
  static final long GRACE_MS = 10_000;
  static final long RECOVERY_SLACK_MS = 10_000;
  static final long ROLLING_GAP_MS = 500;
  static final int CLIENTS = 24;
  static final long LATENCY_MS = 50;
  static final long SAMPLE_MS = 10;
  static final int AFTER_READS = 50;
  static final String ACCOUNT = "sluice_tier";

  /** Until a sequence's state is reached: joins, a heartbeat timeout, a grace and merges on a busy 2-core machine. */
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(90);
  /** After the shares settled: the pools keep serving under the sampler a little longer. */
  private static final long HOLD_MS = 3000;
  private static final String API = "api";
  private static final List<String> NODES = List.of(API, "proxyA", "proxyB", "proxyC", "proxyD");

  private final Bench bench;
  private final BenchOptions options;
  private final PrintStream progress;
  private final Path serviceJar;
  private final String stamp;

  ClusterBudget(Bench bench, BenchOptions options, PrintStream progress, Path serviceJar, String stamp) {
    this.bench = bench;
    this.options = options;
    this.progress = progress;
    this.serviceJar = serviceJar;
    this.stamp = stamp;
  }

  /**
   * The bound of docs/scale-out.md ("The bound on server connections") at its worst, while shares change: the pools
   * twice the budget (old pools draining beside their replacements, or a frozen node's pools beside the shares the
   * others took after its grace), plus each proxy node's own connections: its admin connection, its readiness
   * probe's and, fault injection being on here, the holder of its latency lock.
   */
  static int bound(int budget, int proxyNodes) {
    return 2 * budget + OWN_CONNECTIONS * proxyNodes;
  }

  /** A proxy node's connections outside its request pools while {@code faults.dbLatency} is on. */
  static final int OWN_CONNECTIONS = 3;

  /** Runs the three sequences on {@code host}'s database; the nodes are stopped before this returns. */
  JsonObject run(Bench.Running host) {
    long started = System.nanoTime();
    DbTarget db = host.db().embedded() ? tierAccount(host.db(), bench.embeddedDir()) : host.db();
    JsonArray sequences = new JsonArray();
    sequences.add(rollingStart(db));
    sequences.add(reloadJoin(db));
    sequences.add(freezeThaw(db));
    return new JsonObject().put("name", CLUSTER_BUDGET)
      .put("measures", "Issue 21's membership sequences, each on a cluster of its own (1 API node + proxy nodes,"
        + " budget " + BUDGET + ", heartbeat timeout " + HEARTBEAT_SECONDS + " s, grace " + GRACE_MS + " ms) under "
        + CLIENTS + " closed-loop readers through the API node (users cache off, " + LATENCY_MS + " ms injected per"
        + " statement), server connections of the tier's account counted every " + SAMPLE_MS + " ms: a rolling start"
        + " of 3 proxy nodes " + ROLLING_GAP_MS + " ms apart; a reload of db.pool.maxSize to " + RELOADED_BUDGET
        + " while a third proxy node joins; a proxy node frozen past the heartbeat timeout, a replacement, then the"
        + " thaw. Targets: the peak never above 2 x budget + 3 x proxy nodes (admin, probe, latency lock); one"
        + " cluster with every share above 0 within heartbeat timeout + grace + " + (RECOVERY_SLACK_MS / 1000)
        + " s of the thaw and every read then 200; the thawed node's pool never above its share before the freeze.")
      .put("config", new JsonObject().put("budget", BUDGET).put("reloadedBudget", RELOADED_BUDGET)
        .put("heartbeatTimeoutSeconds", HEARTBEAT_SECONDS).put("shareGraceMs", GRACE_MS).put("clients", CLIENTS)
        .put("injectedLatencyMs", LATENCY_MS).put("sampleMs", SAMPLE_MS).put("account", db.user())
        .put("accountShared", !host.db().embedded()).put("xmx", options.heap()))
      .put("durationSeconds", Bench.round((System.nanoTime() - started) / 1e9))
      .put("clusterBudget", new JsonObject().put("sequences", sequences));
  }

  // ---- the sequences ----

  private JsonObject rollingStart(DbTarget db) {
    progress.printf("[bench] %s: %s (1 API node, then 3 proxy nodes %d ms apart)%n", CLUSTER_BUDGET, ROLLING_START,
      ROLLING_GAP_MS);
    try (Tier tier = new Tier(ROLLING_START, db, null); Sampler sampler = new Sampler(db)) {
      tier.start(API, "api");
      try (Readers readers = new Readers(tier.node(API).baseUrl(), options.users(), CLIENTS)) {
        for (String proxy : List.of("proxyA", "proxyB", "proxyC")) {
          tier.start(proxy, "proxy");
          pause(ROLLING_GAP_MS);
        }
        long settledMs = tier.awaitShares(List.of("proxyA", "proxyB", "proxyC"), BUDGET, sampler);
        pause(HOLD_MS);
        return sequence(ROLLING_START, sampler, readers, bound(BUDGET, 3)).put("settledAfterMs", settledMs);
      }
    }
  }

  private JsonObject reloadJoin(DbTarget db) {
    progress.printf("[bench] %s: %s (2 proxy nodes on %d, a third joins while the budget is reloaded to %d)%n",
      CLUSTER_BUDGET, RELOAD_JOIN, BUDGET, RELOADED_BUDGET);
    Path config = options.workDir().resolve(stamp + "-" + CLUSTER_BUDGET + "-config.yaml");
    writeBudget(config, BUDGET);
    try (Tier tier = new Tier(RELOAD_JOIN, db, config)) {
      tier.start(API, "api");
      tier.start("proxyA", "proxy");
      tier.start("proxyB", "proxy");
      tier.awaitShares(List.of("proxyA", "proxyB"), BUDGET, null);
      try (Sampler sampler = new Sampler(db);
           Readers readers = new Readers(tier.node(API).baseUrl(), options.users(), CLIENTS)) {
        pause(HOLD_MS);
        tier.start("proxyC", "proxy");
        pause(200);
        writeBudget(config, RELOADED_BUDGET);
        long settledMs = tier.awaitShares(List.of("proxyA", "proxyB", "proxyC"), RELOADED_BUDGET, sampler);
        pause(HOLD_MS);
        return sequence(RELOAD_JOIN, sampler, readers, bound(RELOADED_BUDGET, 3)).put("settledAfterMs", settledMs);
      }
    } finally {
      try {
        Files.deleteIfExists(config);
      } catch (IOException e) {
        log.warn("Cannot delete {}: {}", config, e.getMessage());
      }
    }
  }

  private JsonObject freezeThaw(DbTarget db) {
    progress.printf("[bench] %s: %s (3 proxy nodes, one frozen past the heartbeat timeout, a replacement, the"
      + " thaw)%n", CLUSTER_BUDGET, FREEZE_THAW);
    try (Tier tier = new Tier(FREEZE_THAW, db, null)) {
      tier.start(API, "api");
      for (String proxy : List.of("proxyA", "proxyB", "proxyC")) {
        tier.start(proxy, "proxy");
      }
      tier.awaitShares(List.of("proxyA", "proxyB", "proxyC"), BUDGET, null);
      try (Sampler sampler = new Sampler(db);
           Readers readers = new Readers(tier.node(API).baseUrl(), options.users(), CLIENTS)) {
        pause(HOLD_MS);
        int shareBefore = tier.poolSize("proxyA");
        tier.signal("proxyA", "STOP");
        long frozen = System.nanoTime();
        await("the API node no longer lists the frozen node", () -> !tier.apiLists("proxyA"));
        long droppedMs = msSince(frozen);
        tier.start("proxyD", "proxy");
        tier.awaitShares(List.of("proxyB", "proxyC", "proxyD"), BUDGET, null);
        long grownMs = msSince(frozen);
        tier.signal("proxyA", "CONT");
        long thawed = System.nanoTime();
        int[] thawedMax = {0};
        await("one cluster again, every proxy node with a share above 0", () -> {
          thawedMax[0] = Math.max(thawedMax[0], tier.poolSizeOrZero("proxyA"));
          return tier.whole(List.of("proxyA", "proxyB", "proxyC", "proxyD"));
        });
        long recoveredMs = msSince(thawed);
        thawedMax[0] = Math.max(thawedMax[0], tier.poolSizeOrZero("proxyA"));
        Map<Integer, Long> after = tier.sequentialReads(AFTER_READS);
        pause(HOLD_MS);
        JsonObject afterJson = new JsonObject();
        after.forEach((status, n) -> afterJson.put(String.valueOf(status), n));
        return sequence(FREEZE_THAW, sampler, readers, bound(BUDGET, 4))
          .put("shareBeforeFreeze", shareBefore).put("droppedAfterMs", droppedMs).put("othersGrownAfterMs", grownMs)
          .put("thawedNodeLargestPool", thawedMax[0]).put("recoveredAfterThawMs", recoveredMs)
          .put("recoveryGoalMs", HEARTBEAT_SECONDS * 1000L + GRACE_MS + RECOVERY_SLACK_MS)
          .put("readsAfterRecovery", afterJson)
          .put("non200AfterRecovery", after.entrySet().stream().filter(e -> e.getKey() != 200)
            .mapToLong(Map.Entry::getValue).sum());
      }
    }
  }

  private static JsonObject sequence(String name, Sampler sampler, Readers readers, int bound) {
    sampler.stop();
    readers.stop();
    JsonObject statuses = new JsonObject();
    readers.statuses().forEach((status, n) -> statuses.put(String.valueOf(status), n));
    return new JsonObject().put("name", name).put("peakConnections", sampler.peak())
      .put("peakAtMs", sampler.peakAtMs()).put("bound", bound).put("samples", sampler.samples())
      .put("readerStatuses", statuses);
  }

  // ---- the tier's account ----

  /**
   * The tier's own account on the embedded server, with all privileges on the service's database, created (or its
   * password set) as root through the server's socket, with the server's own client; the SQL goes through stdin, so
   * the password appears on no command line.
   */
  static DbTarget tierAccount(DbTarget db, Path mariadbDir) {
    String password = UUID.randomUUID().toString().replace("-", "");
    String account = "'" + ACCOUNT + "'@'127.0.0.1'";
    String sql = "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY '" + password + "';\n"
      + "ALTER USER " + account + " IDENTIFIED BY '" + password + "';\n"
      + "GRANT ALL PRIVILEGES ON `" + db.database().replace("`", "``") + "`.* TO " + account + ";\n";
    ProcessBuilder builder = new ProcessBuilder(mariadbDir.resolve("base/bin/mariadb").toString(),
      "-S", mariadbDir.resolve("run/mariadb.sock").toString(), "-u", "root").redirectErrorStream(true);
    try {
      Process process = builder.start();
      try (OutputStream in = process.getOutputStream()) {
        in.write(sql.getBytes(StandardCharsets.UTF_8));
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException(CLUSTER_BUDGET + ": cannot create the account " + ACCOUNT + " through "
          + mariadbDir + "/run/mariadb.sock: " + output.replace(password, "******"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(CLUSTER_BUDGET + ": cannot run the embedded server's client", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
    return new DbTarget(db.host(), db.port(), db.database(), ACCOUNT, password, true);
  }

  /**
   * What every node of these sequences (and of {@code cluster-partition}) runs with besides its cluster, budget and
   * database variables: the heartbeat timeout and grace, the admin token, users cache off, one proxy instance, and
   * {@value #LATENCY_MS} ms injected before each statement.
   */
  static Map<String, String> nodeSettings(String adminToken) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CLUSTER_HEARTBEAT_TIMEOUT_SECONDS", String.valueOf(HEARTBEAT_SECONDS));
    env.put("SLUICE_CLUSTER_SHARE_GRACE_MS", String.valueOf(GRACE_MS));
    env.put("SLUICE_ADMIN_TOKEN", adminToken);
    env.put("SLUICE_CACHE_USERS_ENABLED", "false");
    env.put("SLUICE_PROXY_INSTANCES", "1");
    env.put("SLUICE_FAULTS_DB_LATENCY_ENABLED", "true");
    env.put("SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(LATENCY_MS));
    env.put("SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(LATENCY_MS));
    return env;
  }

  /** Replaced in one move, so that a node reading it meanwhile sees the old file or the new one. */
  private static void writeBudget(Path config, int maxSize) {
    try {
      Path next = config.resolveSibling(config.getFileName() + ".next");
      Files.writeString(next, "db:\n  pool:\n    maxSize: " + maxSize + "\n");
      Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(CLUSTER_BUDGET + ": cannot write " + config, e);
    }
  }

  // ---- figures ----

  /** Target rows, in the form of {@link Comparison#targets}. */
  static JsonArray targets(JsonArray scenarios) {
    JsonArray rows = new JsonArray();
    JsonObject s = Comparison.find(scenarios, CLUSTER_BUDGET);
    JsonObject section = s.getJsonObject("clusterBudget", new JsonObject());
    Map<String, JsonObject> byName = new LinkedHashMap<>();
    section.getJsonArray("sequences", new JsonArray()).forEach(o -> byName.put(((JsonObject) o).getString("name"),
      (JsonObject) o));
    for (String name : List.of(ROLLING_START, RELOAD_JOIN, FREEZE_THAW)) {
      JsonObject seq = byName.getOrDefault(name, new JsonObject());
      Long peak = seq.getLong("peakConnections");
      Integer bound = seq.getInteger("bound");
      rows.add(Comparison.atMost("cluster-budget " + name + ": server connections of the tier, peak (every "
          + SAMPLE_MS + " ms)", "≤ " + (bound == null ? "2·B + 3·P" : bound + " (2·B + 3·P)"),
        peak == null ? null : peak.doubleValue(), bound == null ? 0 : bound, ""));
    }
    JsonObject freeze = byName.getOrDefault(FREEZE_THAW, new JsonObject());
    Long recovered = freeze.getLong("recoveredAfterThawMs");
    long goal = HEARTBEAT_SECONDS * 1000L + GRACE_MS + RECOVERY_SLACK_MS;
    rows.add(Comparison.atMost("cluster-budget freeze-thaw: one cluster with every proxy node's share above 0, after"
        + " the thaw", "≤ " + goal + " ms (heartbeat timeout + grace + 10 s)",
      recovered == null ? null : recovered.doubleValue(), goal, " ms"));
    rows.add(ShapeFigures.none("cluster-budget freeze-thaw: reads through the API node not answered 200 after the"
      + " recovery (" + AFTER_READS + " sequential)", freeze.getLong("non200AfterRecovery"), null));
    Integer before = freeze.getInteger("shareBeforeFreeze");
    Integer largest = freeze.getInteger("thawedNodeLargestPool");
    rows.add(Comparison.atMost("cluster-budget freeze-thaw: the thawed node's pool, largest seen until it merged",
      "≤ its share before the freeze" + (before == null ? "" : " (" + before + ")"),
      largest == null ? null : largest.doubleValue(), before == null ? 0 : before, ""));
    return rows;
  }

  /** The Summary's key figure. */
  static String keyFigure(JsonObject s) {
    JsonArray sequences = s.getJsonObject("clusterBudget", new JsonObject()).getJsonArray("sequences",
      new JsonArray());
    List<String> parts = new ArrayList<>();
    sequences.forEach(o -> {
      JsonObject seq = (JsonObject) o;
      parts.add(seq.getString("name") + " peak " + seq.getLong("peakConnections") + " of " + seq.getInteger("bound")
        + (seq.containsKey("recoveredAfterThawMs") ? ", one cluster " + seq.getLong("recoveredAfterThawMs")
        + " ms after the thaw" : ""));
    });
    return String.join("; ", parts);
  }

  /** The rows of the scenario's own table in the report. */
  static List<Map.Entry<String, String>> rows(JsonObject s) {
    List<Map.Entry<String, String>> rows = new ArrayList<>();
    s.getJsonObject("clusterBudget", new JsonObject()).getJsonArray("sequences", new JsonArray()).forEach(o -> {
      JsonObject seq = ((JsonObject) o).copy();
      rows.add(Map.entry(seq.getString("name"), seq.encode()));
    });
    return rows;
  }

  static long msSince(long nanoTime) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanoTime);
  }

  private static void await(String what, BooleanSupplier condition) {
    await(() -> what, condition);
  }

  private static void await(Supplier<String> what, BooleanSupplier condition) {
    await(CLUSTER_BUDGET, STEP_TIMEOUT, what, condition);
  }

  /**
   * Polls {@code condition} every 100 ms until it holds; past {@code timeout}, fails with {@code scenario} and
   * {@code what} as it is then.
   */
  static void await(String scenario, Duration timeout, Supplier<String> what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(scenario + ": " + what.get() + ": not within " + timeout.toSeconds() + " s");
      }
      pause(100);
    }
  }

  /** A step of a sequence's schedule, or the pause between two polls of a deadline-bounded wait. */
  static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }

  // ---- a cluster of one sequence ----

  /** The nodes of one sequence: a cluster name and member ports of its own; stops every node it started. */
  private final class Tier implements AutoCloseable {

    private final String sequence;
    private final String name = "budget-" + UUID.randomUUID().toString().substring(0, 8);
    private final String adminToken = UUID.randomUUID().toString();
    private final DbTarget db;
    private final Path config;
    private final Map<String, Integer> memberPorts = new LinkedHashMap<>();
    private final Map<String, ServiceProcess> nodes = new LinkedHashMap<>();
    private final List<String> frozen = new ArrayList<>();

    Tier(String sequence, DbTarget db, Path config) {
      this.sequence = sequence;
      this.db = db;
      this.config = config;
      NODES.forEach(node -> memberPorts.put(node, ServiceProcess.freePort()));
    }

    void start(String node, String role) {
      Map<String, String> env = new LinkedHashMap<>(SluiceCluster.clusterEnvironment(role, name,
        memberPorts.get(node), memberPorts.values()));
      env.putAll(nodeSettings(adminToken));
      if (config == null) {
        env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(BUDGET));
      }
      if (!"api".equals(role)) {
        env.putAll(SluiceCluster.databaseEnvironment(db));
      }
      Path logFile = options.workDir().resolve("logs")
        .resolve(stamp + "-" + CLUSTER_BUDGET + "-" + sequence + "-" + node + ".log");
      List<String> args = config == null ? List.of() : List.of("--config", config.toString());
      nodes.put(node, ServiceProcess.startNode(role + " node " + node + " (" + sequence + ")", serviceJar,
        options.heap(), options.workDir(), logFile, env, args));
    }

    ServiceProcess node(String node) {
      return nodes.get(node);
    }

    /** Waits until every one of {@code proxies} applies a share above 0 and they add up to {@code budget}. */
    long awaitShares(List<String> proxies, int budget, Sampler sampler) {
      long t0 = System.nanoTime();
      await(() -> proxies + " sharing " + budget + " (last seen " + proxies.stream().map(this::poolSizeOrZero).toList()
        + ")", () -> {
          int sum = 0;
          for (String proxy : proxies) {
            int size = poolSizeOrZero(proxy);
            if (size <= 0) {
              return false;
            }
            sum += size;
          }
          return sum == budget;
        });
      return msSince(t0);
    }

    /** The pool size the node applies ({@code /admin/pool} {@code maxSize}). */
    int poolSize(String node) {
      JsonObject stats = nodes.get(node).get("/admin/pool", adminToken);
      return stats.getJsonObject("pool", stats).getInteger("maxSize");
    }

    /** {@link #poolSize}, or 0 while the node does not answer (starting, frozen). */
    int poolSizeOrZero(String node) {
      try {
        return poolSize(node);
      } catch (IllegalStateException e) {
        return 0;
      }
    }

    /** Whether the API node's {@code /admin/cluster} lists {@code node} among its members. */
    boolean apiLists(String node) {
      return members(API).containsKey(address(node));
    }

    /**
     * The API node lists each of {@code proxies} with a share above 0, and every one of them sees as many members
     * as the API node does: one cluster.
     */
    boolean whole(List<String> proxies) {
      Map<String, JsonObject> seen = members(API);
      for (String proxy : proxies) {
        JsonObject member = seen.get(address(proxy));
        if (member == null || member.getInteger("share") == null || member.getInteger("share") <= 0) {
          return false;
        }
        if (members(proxy).size() != seen.size()) {
          return false;
        }
      }
      return true;
    }

    private Map<String, JsonObject> members(String node) {
      return SluiceCluster.members(nodes.get(node), adminToken);
    }

    private String address(String node) {
      return "127.0.0.1:" + memberPorts.get(node);
    }

    void signal(String node, String signal) {
      long pid = nodes.get(node).pid();
      try {
        Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
          throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted");
      }
      if ("STOP".equals(signal)) {
        frozen.add(node);
      } else {
        frozen.remove(node);
      }
    }

    /** {@code n} GETs of random ids through the API node, one at a time: their statuses (0: no answer). */
    Map<Integer, Long> sequentialReads(int n) {
      Map<Integer, Long> statuses = new TreeMap<>();
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      for (int i = 0; i < n; i++) {
        statuses.merge(get(client, nodes.get(API).baseUrl(), options.users()), 1L, Long::sum);
      }
      return statuses;
    }

    @Override
    public void close() {
      for (String node : List.copyOf(frozen)) {
        signal(node, "CONT");
      }
      List<ServiceProcess> all = new ArrayList<>(nodes.values());
      // The API node first (it drains), then every proxy node at once.
      all.forEach(ServiceProcess::terminate);
      all.forEach(ServiceProcess::close);
    }
  }

  /** One GET of a random user of 1..{@code users} with a 2 s deadline: its status, 0 when no answer came. */
  static int get(HttpClient client, String baseUrl, long users) {
    long id = 1 + ThreadLocalRandom.current().nextLong(users);
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/users/" + id))
      .header("X-Request-Timeout", "2000").timeout(Duration.ofSeconds(10)).GET().build();
    try {
      return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  // ---- load and sampling ----

  /**
   * Closed-loop readers ({@value #CLIENTS} here, and in {@code cluster-trust}) through one API node; a reader that got
   * no 200 waits 20 ms first.
   */
  static final class Readers implements AutoCloseable {

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();
    private final Map<Integer, Long> statuses = new TreeMap<>();

    Readers(String baseUrl, long users, int clients) {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      for (int i = 0; i < clients; i++) {
        Thread t = new Thread(() -> {
          while (running.get()) {
            int status = get(client, baseUrl, users);
            synchronized (statuses) {
              statuses.merge(status, 1L, Long::sum);
            }
            if (status != 200) {
              pause(20);
            }
          }
        }, "bench-budget-reader-" + i);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }

    void stop() {
      running.set(false);
      for (Thread t : threads) {
        try {
          t.join(TimeUnit.SECONDS.toMillis(15));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }

    Map<Integer, Long> statuses() {
      synchronized (statuses) {
        return new TreeMap<>(statuses);
      }
    }

    @Override
    public void close() {
      stop();
    }
  }

  /**
   * Counts the server's sessions of the tier's account every {@value #SAMPLE_MS} ms on a session of its own (left
   * out of the count), keeping the peak and when it was seen.
   */
  static final class Sampler implements AutoCloseable {

    private final Connection connection;
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final long started = System.nanoTime();
    private volatile long peak;
    private volatile long peakAtMs;
    private volatile long samples;
    private volatile String problem;

    Sampler(DbTarget db) {
      connection = DbCheck.connect(db.checkTarget());
      thread = new Thread(() -> {
        try (PreparedStatement count = connection.prepareStatement("SELECT COUNT(*) FROM"
          + " information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()")) {
          count.setString(1, db.user());
          while (running.get()) {
            try (ResultSet rs = count.executeQuery()) {
              rs.next();
              long n = rs.getLong(1);
              samples++;
              if (n > peak) {
                peak = n;
                peakAtMs = msSince(started);
              }
            }
            pause(SAMPLE_MS);
          }
        } catch (SQLException e) {
          problem = e.getMessage();
        }
      }, "bench-budget-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    long peak() {
      return peak;
    }

    long peakAtMs() {
      return peakAtMs;
    }

    long samples() {
      return samples;
    }

    void stop() {
      running.set(false);
      try {
        thread.join(TimeUnit.SECONDS.toMillis(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (problem != null) {
        throw new IllegalStateException(CLUSTER_BUDGET + ": the sampler failed: " + problem);
      }
    }

    @Override
    public void close() {
      stop();
      try {
        connection.close();
      } catch (SQLException e) {
        log.debug("Closing the sampler's session: {}", e.getMessage());
      }
    }
  }
}
