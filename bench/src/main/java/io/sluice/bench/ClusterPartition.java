package io.sluice.bench;

import io.sluice.netns.NamespaceNetwork;
import io.sluice.netns.TcpRelay;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static io.sluice.bench.ClusterBudget.msSince;
import static io.sluice.bench.ClusterBudget.pause;

/**
 * Issue 21's partition and heal ({@code cluster-partition}): a real partition, not a SIGSTOP. The nodes run in network
 * namespaces the bench creates ({@link NamespaceNetwork}: one cluster bridge, one management bridge, a veth pair per
 * node into each), laid out as app's {@code PartitionIT} lays them out: proxy A (namespace 1) and the API node
 * (namespace 3) on the majority side, proxy B (namespace 2) alone on the minority side, 1 of the 3 last known members.
 * B's cluster link is cut by setting the root end of its veth down (packets dropped, no reset); HTTP and the database
 * (the bench's, through a {@link TcpRelay} on the root's management address) stay reachable on the management link.
 *
 * <p>The sequence, under {@value ClusterBudget#CLIENTS} closed-loop readers through the API node ({@link
 * ClusterBudget.Readers}: users cache off, {@value ClusterBudget#LATENCY_MS} ms injected per statement) and the
 * tier's connections counted every {@value ClusterBudget#SAMPLE_MS} ms ({@link ClusterBudget.Sampler}): the three
 * nodes settled (budget {@value #BUDGET}, a share each); B cut until A has grown to the whole budget and B has
 * dropped the others and run out their grace; B's link up again; until every node lists all three members, nothing
 * departing, every proxy node with a share above 0 (one cluster); then {@value ClusterBudget#AFTER_READS} sequential
 * reads through the API node. From the cut until one cluster again, B's {@code /admin/pool} and {@code
 * /admin/cluster} are read every {@value #WATCH_MS} ms ({@link MinorityWatch}).
 *
 * <p>Targets: the peak never above {@link ClusterBudget#bound} for 2 proxy nodes; one cluster with every share above
 * 0 within heartbeat timeout + grace + 10 s of the heal; every read after that a 200; B's pool (its {@code maxSize}
 * and {@code held}, draining pools included) never above its share before the cut. Where namespaces cannot be
 * created (not root, no iproute2) nothing runs and every target is reported as not measured, with the reason.
 */
final class ClusterPartition {

  static final String CLUSTER_PARTITION = "cluster-partition";

  static final int BUDGET = ClusterBudget.BUDGET;
  static final int HEARTBEAT_SECONDS = ClusterBudget.HEARTBEAT_SECONDS;
  static final long GRACE_MS = ClusterBudget.GRACE_MS;
  static final long RECOVERY_GOAL_MS = HEARTBEAT_SECONDS * 1000L + GRACE_MS + ClusterBudget.RECOVERY_SLACK_MS;
  /** Each namespace has ports of its own: every member uses Hazelcast's usual one. */
  static final int MEMBER_PORT = 5701;
  static final long WATCH_MS = 50;

  /** Namespace numbers of {@link NamespaceNetwork}: the layout of PartitionIT. */
  private static final Map<String, Integer> NAMESPACES = Map.of("proxyA", 1, "proxyB", 2, "api", 3);
  private static final String API = "api";
  private static final String MAJORITY_PROXY = "proxyA";
  private static final String MINORITY_PROXY = "proxyB";
  private static final List<String> PROXIES = List.of(MAJORITY_PROXY, MINORITY_PROXY);
  private static final long HOLD_MS = 3000;
  /** Until a step's state is reached: a heartbeat timeout, a grace and a merge on a busy 2-core machine. */
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(90);

  private final Bench bench;
  private final BenchOptions options;
  private final PrintStream progress;
  private final Path serviceJar;
  private final String stamp;

  ClusterPartition(Bench bench, BenchOptions options, PrintStream progress, Path serviceJar, String stamp) {
    this.bench = bench;
    this.options = options;
    this.progress = progress;
    this.serviceJar = serviceJar;
    this.stamp = stamp;
  }

