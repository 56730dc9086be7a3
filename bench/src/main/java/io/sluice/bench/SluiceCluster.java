package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * The service jar as a cluster on loopback, for the {@code clustered} scenario (one API node and two proxy nodes)
 * and {@code cluster-idle} (one API node and three),
 * each a process of its own run as {@link ServiceProcess} runs the service ({@code java -Xmx<heap> -jar sluice.jar},
 * {@code SLUICE_*} variables only), joined on Hazelcast under a cluster name unique to this run, with member ports
 * that were free a moment before (the event-bus ports are picked by the nodes themselves).
 *
 * <p>The proxy nodes use the database they are given ({@code db.host} set, so neither starts an embedded server);
 * {@code db.pool.maxSize} is the tier's budget, which they split between them (each holds its share from the start).
 *
 * <p>Start: the three nodes side by side; each proxy node is ready once its own proxy answers (readiness is local on
 * a proxy node), the API node once a proxy has registered (503 until then); then, with a deadline, until the API node
 * lists every member and every proxy's share (a node that formed a cluster of its own would otherwise go
 * unnoticed); then until the proxy nodes' own pools ({@code /admin/pool} {@code maxSize}, each node's share) are all
 * above 0 and add up to the budget: the shares have settled, on the nodes themselves.
 * Stop: SIGTERM to the API node first (it drains), then to every proxy node at once (each drains and leaves); the
 * exit statuses are kept for the report, where anything but 0 is a shutdown that was not clean.
 */
