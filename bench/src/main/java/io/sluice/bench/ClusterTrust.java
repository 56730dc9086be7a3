package io.sluice.bench;

import io.sluice.contract.ProxyContract;
import io.sluice.proxy.testing.TestCerts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Issue 21's target "a member without the certificate leaves the shares unchanged and receives no requests"
 * ({@code cluster-trust}), on processes of the service jar: a cluster with event-bus TLS and mutual authentication
 * (1 API node, 2 proxy nodes, each with a key and certificate of the cluster's own CA, made here with the JDK's
 * keytool), budget {@value #BUDGET}, under {@value #CLIENTS} closed-loop readers of {@code GET /users/{random id}}
 * through the API node (users cache off). After the warm-up, a first window ({@code before}) of the bench's measured
 * duration; then two intruders join as {@code cluster.role=proxy} with the database's credentials, knowing only a
 * member's address: {@code intruderForeign} with a certificate of another CA (and that CA as its own), and
 * {@code intruderPlain} without event-bus TLS. Once both answer their own readiness (their proxy consumes the proxy
 * address) and the API node's {@code /admin/cluster} lists them (Hazelcast let them in), a second window
 * ({@code during}) of the same duration.
 *
 * <p>In each window, every {@value #SAMPLE_MS} ms: each real proxy node's share as the API node lists it and as the
 * node applies it ({@code /admin/pool} {@code maxSize}), against the shares they had settled on before the load.
 * At each window's edges: the readers' answers by status and each node's count of messages other nodes sent it on
 * the proxy address, read from its {@code /metrics} ({@link #fromWire}). The real nodes' count must grow (the counter
 * sees the traffic, or the intruders' 0 would mean nothing); the intruders' counts are their totals since they
 * started.
 *
 * <p>Targets: no sample during the intruders' window with a real node's share different from before (their sum
 * stays the budget); 0 messages received by the intruders; 0 reads through the API node answered other than 200
 * in that window. The report also gives each intruder's verdict as the API node logged it (refused, pending).
 */
final class ClusterTrust {

  private static final Logger log = LoggerFactory.getLogger(ClusterTrust.class);

  static final String CLUSTER_TRUST = "cluster-trust";
  static final int BUDGET = 8;
  static final int CLIENTS = 16;
  static final long SAMPLE_MS = 250;

  static final String API = "api";
  static final String PROXY_A = "proxyA";
  static final String PROXY_B = "proxyB";
  static final String FOREIGN = "intruderForeign";
  static final String PLAIN = "intruderPlain";
  private static final List<String> REAL = List.of(API, PROXY_A, PROXY_B);
  private static final List<String> PROXIES = List.of(PROXY_A, PROXY_B);
  private static final List<String> INTRUDERS = List.of(FOREIGN, PLAIN);

  /** Until a step is reached: starts and joins of JVMs on a busy 2-core machine. */
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(90);
  private static final String RECEIVED = "vertx_eventbus_received_total";
  private static final String BYTES_READ = "vertx_eventbus_bytes_read";

  private final BenchOptions options;
  private final PrintStream progress;
  private final Path serviceJar;
  private final String stamp;

  ClusterTrust(BenchOptions options, PrintStream progress, Path serviceJar, String stamp) {
    this.options = options;
    this.progress = progress;
    this.serviceJar = serviceJar;
    this.stamp = stamp;
  }

  /** Runs the sequence on {@code host}'s database; the nodes are stopped and the certificates deleted on return. */
  JsonObject run(Bench.Running host) {
    long started = System.nanoTime();
    Path certs = options.workDir().resolve(stamp + "-" + CLUSTER_TRUST + "-certs");
    try {
      Files.createDirectories(certs);
      TestCerts cluster = TestCerts.authority(certs, "cluster");
      TestCerts foreign = TestCerts.authority(certs, "foreign");
      JsonObject figures = sequence(host.db(), cluster, foreign);
      return new JsonObject().put("name", CLUSTER_TRUST)
        .put("measures", "Issue 21: a member without the cluster's certificate leaves the shares unchanged and"
          + " receives no requests. A cluster with event-bus TLS and mutual authentication (1 API node, 2 proxy nodes,"
          + " budget " + BUDGET + ") under " + CLIENTS + " closed-loop readers through the API node (users cache"
          + " off); a window before, then two intruders join with role proxy (one with a certificate of another CA,"
          + " one without event-bus TLS) and a window while Hazelcast lists them, each of the measured duration."
          + " Shares sampled every " + SAMPLE_MS + " ms (the API node's /admin/cluster and each node's /admin/pool),"
          + " messages received on the proxy address read from each node's /metrics. Targets: the real nodes' shares"
          + " unchanged, 0 messages received by the intruders, 0 reads not answered 200 while they are members.")
        .put("config", new JsonObject().put("budget", BUDGET).put("clients", CLIENTS).put("sampleMs", SAMPLE_MS)
          .put("windowMs", options.duration().toMillis()).put("warmupMs", options.warmup().toMillis())
          .put("xmx", options.heap()))
        .put("durationSeconds", Bench.round((System.nanoTime() - started) / 1e9))
        .put("clusterTrust", figures);
    } catch (IOException e) {
      throw new UncheckedIOException(CLUSTER_TRUST + ": cannot write the certificates under " + certs, e);
    } finally {
      delete(certs);
    }
  }

  private JsonObject sequence(DbTarget db, TestCerts cluster, TestCerts foreign) {
    progress.printf("[bench] %s: 1 API node and 2 proxy nodes with event-bus TLS, then 2 intruders with role"
      + " proxy%n", CLUSTER_TRUST);
    try (Tier tier = new Tier(db)) {
      for (String node : List.of(PROXY_A, PROXY_B, API)) {
        tier.start(node, node.equals(API) ? "api" : "proxy", cluster.node(node), cluster.caPem());
      }
      REAL.forEach(node -> tier.node(node).awaitReady());
      await("the API node lists 2 proxy nodes with a share", () -> tier.apiShares(PROXIES).size() == 2);
      Map<String, Integer> settled = tier.awaitPools();
      try (ClusterBudget.Readers readers = new ClusterBudget.Readers(tier.node(API).baseUrl(), options.users(),
        CLIENTS)) {
        pause(options.warmup().toMillis());
        JsonObject before = tier.window(readers, settled, List.of());
        progress.printf("[bench] %s: intruders join (%s: a certificate of another CA; %s: no event-bus TLS)%n",
          CLUSTER_TRUST, FOREIGN, PLAIN);
        long joining = System.nanoTime();
        tier.start(FOREIGN, "proxy", foreign.node(FOREIGN), foreign.caPem());
        tier.start(PLAIN, "proxy", null, null);
        INTRUDERS.forEach(node -> tier.node(node).awaitReady());
        long readyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joining);
        await("the API node lists both intruders among its members", () -> tier.apiListsAll(INTRUDERS));
        long joinedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joining);
        JsonObject during = tier.window(readers, settled, INTRUDERS);
        JsonObject intruders = new JsonObject();
        for (String intruder : INTRUDERS) {
          intruders.put(intruder, tier.intruder(intruder));
        }
        readers.stop();
        return new JsonObject().put("settledShares", new JsonObject(new LinkedHashMap<>(settled)))
          .put("intrudersReadyAfterMs", readyMs).put("intrudersListedAfterMs", joinedMs).put("before", before).put("during", during)
          .put("intruders", intruders)
          .put("receivedByIntruders", INTRUDERS.stream()
            .mapToLong(i -> intruders.getJsonObject(i).getLong("receivedOnProxyAddress")).sum())
          .put("shareSamplesChanged", during.getLong("samplesChanged"))
          .put("non200During", during.getLong("non200"));
      }
    }
  }

  // ---- figures ----

  /** Target rows, in the form of {@link Comparison#targets}; none when the scenario did not run. */
  static JsonArray targets(JsonArray scenarios) {
    JsonArray rows = new JsonArray();
    JsonObject s = Comparison.find(scenarios, CLUSTER_TRUST);
    if (s.isEmpty()) {
      return rows;
    }
    JsonObject trust = s.getJsonObject("clusterTrust", new JsonObject());
    JsonObject during = trust.getJsonObject("during", new JsonObject());
    rows.add(ShapeFigures.none("cluster-trust: share samples of the real proxy nodes that differ from before the"
        + " intruders (every " + SAMPLE_MS + " ms, while Hazelcast lists them; shares " + trust.getJsonObject(
        "settledShares", new JsonObject()).encode() + ", sum " + BUDGET + ")", trust.getLong("shareSamplesChanged"),
      during.getLong("samples")));
    rows.add(ShapeFigures.none("cluster-trust: requests received by the intruders (event-bus messages from other"
      + " nodes on the proxy address, since each started)", trust.getLong("receivedByIntruders"), null));
    rows.add(ShapeFigures.none("cluster-trust: reads through the API node not answered 200 while the intruders are"
      + " members", trust.getLong("non200During"), during.getLong("reads")));
    return rows;
  }

  /** The Summary's key figure. */
  static String keyFigure(JsonObject s) {
    JsonObject trust = s.getJsonObject("clusterTrust", new JsonObject());
    JsonObject intruders = trust.getJsonObject("intruders", new JsonObject());
    List<String> verdicts = new ArrayList<>();
    intruders.fieldNames().forEach(name -> verdicts.add(name + " " + intruders.getJsonObject(name)
      .getString("verdictAtApi")));
    return "share samples changed " + trust.getLong("shareSamplesChanged") + ", requests received by intruders "
      + trust.getLong("receivedByIntruders") + ", reads not 200 " + trust.getLong("non200During") + " ("
      + String.join(", ", verdicts) + ")";
  }

  /** The rows of the scenario's own table in the report. */
  static List<Map.Entry<String, String>> rows(JsonObject s) {
    JsonObject trust = s.getJsonObject("clusterTrust", new JsonObject());
    List<Map.Entry<String, String>> rows = new ArrayList<>();
    for (String key : List.of("settledShares", "before", "during", "intruders")) {
      Object value = trust.getValue(key);
      rows.add(Map.entry(key, value == null ? "n/a" : value instanceof JsonObject o ? o.encode() : value.toString()));
    }
    for (String key : List.of("intrudersReadyAfterMs", "intrudersListedAfterMs")) {
      rows.add(Map.entry(key, String.valueOf(trust.getValue(key))));
    }
    return rows;
  }

  private static void await(Supplier<String> what, BooleanSupplier condition) {
    ClusterBudget.await(CLUSTER_TRUST, STEP_TIMEOUT, what, condition);
  }

  private static void await(String what, BooleanSupplier condition) {
    await(() -> what, condition);
  }

  /** The warm-up, or a window's sampling period. */
  private static void pause(long ms) {
    ClusterBudget.pause(ms);
  }

  private static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      log.warn("Cannot delete {}: {}", dir, e.getMessage());
    }
  }

  /**
   * The messages a node read from the wire on the proxy address: the count of its
   * {@code vertx_eventbus_bytes_read} summary for {@link ProxyContract#ADDRESS}, which Vert.x records for each message
   * an inbound event-bus connection delivers (a message another node sent it), never for a send within the node. The
   * {@code vertx_eventbus_received_total} counter cannot tell the two apart: Sluice's metrics leave its {@code side}
   * label off, so it also counts the node's own readiness check. 0 when the node has no such series (Micrometer
   * creates one at its first event).
   */
  static long fromWire(String metrics) {
    return proxyAddressSum(metrics, name -> name.startsWith(BYTES_READ) && name.endsWith("_count"));
  }

  /** {@code vertx_eventbus_received_total} of the proxy address: from other nodes and from the node itself. */
  static long receivedAll(String metrics) {
    return proxyAddressSum(metrics, RECEIVED::equals);
  }

  /** The sum of the Prometheus series whose metric name {@code name} accepts and whose address is the proxy's. */
  private static long proxyAddressSum(String metrics, Predicate<String> name) {
    String address = "address=\"" + ProxyContract.ADDRESS + "\"";
    double sum = 0;
    for (String line : metrics.split("\n")) {
      int labels = line.indexOf('{');
      if (labels > 0 && name.test(line.substring(0, labels)) && line.contains(address)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Math.round(sum);
  }

  // ---- the cluster ----

  /** The nodes: a cluster name and member ports of their own; stops every node it started. */
  private final class Tier implements AutoCloseable {

    private final String name = "trust-" + UUID.randomUUID().toString().substring(0, 8);
    private final String adminToken = UUID.randomUUID().toString();
    private final DbTarget db;
    private final Map<String, Integer> memberPorts = new LinkedHashMap<>();
    private final Map<String, ServiceProcess> nodes = new LinkedHashMap<>();
    private final Map<String, Path> logs = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    Tier(DbTarget db) {
      this.db = db;
      Stream.concat(REAL.stream(), INTRUDERS.stream()).forEach(node -> memberPorts.put(node, ServiceProcess.freePort()));
    }

    /**
     * Starts {@code node} with event-bus TLS on {@code pair} (key, certificate) and {@code ca}, or without TLS when
     * {@code pair} is null. The real nodes list only each other as members; an intruder lists them and itself: an
     * address of a member is all it needs to join.
     */
    void start(String node, String role, Path[] pair, Path ca) {
      List<Integer> members = new ArrayList<>(REAL.stream().map(memberPorts::get).toList());
      if (!REAL.contains(node)) {
        members.add(memberPorts.get(node));
      }
      Map<String, String> env = new LinkedHashMap<>(SluiceCluster.clusterEnvironment(role, name,
        memberPorts.get(node), members));
      env.put("SLUICE_ADMIN_TOKEN", adminToken);
      env.put("SLUICE_CACHE_USERS_ENABLED", "false");
      env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(BUDGET));
      env.put("SLUICE_CLUSTER_TLS_ENABLED", String.valueOf(pair != null));
      if (pair != null) {
        env.put("SLUICE_CLUSTER_TLS_KEY_PATH", pair[0].toString());
        env.put("SLUICE_CLUSTER_TLS_CERT_PATH", pair[1].toString());
        env.put("SLUICE_CLUSTER_TLS_CA_PATH", ca.toString());
      }
      if (!"api".equals(role)) {
        env.putAll(SluiceCluster.databaseEnvironment(db));
      }
      Path logFile = options.workDir().resolve("logs").resolve(stamp + "-" + CLUSTER_TRUST + "-" + node + ".log");
      logs.put(node, logFile);
      nodes.put(node, ServiceProcess.startNode(role + " node " + node + " (" + CLUSTER_TRUST + ")", serviceJar,
        options.heap(), options.workDir(), logFile, env));
    }

    ServiceProcess node(String node) {
      return nodes.get(node);
    }

    /** Until both real proxy nodes apply a share above 0 and the two add up to the budget: those shares. */
    Map<String, Integer> awaitPools() {
      Map<String, Integer> seen = new TreeMap<>();
      await(() -> "the proxy nodes' pools adding up to " + BUDGET + " (last seen " + seen + ")", () -> {
        PROXIES.forEach(proxy -> seen.put(proxy, poolSize(proxy)));
        return seen.values().stream().allMatch(size -> size != null && size > 0)
          && seen.values().stream().mapToInt(Integer::intValue).sum() == BUDGET;
      });
      return new TreeMap<>(seen);
    }

    /**
     * One window of {@link BenchOptions#duration()}: a sample of the real proxy nodes' shares every
     * {@value #SAMPLE_MS} ms against {@code settled}, the readers' answers and the proxy-address messages each node
     * received, by their difference between the window's edges.
     */
    JsonObject window(ClusterBudget.Readers readers, Map<String, Integer> settled, List<String> intruders) {
      Map<Integer, Long> statusesAtStart = readers.statuses();
      Map<String, Long> receivedAtStart = received(PROXIES);
      long end = System.nanoTime() + options.duration().toNanos();
      long samples = 0;
      long changed = 0;
      long intrudersUnlisted = 0;
      Map<String, Map<String, Long>> seen = new TreeMap<>();
      while (System.nanoTime() < end) {
        Map<String, Integer> listed = apiShares(PROXIES);
        boolean differs = false;
        for (String proxy : PROXIES) {
          Integer pool = poolSize(proxy);
          Integer share = listed.get(proxy);
          seen.computeIfAbsent(proxy, p -> new TreeMap<>()).merge("pool " + pool + ", listed " + share, 1L, Long::sum);
          differs |= !settled.get(proxy).equals(pool) || !settled.get(proxy).equals(share);
        }
        samples++;
        if (differs) {
          changed++;
        }
        if (!intruders.isEmpty() && !apiListsAll(intruders)) {
          intrudersUnlisted++;
        }
        pause(SAMPLE_MS);
      }
      Map<Integer, Long> statuses = readers.statuses();
      statusesAtStart.forEach((status, n) -> statuses.merge(status, -n, Long::sum));
      JsonObject answers = new JsonObject();
      statuses.forEach((status, n) -> answers.put(String.valueOf(status), n));
      long reads = statuses.values().stream().mapToLong(Long::longValue).sum();
      JsonObject realReceived = new JsonObject();
      received(PROXIES).forEach((proxy, n) -> realReceived.put(proxy, n - receivedAtStart.get(proxy)));
      if (PROXIES.stream().mapToLong(realReceived::getLong).sum() == 0) {
        throw new IllegalStateException(CLUSTER_TRUST + ": the real proxy nodes' " + BYTES_READ + " count for "
          + ProxyContract.ADDRESS + " did not grow in a window of " + reads + " reads: the counter read here does not"
          + " count the traffic, so an intruder's 0 would say nothing");
      }
      JsonObject shares = new JsonObject();
      seen.forEach((proxy, counts) -> shares.put(proxy, new JsonObject(new LinkedHashMap<>(counts))));
      JsonObject window = new JsonObject().put("samples", samples).put("samplesChanged", changed)
        .put("sharesSeen", shares).put("reads", reads).put("readerStatuses", answers)
        .put("non200", reads - statuses.getOrDefault(200, 0L)).put("receivedByRealProxies", realReceived)
        .put("proxyViewsAtEnd", proxyViews());
      return intruders.isEmpty() ? window : window.put("samplesWithoutEveryIntruderListed", intrudersUnlisted);
    }

    /**
     * An intruder's figures: its node id, the messages it received and processed on the proxy address since it
     * started, the statements its pool executed, its own view of the cluster, and its verdict in the API node's log.
     */
    JsonObject intruder(String intruder) {
      String metrics = text(intruder, "/metrics");
      JsonObject view = nodes.get(intruder).get("/admin/cluster", adminToken);
      JsonObject pool = nodes.get(intruder).get("/admin/pool", adminToken);
      String id = view.getString("self");
      return new JsonObject().put("nodeId", id).put("address", address(intruder))
        .put("receivedOnProxyAddress", fromWire(metrics)).put("receivedIncludingOwn", receivedAll(metrics))
        .put("statementsExecuted", pool.getLong("executed"))
        .put("ownShare", view.getValue("share")).put("ownMembers", view.getJsonArray("members", new JsonArray()).size())
        .put("verdictAtApi", verdict(API, id)).put("verdictAtProxyA", verdict(PROXY_A, id))
        .put("lastLogLineAtApi", lastLine(API, id));
    }

    /**
     * Each real proxy node's own {@code /admin/cluster}: its share and what its growth gate granted, whether it sees
     * a majority of the last known proxy members, how many those are, and how many members it sees. An intruder that
     * took a seat among the last known members would show here (a larger {@code lastKnown}, a lost majority).
     */
    private JsonObject proxyViews() {
      JsonObject views = new JsonObject();
      for (String proxy : PROXIES) {
        JsonObject view = nodes.get(proxy).get("/admin/cluster", adminToken);
        views.put(proxy, new JsonObject().put("share", view.getValue("share")).put("granted", view.getValue("granted"))
          .put("majority", view.getValue("majority"))
          .put("lastKnown", view.getJsonArray("lastKnown", new JsonArray()).size())
          .put("members", view.getJsonArray("members", new JsonArray()).size()));
      }
      return views;
    }

    /** Each node's {@code /metrics} count of messages other nodes sent it on the proxy address. */
    private Map<String, Long> received(List<String> which) {
      Map<String, Long> counts = new LinkedHashMap<>();
      which.forEach(node -> counts.put(node, fromWire(text(node, "/metrics"))));
      return counts;
    }

    /** refused, trusted or pending (probed, no verdict), from {@code node}'s log lines about {@code id}. */
    private String verdict(String node, String id) {
      String line = lastLine(node, id);
      if (line == null) {
        return "not probed";
      }
      return line.contains("Peer refused") ? "refused" : line.contains("Peer trusted") ? "trusted" : "pending";
    }

    /** The last of {@code node}'s {@code TlsPeerTrust} lines ("Peer …") about member {@code id}, or null. */
    private String lastLine(String node, String id) {
      try (Stream<String> lines = Files.lines(logs.get(node))) {
        return lines.filter(l -> l.contains("Peer ") && l.contains(id)).reduce((a, b) -> b).orElse(null);
      } catch (IOException e) {
        throw new UncheckedIOException(CLUSTER_TRUST + ": cannot read " + logs.get(node), e);
      }
    }

    /** The real proxy nodes' shares as the API node's {@code /admin/cluster} lists them (those listed with one). */
    Map<String, Integer> apiShares(List<String> proxies) {
      Map<String, JsonObject> members = members();
      Map<String, Integer> shares = new TreeMap<>();
      for (String proxy : proxies) {
        JsonObject member = members.get(address(proxy));
        if (member != null && member.getInteger("share") != null) {
          shares.put(proxy, member.getInteger("share"));
        }
      }
      return shares;
    }

    boolean apiListsAll(List<String> which) {
      Map<String, JsonObject> members = members();
      return which.stream().allMatch(node -> members.containsKey(address(node)));
    }

    private Map<String, JsonObject> members() {
      return SluiceCluster.members(nodes.get(API), adminToken);
    }

    /** The pool size the node applies ({@code /admin/pool} {@code maxSize}); null while it does not answer. */
    private Integer poolSize(String node) {
      try {
        JsonObject stats = nodes.get(node).get("/admin/pool", adminToken);
        return stats.getJsonObject("pool", stats).getInteger("maxSize");
      } catch (IllegalStateException e) {
        return null;
      }
    }

    private String text(String node, String path) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(nodes.get(node).baseUrl() + path))
        .timeout(Duration.ofSeconds(10)).GET().build();
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
          throw new IllegalStateException(CLUSTER_TRUST + ": " + node + " answered " + response.statusCode() + " to "
            + path);
        }
        return response.body();
      } catch (IOException e) {
        throw new UncheckedIOException(CLUSTER_TRUST + ": GET " + path + " of " + node, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted");
      }
    }

    private String address(String node) {
      return "127.0.0.1:" + memberPorts.get(node);
    }

    @Override
    public void close() {
      List<ServiceProcess> all = new ArrayList<>(nodes.values());
      // The API node first (it drains), then every proxy node, intruders included.
      all.sort(Comparator.comparing(process -> process != nodes.get(API)));
      all.forEach(ServiceProcess::terminate);
      all.forEach(ServiceProcess::close);
    }
  }
}