  /** Runs the partition and heal on {@code host}'s database; the nodes and namespaces are gone before this returns. */
  JsonObject run(Bench.Running host) {
    long started = System.nanoTime();
    JsonObject scenario = new JsonObject().put("name", CLUSTER_PARTITION)
      .put("measures", "Issue 21's partition and heal: proxy A and the API node (2 of 3) and proxy B (1 of 3) in"
        + " network namespaces of their own, budget " + BUDGET + ", heartbeat timeout " + HEARTBEAT_SECONDS + " s,"
        + " grace " + GRACE_MS + " ms, " + ClusterBudget.CLIENTS + " closed-loop readers through the API node (users"
        + " cache off, " + ClusterBudget.LATENCY_MS + " ms injected per statement); B's cluster link set down (a real"
        + " partition) until A has the whole budget and B's grace for the others is over, then up again. Targets:"
        + " server connections of the tier never above 2 x budget + 3 x proxy nodes (every "
        + ClusterBudget.SAMPLE_MS + " ms); one cluster with every share above 0 within heartbeat timeout + grace + "
        + (ClusterBudget.RECOVERY_SLACK_MS / 1000) + " s of the heal; " + ClusterBudget.AFTER_READS + " sequential"
        + " reads per API node then all 200; B's pool never above its share before the cut.");
    JsonObject config = new JsonObject().put("budget", BUDGET).put("heartbeatTimeoutSeconds", HEARTBEAT_SECONDS)
      .put("shareGraceMs", GRACE_MS).put("concurrency", ClusterBudget.CLIENTS)
      .put("injectedLatencyMs", ClusterBudget.LATENCY_MS).put("sampleMs", ClusterBudget.SAMPLE_MS)
      .put("minorityWatchMs", WATCH_MS).put("xmx", options.heap())
      .put("layout", new JsonObject().put(MAJORITY_PROXY, "proxy, namespace 1, majority side")
        .put(MINORITY_PROXY, "proxy, namespace 2, cut off alone (minority)")
        .put(API, "api, namespace 3, majority side"));
    scenario.put("config", config);
    JsonObject figures = new JsonObject();
    NamespaceNetwork network;
    try {
      network = NamespaceNetwork.create(NAMESPACES.size());
    } catch (NamespaceNetwork.Unavailable e) {
      progress.printf("[bench] %s: not measured: %s%n", CLUSTER_PARTITION, e.getMessage());
      figures.put("notMeasured", "network namespaces cannot be created here: " + e.getMessage());
      return scenario.put("durationSeconds", Bench.round((System.nanoTime() - started) / 1e9))
        .put("clusterPartition", figures);
    }
    DbTarget db = host.db().embedded() ? ClusterBudget.tierAccount(host.db(), bench.embeddedDir()) : host.db();
    config.put("account", db.user()).put("accountShared", !host.db().embedded());
    try (network; TcpRelay relay = new TcpRelay(network.host(), db.host(), db.port());
         Tier tier = new Tier(network, relay, db)) {
      partitionAndHeal(tier, db, figures);
    } catch (IOException e) {
      figures.put("failed", "cannot relay the database into the namespaces: " + e.getMessage());
    } catch (IllegalStateException e) {
      // A step that did not come within its bound, or a node that would not start: the figures so far stay.
      progress.printf("[bench] %s: failed: %s%n", CLUSTER_PARTITION, e.getMessage());
      figures.put("failed", e.getMessage());
    }
    return scenario.put("durationSeconds", Bench.round((System.nanoTime() - started) / 1e9))
      .put("clusterPartition", figures);
  }