final class SluiceCluster implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SluiceCluster.class);

  /** The nodes, by the names the report uses. */
  static final String API = "api";
  static final String PROXY_A = "proxyA";
  static final String PROXY_B = "proxyB";
  static final String PROXY_C = "proxyC";
  private static final List<String> PROXY_NAMES = List.of(PROXY_A, PROXY_B, PROXY_C);
  /** Until the API node lists every member: Hazelcast's join is quick (no join wait), but the machine is busy. */
  static final Duration MEMBERSHIP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(250);

  private final String name = "bench-" + UUID.randomUUID().toString().substring(0, 8);
  /** For {@code /admin/cluster} and {@code /admin/pool}; random per run, masked in the report. */
  private final String adminToken = UUID.randomUUID().toString();
  private final Map<String, Integer> memberPorts = new LinkedHashMap<>();
  private final Map<String, ServiceProcess> nodes = new LinkedHashMap<>();
  private final Map<String, Integer> exitStatuses = new LinkedHashMap<>();
  /** The API node first, then the proxy nodes: the order the report lists them in. */
  private final List<String> names;
  private final List<String> proxies;
  private JsonObject membership;
  /** Each proxy node's pool {@code maxSize} once they added up to the budget (see {@link #awaitShares}). */
  private JsonObject settledShares;
  /** Set by the first {@link #close()} (the scenario's, or the bench's shutdown hook): the nodes stop once. */
  private boolean closed;

  private SluiceCluster(int proxyNodes) {
    if (proxyNodes < 1 || proxyNodes > PROXY_NAMES.size()) {
      throw new IllegalArgumentException("1 to " + PROXY_NAMES.size() + " proxy nodes, not " + proxyNodes);
    }
    proxies = PROXY_NAMES.subList(0, proxyNodes);
    List<String> all = new ArrayList<>(List.of(API));
    all.addAll(proxies);
    names = List.copyOf(all);
    for (String node : names) {
      memberPorts.put(node, ServiceProcess.freePort());
    }
  }

  /**
   * Starts the three nodes and waits until the cluster is whole; on any failure stops what it started and throws.
   *
   * @param budget      {@code db.pool.maxSize} of every node: the proxy tier's budget
   * @param scenarioEnv variables every node gets (the users cache off, say)
   * @param logFile     a node's name → its log file
   */
  static SluiceCluster start(Path jar, String heap, Path workDir, Function<String, Path> logFile, DbTarget db,
                             int budget, Map<String, String> scenarioEnv) {
    return start(2, jar, heap, workDir, logFile, db, budget, scenarioEnv);
  }

  /** {@link #start} with {@code proxyNodes} proxy nodes (1 to 3: proxyA, proxyB, proxyC). */
  static SluiceCluster start(int proxyNodes, Path jar, String heap, Path workDir, Function<String, Path> logFile,
                             DbTarget db, int budget, Map<String, String> scenarioEnv) {
    SluiceCluster cluster = new SluiceCluster(proxyNodes);
    try {
      Map<String, String> database = databaseEnvironment(db);
      // All at once: a member that is not up yet when another joins costs that one a connect timeout (about 8 s)
      // before it gives the missing member up and forms the cluster without it.
      for (String proxy : cluster.proxies) {
        cluster.startNode(proxy, "proxy", jar, heap, workDir, logFile, budget, scenarioEnv, database);
      }
      cluster.startNode(API, "api", jar, heap, workDir, logFile, budget, scenarioEnv, Map.of());
      for (String proxy : cluster.proxies) {
        cluster.nodes.get(proxy).awaitReady();
      }
      cluster.api().awaitReady();
      long deadline = System.nanoTime() + MEMBERSHIP_TIMEOUT.toNanos();
      cluster.awaitWhole(deadline);
      cluster.awaitShares(budget, deadline);
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  private void startNode(String node, String role, Path jar, String heap, Path workDir, Function<String, Path> logFile,
                         int budget, Map<String, String> scenarioEnv, Map<String, String> database) {
    Map<String, String> env = new LinkedHashMap<>(scenarioEnv);
    env.putAll(clusterEnvironment(role, name, memberPorts.get(node), memberPorts.values()));
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(budget));
    env.put("SLUICE_ADMIN_TOKEN", adminToken);
    env.putAll(database);
    nodes.put(node, ServiceProcess.startNode(role + " node " + node, jar, heap, workDir, logFile.apply(node), env));
  }

  /**
   * The {@code SLUICE_CLUSTER_*} variables of a node on loopback: cluster {@code name}, this node's {@code role} and
   * member port, every member's port in the member list.
   */
  static Map<String, String> clusterEnvironment(String role, String name, int memberPort,
                                                Collection<Integer> memberPorts) {
    return clusterEnvironment(role, name, "127.0.0.1", memberPort, memberPorts.stream()
      .map(port -> "127.0.0.1:" + port).toList());
  }

  /** The same for a node whose member address is {@code host} ({@code members}: every member's host:port). */
  static Map<String, String> clusterEnvironment(String role, String name, String host, int memberPort,
                                                Collection<String> members) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_CLUSTER_ENABLED", "true");
    env.put("SLUICE_CLUSTER_ROLE", role);
    env.put("SLUICE_CLUSTER_NAME", name);
    env.put("SLUICE_CLUSTER_HOST", host);
    env.put("SLUICE_CLUSTER_PORT", String.valueOf(memberPort));
    env.put("SLUICE_CLUSTER_MEMBERS", String.join(",", members));
    return env;
  }

  /** The {@code SLUICE_DB_*} variables of a proxy node on {@code db} (the password among them). */
  static Map<String, String> databaseEnvironment(DbTarget db) {
    return Map.of("SLUICE_DB_HOST", db.host(), "SLUICE_DB_PORT", String.valueOf(db.port()),
      "SLUICE_DB_DATABASE", db.database(), "SLUICE_DB_USER", db.user(), "SLUICE_DB_PASSWORD", db.password());
  }

  /**
   * The members {@code node}'s {@code /admin/cluster} lists, by their Hazelcast address ({@code host:port}); none
   * while it does not answer (starting, frozen).
   */
  static Map<String, JsonObject> members(ServiceProcess node, String adminToken) {
    Map<String, JsonObject> byAddress = new LinkedHashMap<>();
    try {
      node.get("/admin/cluster", adminToken).getJsonArray("members", new JsonArray())
        .forEach(o -> byAddress.put(((JsonObject) o).getString("address"), (JsonObject) o));
    } catch (IllegalStateException e) {
      // Not answering: no members seen this time; the callers poll again.
    }
    return byAddress;
  }

  /** Polls the API node's {@code /admin/cluster} until it lists every member, each proxy node with a share. */
  private void awaitWhole(long deadline) {
    JsonObject seen = null;
    String failure = null;
    while (System.nanoTime() < deadline) {
      try {
        seen = api().get("/admin/cluster", adminToken);
      } catch (IllegalStateException e) {
        // Polled again until the deadline: the answer is reported if it never comes.
        failure = e.getMessage();
        seen = new JsonObject();
      }
      JsonArray members = seen.getJsonArray("members", new JsonArray());
      long proxies = members.stream().map(JsonObject.class::cast)
        .filter(m -> "proxy".equals(m.getString("role")) && m.getInteger("share") != null).count();
      if (members.size() == nodes.size() && proxies == this.proxies.size()) {
        membership = seen;
        return;
      }
      pause();
    }
    throw new IllegalStateException("the API node did not list " + nodes.size() + " members with "
      + this.proxies.size() + " proxy nodes within " + MEMBERSHIP_TIMEOUT.toSeconds() + " s; last seen: " + seen
      + (failure == null ? "" : "; last failure: " + failure));
  }

  /**
   * Polls every proxy node's {@code /admin/pool} until each {@code maxSize} (the node's share, as the node itself
   * applies it) is above 0 and they add up to {@code budget}: a share is applied on a node after the membership
   * change that set it, so the API node's list alone does not say the pools are sized yet.
   */
  private void awaitShares(int budget, long deadline) {
    JsonObject seen = new JsonObject();
    while (System.nanoTime() < deadline) {
      seen = new JsonObject();
      for (String proxy : proxies) {
        try {
          seen.put(proxy, nodes.get(proxy).get("/admin/pool", adminToken).getInteger("maxSize"));
        } catch (IllegalStateException e) {
          seen.putNull(proxy);
        }
      }
      if (settled(seen, budget)) {
        settledShares = seen;
        return;
      }
      pause();
    }
    throw new IllegalStateException("the proxy nodes' pools did not settle on shares above 0 adding up to the budget "
      + budget + " within " + MEMBERSHIP_TIMEOUT.toSeconds() + " s; last seen (maxSize of /admin/pool): " + seen);
  }

  /** Every node's share known and above 0, and their sum the budget. */
  static boolean settled(JsonObject shares, int budget) {
    int sum = 0;
    for (String node : shares.fieldNames()) {
      Integer share = shares.getInteger(node);
      if (share == null || share <= 0) {
        return false;
      }
      sum += share;
    }
    return !shares.isEmpty() && sum == budget;
  }

  /** The pause between two polls of a deadline-bounded wait for the cluster (polling, not synchronisation). */
  private void pause() {
    try {
      Thread.sleep(POLL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the cluster " + name);
    }
  }

  ServiceProcess api() {
    return nodes.get(API);
  }

  /** Every node's pid, by name, the API node first: the program whose CPU the scenario meters. */
  Map<String, Long> pids() {
    Map<String, Long> pids = new LinkedHashMap<>();
    for (String node : names) {
      pids.put(node, nodes.get(node).pid());
    }
    return pids;
  }

  String name() {
    return name;
  }

  /** The variables a node got, secrets masked. */
  Map<String, String> environment(String node) {
    return nodes.get(node).environment();
  }

  JsonObject effectiveConfig(String node) {
    return nodes.get(node).effectiveConfig();
  }

  /** The cluster's name, the budget and each proxy node's share, as the API node listed them once whole. */
  JsonObject membership() {
    JsonObject shares = new JsonObject();
    JsonArray members = membership.getJsonArray("members", new JsonArray());
    memberPorts.forEach((node, port) -> {
      for (int i = 0; i < members.size(); i++) {
        JsonObject member = members.getJsonObject(i);
        if (member.getString("address", "").endsWith(":" + port) && member.getValue("share") != null) {
          shares.put(node, member.getInteger("share"));
        }
      }
    });
    return new JsonObject().put("name", name).put("budget", membership.getInteger("budget")).put("shares", shares)
      .put("settledPoolMaxSizes", settledShares);
  }

  /** The proxy nodes' names, in start order. */
  List<String> proxies() {
    return proxies;
  }

  /**
   * Each node: role, pid, peak RSS so far; for a proxy node also its pool's {@code maxSize} and the statements it
   * executed since it started, warm-up included (its {@code /admin/pool}), which show that both served the load.
   * Call it before {@link #close()}.
   */
  JsonObject describeNodes(String heap) {
    JsonObject json = new JsonObject();
    for (String node : names) {
      ServiceProcess process = nodes.get(node);
      long rss = process.peakRssBytes();
      JsonObject described = new JsonObject().put("role", node.equals(API) ? "api" : "proxy")
        .put("pid", process.pid()).put("xmx", heap).put("peakRssBytes", rss < 0 ? null : rss)
        .put("peakRssMiB", rss < 0 ? null : Bench.round(rss / 1048576.0));
      if (!node.equals(API)) {
        JsonObject pool = process.get("/admin/pool", adminToken);
        described.put("poolMaxSize", pool.getInteger("maxSize")).put("statementsExecuted", pool.getLong("executed"));
      }
      json.put(node, described);
    }
    return json;
  }

  /** Each node's exit status after {@link #close()} (0: a clean shutdown); null for one that did not start. */
  Map<String, Integer> exitStatuses() {
    return exitStatuses;
  }

  /** SIGTERM to the API node, then to every proxy node at once; waits for each (see {@link ServiceProcess#close}). */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    ServiceProcess api = nodes.get(API);
    if (api != null) {
      api.close();
    }
    List<ServiceProcess> running = new ArrayList<>();
    for (String proxy : proxies) {
      if (nodes.containsKey(proxy)) {
        running.add(nodes.get(proxy));
      }
    }
    running.forEach(ServiceProcess::terminate);
    running.forEach(ServiceProcess::close);
    nodes.forEach((node, process) -> {
      exitStatuses.put(node, process.exitStatus());
      if (!Integer.valueOf(0).equals(process.exitStatus())) {
        log.warn("Cluster node {} (pid {}) exited with status {}, not 0", node, process.pid(), process.exitStatus());
      }
    });
  }
}