  private void partitionAndHeal(Tier tier, DbTarget db, JsonObject figures) {
    progress.printf("[bench] %s: proxy A and the API node beside proxy B in namespaces; B cut off, then healed%n",
      CLUSTER_PARTITION);
    tier.start(MAJORITY_PROXY, "proxy");
    tier.node(MAJORITY_PROXY).awaitReady();
    tier.start(MINORITY_PROXY, "proxy");
    tier.start(API, "api");
    tier.node(MINORITY_PROXY).awaitReady();
    tier.node(API).awaitReady();
    await("one cluster of 3, the proxy nodes sharing " + BUDGET, () -> tier.whole()
      && tier.poolSizeOrZero(MAJORITY_PROXY) + tier.poolSizeOrZero(MINORITY_PROXY) == BUDGET
      && tier.view(MINORITY_PROXY).getJsonArray("lastKnown", new JsonArray()).size() == NAMESPACES.size());
    ClusterBudget.Sampler sampler = new ClusterBudget.Sampler(db);
    ClusterBudget.Readers readers = new ClusterBudget.Readers(tier.node(API).baseUrl(), options.users(),
      ClusterBudget.CLIENTS);
    MinorityWatch watch = null;
    try {
      pause(HOLD_MS);
      int shareBefore = tier.poolSize(MINORITY_PROXY);
      figures.put("shareBeforeCut", shareBefore);
      watch = new MinorityWatch(tier);
      tier.cutMinority();
      long cut = System.nanoTime();
      progress.printf("[bench] %s: proxy B cut off (its share %d)%n", CLUSTER_PARTITION, shareBefore);
      await("proxy A grown to the whole budget", () -> tier.poolSizeOrZero(MAJORITY_PROXY) == BUDGET);
      figures.put("majorityGrownAfterCutMs", msSince(cut));
      await("proxy B alone, the others' grace over on its side", () -> {
        JsonObject view = tier.view(MINORITY_PROXY);
        return view.getJsonArray("members", new JsonArray()).size() == 1
          && view.getJsonArray("departing", new JsonArray()).stream()
          .allMatch(d -> ((JsonObject) d).getLong("countedForMs", 0L) == 0);
      });
      figures.put("minorityAloneAfterCutMs", msSince(cut));
      figures.put("minorityReportsMajority", tier.view(MINORITY_PROXY).getBoolean("majority"));
      // Before the heal: the API node's TCP connections to B as the kernel holds them (retransmission timers).
      figures.put("apiSocketsToMinorityAtHeal", tier.socketsToMinority(API));
      tier.healMinority();
      long healed = System.nanoTime();
      Map<Integer, Long> readersAtHeal = readers.statuses();
      progress.printf("[bench] %s: proxy B's link up again after %d ms%n", CLUSTER_PARTITION, msSince(cut));
      figures.put("cutForMs", msSince(cut));
      try {
        await("one cluster again, nothing departing, every proxy node with a share", tier::wholeAndSettled);
        figures.put("recoveredAfterHealMs", msSince(healed));
        figures.put("readerStatusesHealToRecovery", since(readersAtHeal, readers.statuses()));
        figures.put("apiSocketsToMinorityAtRecovery", tier.socketsToMinority(API));
      } catch (IllegalStateException e) {
        figures.put("recoveryTimedOutMs", msSince(healed)).put("recoveryState", tier.describe());
        throw e;
      } finally {
        watch.stop();
        figures.put("minority", watch.figures());
      }
      progress.printf("[bench] %s: one cluster again %d ms after the heal%n", CLUSTER_PARTITION,
        figures.getLong("recoveredAfterHealMs"));
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      Map<Integer, Long> after = new TreeMap<>();
      Map<Integer, Long> readersAtRecovery = readers.statuses();
      JsonArray missed = new JsonArray();
      for (int i = 0; i < ClusterBudget.AFTER_READS; i++) {
        long sent = msSince(healed);
        int status = ClusterBudget.get(client, tier.node(API).baseUrl(), options.users());
        after.merge(status, 1L, Long::sum);
        if (status != 200) {
          missed.add(new JsonObject().put("read", i + 1).put("status", status).put("sentAfterHealMs", sent)
            .put("answeredAfterHealMs", msSince(healed)));
        }
      }
      figures.put("non200ReadsAfterRecovery", missed);
      JsonObject afterJson = new JsonObject();
      after.forEach((status, n) -> afterJson.put(String.valueOf(status), n));
      figures.put("readsAfterRecovery", new JsonObject().put(API, afterJson))
        .put("non200AfterRecovery", after.entrySet().stream().filter(e -> e.getKey() != 200)
          .mapToLong(Map.Entry::getValue).sum());
      pause(HOLD_MS);
      figures.put("readerStatusesAfterRecovery", since(readersAtRecovery, readers.statuses()));
    } finally {
      if (watch != null) {
        watch.stop();
      }
      readers.stop();
      sampler.close();
      JsonObject statuses = new JsonObject();
      readers.statuses().forEach((status, n) -> statuses.put(String.valueOf(status), n));
      figures.put("peakConnections", sampler.peak()).put("peakAtMs", sampler.peakAtMs())
        .put("bound", ClusterBudget.bound(BUDGET, PROXIES.size())).put("samples", sampler.samples())
        .put("readerStatuses", statuses);
    }
  }

  /** Statuses counted between two snapshots of the readers' counts. */
  private static JsonObject since(Map<Integer, Long> before, Map<Integer, Long> now) {
    JsonObject json = new JsonObject();
    now.forEach((status, n) -> {
      long added = n - before.getOrDefault(status, 0L);
      if (added > 0) {
        json.put(String.valueOf(status), added);
      }
    });
    return json;
  }

  /** Polls {@code condition} every 100 ms until it holds; past {@link #STEP_TIMEOUT}, an IllegalStateException. */
  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(what + ": not within " + STEP_TIMEOUT.toSeconds() + " s");
      }
      pause(100);
    }
  }

  // ---- figures ----

  /** Target rows, in the form of {@link Comparison#targets}; none when the scenario was not asked for. */
  static JsonArray targets(JsonArray scenarios) {
    JsonObject s = Comparison.find(scenarios, CLUSTER_PARTITION);
    List<JsonObject> rows = new ArrayList<>();
    if (s.isEmpty()) {
      return new JsonArray();
    }
    JsonObject p = s.getJsonObject("clusterPartition", new JsonObject());
    Long peak = p.getLong("peakConnections");
    int bound = p.getInteger("bound", ClusterBudget.bound(BUDGET, PROXIES.size()));
    rows.add(Comparison.atMost(CLUSTER_PARTITION + ": server connections of the tier, peak (every "
        + ClusterBudget.SAMPLE_MS + " ms)", "≤ " + bound + " (2·B + 3·P)", peak == null ? null : peak.doubleValue(),
      bound, ""));
    Long recovered = p.getLong("recoveredAfterHealMs");
    JsonObject recovery = Comparison.atMost(CLUSTER_PARTITION + ": one cluster with every proxy node's share above 0,"
        + " after the heal", "≤ " + RECOVERY_GOAL_MS + " ms (heartbeat timeout + grace + 10 s)",
      recovered == null ? null : recovered.doubleValue(), RECOVERY_GOAL_MS, " ms");
    Long timedOut = p.getLong("recoveryTimedOutMs");
    if (recovered == null && timedOut != null) {
      recovery.put("measuredText", "> " + timedOut + " ms").put("status", "not met")
        .put("margin", "not one cluster when the bench stopped waiting");
    }
    rows.add(recovery);
    rows.add(ShapeFigures.none(CLUSTER_PARTITION + ": reads through the API node not answered 200 after the recovery"
      + " (" + ClusterBudget.AFTER_READS + " sequential)", p.getLong("non200AfterRecovery"), null));
    Integer before = p.getInteger("shareBeforeCut");
    JsonObject minority = p.getJsonObject("minority", new JsonObject());
    Integer largest = largest(minority.getInteger("largestMaxSize"), minority.getInteger("largestHeld"));
    rows.add(Comparison.atMost(CLUSTER_PARTITION + ": the cut-off node's pool (maxSize, held), largest seen until it"
        + " merged", "≤ its share before the cut" + (before == null ? "" : " (" + before + ")"),
      largest == null ? null : largest.doubleValue(), before == null ? 0 : before, ""));
    String reason = p.getString("notMeasured", p.containsKey("failed") ? "the sequence failed: " + p.getString("failed")
      : null);
    if (reason != null) {
      rows.stream().filter(r -> "n/a".equals(r.getString("status")))
        .forEach(r -> r.put("status", "not measured").put("margin", reason));
    }
    return new JsonArray(new ArrayList<>(rows));
  }

  private static Integer largest(Integer a, Integer b) {
    if (a == null) {
      return b;
    }
    return b == null ? a : Math.max(a, b);
  }

  /** The Summary's key figure. */
  static String keyFigure(JsonObject s) {
    JsonObject p = s.getJsonObject("clusterPartition", new JsonObject());
    if (p.containsKey("notMeasured")) {
      return "not measured: " + p.getString("notMeasured");
    }
    JsonObject minority = p.getJsonObject("minority", new JsonObject());
    String figure = "peak " + p.getLong("peakConnections") + " of " + p.getInteger("bound") + "; cut-off node's"
      + " pool at most " + largest(minority.getInteger("largestMaxSize"), minority.getInteger("largestHeld"))
      + " (share " + p.getInteger("shareBeforeCut") + "); one cluster " + p.getLong("recoveredAfterHealMs")
      + " ms after the heal; " + p.getLong("non200AfterRecovery") + " non-200 after";
    return p.containsKey("failed") ? "failed: " + p.getString("failed") + " (" + figure + ")" : figure;
  }

  /** The rows of the scenario's own table in the report. */
  static List<Map.Entry<String, String>> rows(JsonObject s) {
    List<Map.Entry<String, String>> rows = new ArrayList<>();
    s.getJsonObject("clusterPartition", new JsonObject()).forEach(e -> rows.add(Map.entry(e.getKey(),
      String.valueOf(e.getValue()))));
    return rows;
  }

  // ---- the nodes ----

  /** The three nodes in their namespaces; stops every node it started, and heals a link it left cut. */
  private final class Tier implements AutoCloseable {

    private final NamespaceNetwork network;
    private final TcpRelay relay;
    private final DbTarget db;
    private final String name = "partition-" + UUID.randomUUID().toString().substring(0, 8);
    private final String adminToken = UUID.randomUUID().toString();
    private final Map<String, ServiceProcess> nodes = new LinkedHashMap<>();
    private boolean cut;

    Tier(NamespaceNetwork network, TcpRelay relay, DbTarget db) {
      this.network = network;
      this.relay = relay;
      this.db = db;
    }

    void start(String node, String role) {
      int ns = NAMESPACES.get(node);
      List<String> members = NAMESPACES.values().stream().sorted()
        .map(i -> network.clusterAddress(i) + ":" + MEMBER_PORT).toList();
      Map<String, String> env = new LinkedHashMap<>(SluiceCluster.clusterEnvironment(role, name,
        network.clusterAddress(ns), MEMBER_PORT, members));
      env.putAll(ClusterBudget.nodeSettings(adminToken));
      env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(BUDGET));
      if (!"api".equals(role)) {
        env.put("SLUICE_DB_HOST", network.host());
        env.put("SLUICE_DB_PORT", String.valueOf(relay.port()));
        env.put("SLUICE_DB_DATABASE", db.database());
        env.put("SLUICE_DB_USER", db.user());
        env.put("SLUICE_DB_PASSWORD", db.password());
      }
      Path logFile = options.workDir().resolve("logs").resolve(stamp + "-" + CLUSTER_PARTITION + "-" + node + ".log");
      nodes.put(node, ServiceProcess.startNodeInNamespace(role + " node " + node + " (" + CLUSTER_PARTITION + ")",
        network.namespace(ns), network.managementAddress(ns), serviceJar, options.heap(), options.workDir(), logFile,
        env));
    }

    ServiceProcess node(String node) {
      return nodes.get(node);
    }

    /** {@code /admin/pool}: the pool's fields at the top level. */
    JsonObject pool(String node) {
      return nodes.get(node).get("/admin/pool", adminToken);
    }

    int poolSize(String node) {
      return pool(node).getInteger("maxSize");
    }

    int poolSizeOrZero(String node) {
      try {
        return poolSize(node);
      } catch (IllegalStateException e) {
        return 0;
      }
    }

    /** The node's {@code /admin/cluster}, or an empty view while it does not answer. */
    JsonObject view(String node) {
      try {
        return nodes.get(node).get("/admin/cluster", adminToken);
      } catch (IllegalStateException e) {
        return new JsonObject();
      }
    }

    /** Every node lists all three members, each proxy node with a share above 0 in every node's view. */
    boolean whole() {
      return nodes.keySet().stream().map(this::view).allMatch(this::complete);
    }

    /** {@link #whole()}, and nothing departing anywhere (a merged node taken for a newcomer leaves its old self). */
    boolean wholeAndSettled() {
      return nodes.keySet().stream().map(this::view).allMatch(view -> complete(view)
        && view.getJsonArray("departing", new JsonArray()).isEmpty());
    }

    private boolean complete(JsonObject view) {
      JsonArray members = view.getJsonArray("members", new JsonArray());
      return members.size() == NAMESPACES.size() && members.stream().map(JsonObject.class::cast)
        .filter(m -> "proxy".equals(m.getString("role")))
        .allMatch(m -> m.getInteger("share") != null && m.getInteger("share") > 0);
    }

    /**
     * {@code ss -tno} in {@code node}'s namespace for its TCP connections to B's cluster address (Hazelcast's and
     * the event bus's), one string per connection; a diagnostic for the report, empty when {@code ss} fails.
     */
    JsonArray socketsToMinority(String node) {
      JsonArray sockets = new JsonArray();
      List<String> command = List.of("ip", "netns", "exec", network.namespace(NAMESPACES.get(node)), "ss", "-tnoH",
        "dst", network.clusterAddress(NAMESPACES.get(MINORITY_PROXY)));
      try {
        Process ss = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (ss.waitFor() == 0) {
          output.lines().map(line -> line.trim().replaceAll("\\s+", " ")).filter(line -> !line.isEmpty())
            .forEach(sockets::add);
        }
      } catch (IOException e) {
        sockets.add("ss could not run: " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return sockets;
    }

    /** Each node's members (address, role, share) and departing, for the report when recovery did not come. */
    String describe() {
      JsonObject all = new JsonObject();
      nodes.keySet().forEach(node -> {
        JsonObject view = view(node);
        all.put(node, new JsonObject().put("members", view.getJsonArray("members"))
          .put("departing", view.getJsonArray("departing")).put("majority", view.getValue("majority")));
      });
      return all.encode();
    }

    /** Proxy B's cluster link down: the root end of its veth, so packets are dropped on the way, not refused. */
    void cutMinority() {
      cut = true;
      network.cut(NAMESPACES.get(MINORITY_PROXY));
    }

    void healMinority() {
      network.heal(NAMESPACES.get(MINORITY_PROXY));
      cut = false;
    }

    /** A link left cut by a failed step is healed first, so that every node can leave its cluster cleanly. */
    @Override
    public void close() {
      if (cut) {
        try {
          healMinority();
        } catch (IllegalStateException e) {
          // The namespaces are removed next, links and all.
        }
      }
      List<ServiceProcess> all = new ArrayList<>(nodes.values());
      all.forEach(ServiceProcess::terminate);
      all.forEach(ServiceProcess::close);
    }
  }

  /**
   * Reads the cut-off node's {@code /admin/pool} and {@code /admin/cluster} every {@value #WATCH_MS} ms on a thread
   * of its own, keeping the largest {@code maxSize}, {@code held} (its pool and any draining one), {@code open} and
   * share it reported; {@link #stop} then {@link #figures}.
   */
  private static final class MinorityWatch {

    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final long started = System.nanoTime();
    private Integer lastMaxSize;
    private Integer lastHeld;
    private int largestMaxSize = -1;
    private int largestHeld = -1;
    private int largestOpen = -1;
    private int largestShare = -1;
    private long samples;
    private long unanswered;
    private final JsonArray trace = new JsonArray();

    MinorityWatch(Tier tier) {
      thread = new Thread(() -> {
        while (running.get()) {
          try {
            JsonObject pool = tier.pool(MINORITY_PROXY);
            JsonObject view = tier.nodes.get(MINORITY_PROXY).get("/admin/cluster", tier.adminToken);
            record(pool.getInteger("maxSize"), pool.getInteger("held"), pool.getInteger("open"),
              view.getInteger("share"));
          } catch (IllegalStateException e) {
            synchronized (this) {
              unanswered++;
            }
          }
          pause(WATCH_MS);
        }
      }, "bench-partition-minority-watch");
      thread.setDaemon(true);
      thread.start();
    }

    private synchronized void record(Integer maxSize, Integer held, Integer open, Integer share) {
      samples++;
      if (!Objects.equals(maxSize, lastMaxSize) || !Objects.equals(held, lastHeld)) {
        // Changes only: how B's pool moved, without a row per sample.
        trace.add(new JsonObject().put("atMs", msSince(started)).put("maxSize", maxSize).put("held", held));
        lastMaxSize = maxSize;
        lastHeld = held;
      }
      largestMaxSize = Math.max(largestMaxSize, maxSize == null ? -1 : maxSize);
      largestHeld = Math.max(largestHeld, held == null ? -1 : held);
      largestOpen = Math.max(largestOpen, open == null ? -1 : open);
      largestShare = Math.max(largestShare, share == null ? -1 : share);
    }

    void stop() {
      running.set(false);
      try {
        thread.join(Duration.ofSeconds(15).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    synchronized JsonObject figures() {
      return new JsonObject().put("largestMaxSize", nullIfNone(largestMaxSize)).put("largestHeld",
          nullIfNone(largestHeld)).put("largestOpen", nullIfNone(largestOpen))
        .put("largestShare", nullIfNone(largestShare)).put("samples", samples).put("unanswered", unanswered)
        .put("changes", trace.copy());
    }

    private static Integer nullIfNone(int value) {
      return value < 0 ? null : value;
    }
  }
}
