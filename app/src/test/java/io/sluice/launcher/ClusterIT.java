package io.sluice.launcher;

import io.sluice.config.JsonSection;
import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestCerts;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sluice.jar as a cluster of separate processes on loopback: one API node and two proxy nodes, on the test database
 * (shared by both proxy nodes), with event-bus TLS and mutual authentication on, as production would run it (so
 * every test here also shows TLS nodes talking). The test JVM joins the cluster itself as an outsider node, with a
 * certificate of the cluster's CA or of another CA. Budget {@code db.pool.maxSize} 8 and {@code proxy.instances} 2
 * on every node; on the proxy nodes a short heartbeat timeout and grace (10 s each) and a little injected statement
 * latency (5–20 ms), so that load fills the pools and a kill finds requests in flight. The service user's
 * connections are counted on the server throughout ({@link ServerConnections}). The tests run in order and share
 * the cluster: one starts and stops a second API node, the kill test kills proxy A with {@code kill -9}, the last
 * one stops what is left of the proxy tier.
 *
 * <p>Bounds here are liveness bounds ({@link SluiceProcess#START_BOUND} and the polls' deadlines), never speed
 * claims.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {

  private static final String TOKEN = "it-" + UUID.randomUUID();
  private static final String CLUSTER = "it-" + UUID.randomUUID().toString().substring(0, 8);
  private static final Duration POLL_BOUND = Duration.ofSeconds(60);
  /** The API node's grace: long enough that the departed proxies are still listed when the last test looks. */
  private static final String API_GRACE_MS = "600000";
  /** {@code db.pool.maxSize}: the budget of the proxy tier, 4 for each of the two proxy nodes. */
  private static final int BUDGET = 8;
  /** {@code proxy.instances} on every proxy node, as docs/scale-out.md asks: equal consumer counts. */
  private static final int SHARDS = 2;
  private static final int PROXY_NODES = 2;
  /**
   * A proxy node's connections outside its pools: its admin connection, its readiness probe's and, fault injection
   * being on here, the holder of the lock its injected latency waits on (docs/scale-out.md).
   */
  private static final int OWN = 3;
  /** The steady bound of docs/scale-out.md: the budget + each proxy node's own connections. */
  private static final int STEADY_BOUND = BUDGET + OWN * PROXY_NODES;
  /** The bound while shares change (each node's old pool drains beside its new one): twice the budget + its own. */
  private static final int CHANGE_BOUND = 2 * BUDGET + OWN * PROXY_NODES;
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

  private final int apiMember = SluiceProcess.freePort();
  private final int proxyAMember = SluiceProcess.freePort();
  private final int proxyBMember = SluiceProcess.freePort();
  private final String members = "127.0.0.1:" + apiMember + ",127.0.0.1:" + proxyAMember + ",127.0.0.1:"
    + proxyBMember;
  private final List<Vertx> outsiders = new ArrayList<>();
  /** One OpenAPI-checked client per HTTP port. */
  private final Map<Integer, WebClient> clients = new HashMap<>();
  private Path certs;
  private TestCerts ca;
  private Vertx clientVertx;
  private SluiceProcess api;
  private SluiceProcess proxyA;
  private SluiceProcess proxyB;
  private DbSettings db;
  private ServerConnections connections;

  @BeforeAll
  void startCluster() throws Exception {
    db = TestDatabase.settings();
    connections = new ServerConnections(db);
    Path target = Path.of("target", "process-it").toAbsolutePath();
    Files.createDirectories(target);
    certs = Files.createTempDirectory(target, "certs-");
    ca = TestCerts.authority(certs, "cluster");
    Map<String, String> database = Map.of(
      "SLUICE_DB_HOST", db.host(),
      "SLUICE_DB_PORT", String.valueOf(db.port()),
      "SLUICE_DB_DATABASE", db.database(),
      "SLUICE_DB_USER", db.user(),
      "SLUICE_DB_PASSWORD", db.password());
    Map<String, String> proxy = new HashMap<>(database);
    // Short, so that the kill test sees the survivor grow: a silent member is dropped after 10 s, and a departed
    // one counts 10 s (5 s timeouts split the cluster when this busy 2-core machine stalled processes for 3-4 s).
    proxy.put("SLUICE_CLUSTER_HEARTBEAT_TIMEOUT_SECONDS", "10");
    proxy.put("SLUICE_CLUSTER_SHARE_GRACE_MS", "10000");
    // Statements hold their connections a little, so that load fills the pools and a kill finds requests in flight.
    proxy.put("SLUICE_FAULTS_DB_LATENCY_ENABLED", "true");
    proxy.put("SLUICE_FAULTS_DB_LATENCY_MIN_MS", "5");
    proxy.put("SLUICE_FAULTS_DB_LATENCY_MAX_MS", "20");
    proxyA = node("proxy-a", "proxy", proxyAMember, members, proxy);
    proxyB = node("proxy-b", "proxy", proxyBMember, members, proxy);
    api = node("api", "api", apiMember, members, Map.of("SLUICE_CLUSTER_SHARE_GRACE_MS", API_GRACE_MS));
    java.net.http.HttpClient probe = java.net.http.HttpClient.newHttpClient();
    for (SluiceProcess node : List.of(proxyA, proxyB, api)) {
      node.awaitUp(probe);
    }
    clientVertx = Vertx.vertx();
  }

  @AfterAll
  void stopCluster() throws Exception {
    if (connections != null) {
      connections.close();
    }
    List.copyOf(outsiders).forEach(this::leave);
    clients.values().forEach(WebClient::close);
    if (clientVertx != null) {
      clientVertx.close().await();
    }
    for (SluiceProcess node : new SluiceProcess[] {api, proxyA, proxyB}) {
      if (node != null) {
        node.close();
      }
    }
  }

  @Test
  @Order(1)
  @DisplayName("1 API node + 2 proxy nodes: requests through the API node succeed, and both proxy nodes execute them")
  void bothProxyNodesServeTheApiNode() {
    WebClient client = client(api);
    SluiceProcess.awaitCondition("statements executed on both proxy nodes", POLL_BOUND, () -> {
      String email = "cluster-" + UUID.randomUUID() + "@example.com";
      // A long deadline: the first requests open the event-bus TLS connections and the pools on a busy machine.
      HttpResponse<Buffer> created = client.post("/users").putHeader("X-Request-Timeout", "10000")
        .sendJsonObject(new JsonObject().put("name", "Cluster IT").put("email", email)).await();
      assertEquals(201, created.statusCode(), created.bodyAsString());
      long id = created.bodyAsJsonObject().getLong("id");
      HttpResponse<Buffer> read = client.get("/users/" + id).putHeader("X-Request-Timeout", "10000").send().await();
      assertEquals(200, read.statusCode(), read.bodyAsString());
      assertEquals(email, read.bodyAsJsonObject().getString("email"));
      return executed(proxyA) > 0 && executed(proxyB) > 0;
    });

    HttpResponse<Buffer> ready = client.get("/health/ready").send().await();
    assertEquals(200, ready.statusCode(), ready.bodyAsString());
    HttpResponse<Buffer> notHere = client(proxyA).get("/users/1").send().await();
    assertEquals(404, notHere.statusCode(), notHere.bodyAsString());
    assertTrue(notHere.bodyAsJsonObject().getString("message").contains("proxy node"), notHere.bodyAsString());
  }

  @Test
  @Order(2)
  @DisplayName("GET /admin/cluster: members oldest first with their roles, the budget split between the proxy nodes")
  void adminClusterListsMembersAndShares() {
    // Each proxy node's pool is its share: 8 while proxy A was alone, 4 once proxy B joined.
    SluiceProcess.awaitCondition("each proxy node's pool at its share " + BUDGET / 2, POLL_BOUND,
      () -> poolMaxSize(proxyA) == BUDGET / 2 && poolMaxSize(proxyB) == BUDGET / 2);
    JsonObject seenByApi = adminCluster(api);
    assertEquals(CLUSTER, seenByApi.getString("name"));
    assertEquals("api", seenByApi.getString("role"));
    assertEquals(null, seenByApi.getValue("share"));
    JsonArray members = seenByApi.getJsonArray("members");
    assertEquals(3, members.size(), seenByApi.encodePrettily());
    Map<String, Integer> shareByAddress = new HashMap<>();
    for (int i = 0; i < members.size(); i++) {
      JsonObject member = members.getJsonObject(i);
      if (member.getString("role").equals("proxy")) {
        shareByAddress.put(member.getString("address"), member.getInteger("share"));
      }
    }
    int budget = seenByApi.getInteger("budget");
    assertEquals(2, shareByAddress.size(), seenByApi.encodePrettily());
    assertEquals(budget, shareByAddress.values().stream().mapToInt(Integer::intValue).sum());
    assertEquals(budget / 2, (int) shareByAddress.get("127.0.0.1:" + proxyBMember));
    for (Object m : members) {
      JsonObject member = (JsonObject) m;
      if (member.getString("role").equals("proxy")) {
        JsonObject stats = member.getJsonObject("stats");
        assertNotEquals(null, stats, "each proxy node answers for its figures: " + seenByApi.encodePrettily());
        assertEquals(BUDGET / 2, stats.getInteger("maxSize"), seenByApi.encodePrettily());
        assertEquals(SHARDS, stats.getInteger("eventLoops"), seenByApi.encodePrettily());
        assertTrue(stats.getInteger("inUse") >= 0 && stats.getInteger("waiting") >= 0, stats.encode());
      } else {
        assertFalse(member.containsKey("stats"), member.encode());
      }
    }

    JsonObject seenByProxy = adminCluster(proxyB);
    assertEquals("proxy", seenByProxy.getString("role"));
    assertEquals(shareByAddress.get("127.0.0.1:" + proxyBMember), seenByProxy.getInteger("share"));
    assertEquals(members.stream().map(m -> ((JsonObject) m).getString("id")).toList(),
      seenByProxy.getJsonArray("members").stream().map(m -> ((JsonObject) m).getString("id")).toList(),
      "every member lists the members in the same order");
  }

  @Test
  @Order(3)
  @DisplayName("a node outside the process reaches the proxy, but gets NO_HANDLERS at every address that changes a node")
  void outsiderGetsNoHandlerForAdministrativeAddresses() {
    Vertx outsider = join("outsider", ca);
    try {
      outsiderIsRefused(outsider);
    } finally {
      leave(outsider);
    }
    // The nodes themselves still reach their own: the config watcher and the membership answer locally.
    for (SluiceProcess node : List.of(api, proxyA)) {
      HttpResponse<Buffer> config = admin(node, "/admin/config");
      assertEquals(200, config.statusCode(), config.bodyAsString());
      assertNotEquals(null, config.bodyAsJsonObject().getValue("reloads"), config.bodyAsString());
    }
  }

  private void outsiderIsRefused(Vertx outsider) {
    // In the cluster, past TLS: the proxy answers it.
    pingUntilAnswered(outsider);
    for (String address : administrativeAddresses()) {
      Throwable failure = assertThrows(Throwable.class, () -> outsider.eventBus()
        .request(address, new JsonObject(), new DeliveryOptions().setSendTimeout(10_000)).await(), address);
      assertTrue(failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS,
        address + ": " + failure);
    }
  }

  @Test
  @Order(4)
  @DisplayName("event-bus TLS: a node whose certificate another CA signed joins Hazelcast but cannot reach the proxy")
  void nodeWithAForeignCertificateCannotReachTheProxy() {
    Vertx rogue = join("rogue", TestCerts.authority(certs, "rogue"));
    try {
      rogueIsRefused(rogue);
    } finally {
      leave(rogue);
    }
  }

  private static void rogueIsRefused(Vertx rogue) {
    // Its Hazelcast membership (plaintext, like every member port) gives it the proxies' registrations.
    SluiceProcess.awaitCondition("the rogue node sees the proxies' registrations", POLL_BOUND,
      () -> failureOfPing(rogue) instanceof ReplyException reply ? reply.failureType() != ReplyFailure.NO_HANDLERS
        : true);
    for (int i = 0; i < 2; i++) {
      Throwable failure = failureOfPing(rogue);
      assertNotEquals(null, failure, "a node without the cluster's CA got an answer from a proxy node");
      assertFalse(failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE,
        "the proxy received the rogue's message: " + failure);
    }
  }

  @Test
  @Order(5)
  @DisplayName("a settings write through the API node, then reads on both proxy nodes: every read after the lag of"
    + " one event-bus hop returns the new value (the lag is printed)")
  void readsOnEitherProxyNodeSeeAWriteAfterOneHop() {
    WebClient client = client(api);
    long userId = createUser(client);
    String old = "old-" + RUN;
    assertEquals(200, putSettings(client, userId, old).statusCode());
    // Both nodes cache the old value (round robin over 2 × SHARDS consumers), at least one from cache.
    boolean hit = false;
    for (int i = 0; i < 8 * PROXY_NODES * SHARDS; i++) {
      HttpResponse<Buffer> read = getSettings(client, userId);
      assertEquals(old, theme(read), read.bodyAsString());
      hit |= "HIT".equalsIgnoreCase(read.getHeader("X-Cache"));
    }
    assertTrue(hit, "the settings cache is on: a stale entry on the other node would show");

    String fresh = "new-" + RUN;
    assertEquals(200, putSettings(client, userId, fresh).statusCode());
    long acknowledged = System.nanoTime();
    int wanted = 10 * PROXY_NODES * SHARDS;
    int[] run = {0, 0, 0};
    long[] firstOfRun = {0};
    long[] lastStale = {acknowledged};
    SluiceProcess.awaitCondition(wanted + " consecutive reads of the new value", POLL_BOUND, () -> {
      HttpResponse<Buffer> read = getSettings(client, userId);
      assertEquals(200, read.statusCode(), read.bodyAsString());
      run[2]++;
      if (fresh.equals(theme(read))) {
        if (run[0]++ == 0) {
          firstOfRun[0] = System.nanoTime();
        }
      } else {
        assertEquals(old, theme(read), read.bodyAsString());
        run[1]++;
        run[0] = 0;
        lastStale[0] = System.nanoTime();
      }
      return run[0] >= wanted;
    });
    System.out.printf("ClusterIT cross-node read lag: %d stale read(s) after the write's 200, the last answered"
        + " %.1f ms after it; the first of %d consecutive fresh reads answered %.1f ms after it (%d reads)%n", run[1],
      (lastStale[0] - acknowledged) / 1e6, wanted, (firstOfRun[0] - acknowledged) / 1e6, run[2]);
  }

  @Test
  @Order(6)
  @DisplayName("one API node, then two under the same load: the server's connections are the proxy nodes' own, never"
    + " more than budget + 2 per proxy node")
  void secondApiNodeAddsNoServerConnection() throws Exception {
    long userId = createUser(client(api));
    int perWriter = 25;
    connections.resetMax();
    try (ClusterLoad load = new ClusterLoad("one-api-" + RUN, List.of(api.httpPort), userId, 16, 0, perWriter)) {
      load.awaitDone(POLL_BOUND);
    }
    int oneApi = connections.resetMax();
    int oneApiPools = awaitOnlyProxyConnections();

    int member = SluiceProcess.freePort();
    SluiceProcess api2 = node("api-2", "api", member, members + ",127.0.0.1:" + member,
      Map.of("SLUICE_CLUSTER_SHARE_GRACE_MS", API_GRACE_MS));
    try {
      api2.awaitUp(java.net.http.HttpClient.newHttpClient());
      SluiceProcess.awaitCondition("the second API node ready", POLL_BOUND,
        () -> client(api2).get("/health/ready").send().await().statusCode() == 200);
      connections.resetMax();
      try (ClusterLoad load = new ClusterLoad("two-api-" + RUN, List.of(api.httpPort, api2.httpPort), userId, 16, 0,
        perWriter)) {
        load.awaitDone(POLL_BOUND);
      }
      int twoApis = connections.resetMax();
      int twoApisPools = awaitOnlyProxyConnections();
      // How many connections the pools open under a load depends on timing (a pool opens one only when all its
      // connections are busy); what must not change is who holds them: the proxy nodes only, within the bound.
      System.out.printf("ClusterIT server connections under 16 writers: at most %d with one API node (pools"
          + " open %d), at most %d with two (pools open %d); bound %d%n", oneApi, oneApiPools, twoApis, twoApisPools,
        STEADY_BOUND);
      assertTrue(oneApi <= STEADY_BOUND, oneApi + " connections > " + STEADY_BOUND);
      assertTrue(twoApis <= STEADY_BOUND, twoApis + " connections > " + STEADY_BOUND);
    } finally {
      api2.process.destroy();
      api2.awaitExit();
      api2.close();
    }
  }

  @Test
  @Order(7)
  @DisplayName("kill -9 of a proxy node under load: every acknowledged write stored once, errors only around the"
    + " kill, the survivor grows to the whole budget after the grace")
  void killOfAProxyNodeUnderLoad() throws Exception {
    // The majority rule (ShareGovernor): a member that left less than the grace ago (the second API node of the
    // test before, the outsiders) might be alive across a partition and still counts among the last known members;
    // with one, proxy B and the API node would be 2 of 4 after the kill, a tie only the side with the lowest address
    // wins. Wait until the last known members are the three nodes (the second API node may not even be dropped yet).
    Set<Object> three = Set.of("127.0.0.1:" + apiMember, "127.0.0.1:" + proxyAMember, "127.0.0.1:" + proxyBMember);
    SluiceProcess.awaitCondition("proxy B's last known members the three nodes", POLL_BOUND,
      () -> Set.copyOf(adminCluster(proxyB).getJsonArray("lastKnown").getList()).equals(three));
    long userId = createUser(client(api));
    connections.resetMax();
    long killed;
    long gone;
    long grown;
    List<ClusterLoad.Failure> failures;
    Set<String> acknowledged;
    ClusterLoad load = new ClusterLoad("kill-" + RUN, List.of(api.httpPort), userId, 3, 3, 0);
    try {
      SluiceProcess.awaitCondition("writes acknowledged before the kill", POLL_BOUND,
        () -> load.acknowledged().size() >= 50);
      killed = System.nanoTime();
      proxyA.process.destroyForcibly();
      String addressA = "127.0.0.1:" + proxyAMember;
      SluiceProcess.awaitCondition("proxy A dropped from the API node's members", POLL_BOUND, () ->
        adminCluster(api).getJsonArray("members").stream()
          .noneMatch(m -> ((JsonObject) m).getString("address").equals(addressA)));
      gone = System.nanoTime();
      SluiceProcess.awaitCondition("the survivor's pool grown to the whole budget", POLL_BOUND,
        () -> poolMaxSize(proxyB) == BUDGET);
      grown = System.nanoTime();
      JsonObject survivor = adminCluster(proxyB);
      assertEquals(BUDGET, survivor.getInteger("share"), survivor.encodePrettily());
      // The load goes on against the grown survivor: no error from here on, and its old pool drains away.
      int ackedAtGrowth = load.acknowledged().size();
      SluiceProcess.awaitCondition("writes acknowledged after the growth", POLL_BOUND,
        () -> load.acknowledged().size() >= ackedAtGrowth + 100);
      SluiceProcess.awaitCondition("server connections back within budget + 2 for the one proxy node", POLL_BOUND,
        () -> connections.last() <= BUDGET + 2);
    } finally {
      load.close();
    }
    failures = load.failures();
    acknowledged = load.acknowledged();
    int highest = connections.max();

    long firstError = failures.stream().mapToLong(ClusterLoad.Failure::startedNanos).min().orElse(killed);
    long lastError = failures.stream().mapToLong(ClusterLoad.Failure::startedNanos).max().orElse(killed);
    System.out.printf("ClusterIT kill -9: %d requests sent, %d writes acknowledged; %d failed answers %s, their"
        + " requests started from %+.0f ms to %+.0f ms of the kill; the API node dropped the node at %+.0f ms, the"
        + " survivor's pool was %d at %+.0f ms; server connections at most %d (bound while shares change %d)%n",
      load.sent(), acknowledged.size(), failures.size(), ClusterLoad.countByAnswer(failures),
      (firstError - killed) / 1e6, (lastError - killed) / 1e6, (gone - killed) / 1e6, BUDGET,
      (grown - killed) / 1e6, highest, CHANGE_BOUND);

    for (ClusterLoad.Failure failure : failures) {
      assertTrue(failure.status() == 503 || failure.status() == 504 || failure.status() == 409, failure.toString());
      // A write whose attempt timed out around the kill may still hold its key for the few ms its rollback takes
      // after the 504, so its prompt retry meets 409 request_in_progress: that tail of an earlier error may cross
      // the growth. Any other error after the growth is a new one.
      boolean tailOfEarlierError = failure.status() == 409 && failures.stream().anyMatch(earlier ->
        earlier.what().equals(failure.what()) && earlier.startedNanos() < grown && earlier.status() != 409);
      assertTrue(failure.startedNanos() < grown || tailOfEarlierError,
        "an error after the survivor took the whole budget: " + failure + ", this write's answers: "
          + failures.stream().filter(f -> f.what().equals(failure.what())).toList());
    }
    assertTrue(highest <= CHANGE_BOUND, highest + " connections > " + CHANGE_BOUND);
    Map<String, Integer> stored = storedTitles(userId, "kill-" + RUN + "-%");
    assertEquals(acknowledged, stored.keySet(), "every acknowledged write is stored, and nothing else");
    stored.forEach((title, count) -> assertEquals(1, count, title + " stored " + count + " times"));
  }

  private long createUser(WebClient client) {
    HttpResponse<Buffer> created = client.post("/users").putHeader("X-Request-Timeout", "10000")
      .sendJsonObject(new JsonObject().put("name", "Cluster IT")
        .put("email", "cluster-" + UUID.randomUUID() + "@example.com")).await();
    assertEquals(201, created.statusCode(), created.bodyAsString());
    return created.bodyAsJsonObject().getLong("id");
  }

  private static HttpResponse<Buffer> putSettings(WebClient client, long userId, String theme) {
    return client.put("/users/" + userId + "/settings").putHeader("X-Request-Timeout", "10000")
      .sendJsonObject(new JsonObject().put("theme", theme)).await();
  }

  private static HttpResponse<Buffer> getSettings(WebClient client, long userId) {
    return client.get("/users/" + userId + "/settings").putHeader("X-Request-Timeout", "10000").send().await();
  }

  private static String theme(HttpResponse<Buffer> read) {
    return read.bodyAsJsonObject().getJsonObject("settings").getString("theme");
  }

  /** Title → rows, for a user's notifications whose title is LIKE {@code pattern}, read on the server. */
  private Map<String, Integer> storedTitles(long userId, String pattern) throws java.sql.SQLException {
    Map<String, Integer> stored = new HashMap<>();
    try (java.sql.Connection connection = java.sql.DriverManager.getConnection(db.jdbcUrl(), db.user(),
      db.password());
         java.sql.PreparedStatement select = connection.prepareStatement("SELECT title, COUNT(*) FROM notifications"
           + " WHERE user_id = ? AND title LIKE ? GROUP BY title")) {
      select.setLong(1, userId);
      select.setString(2, pattern);
      try (java.sql.ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          stored.put(rows.getString(1), rows.getInt(2));
        }
      }
    }
    return stored;
  }

  /**
   * Polls until the server holds no connection of the service's user beyond the proxy nodes' pools ({@code open} of
   * each live proxy node's {@code /admin/pool}) and their own connections ({@link #OWN} each): no API node
   * holds one. Returns the pools' open connections.
   */
  private int awaitOnlyProxyConnections() {
    int[] open = {0};
    SluiceProcess.awaitCondition("no server connection beyond the proxy nodes' own", POLL_BOUND, () -> {
      open[0] = openConnections(proxyA) + openConnections(proxyB);
      return connections.last() <= open[0] + OWN * PROXY_NODES;
    });
    return open[0];
  }

  private int openConnections(SluiceProcess node) {
    HttpResponse<Buffer> pool = admin(node, "/admin/pool");
    assertEquals(200, pool.statusCode(), pool.bodyAsString());
    return pool.bodyAsJsonObject().getInteger("open");
  }

  private int poolMaxSize(SluiceProcess node) {
    HttpResponse<Buffer> pool = admin(node, "/admin/pool");
    assertEquals(200, pool.statusCode(), pool.bodyAsString());
    return pool.bodyAsJsonObject().getInteger("maxSize");
  }

  @Test
  @Order(8)
  @DisplayName("no proxy anywhere: the API node answers 503 unavailable at once and is not ready; a proxy exits 0")
  void apiNodeWithoutProxies() throws Exception {
    // Proxy A was killed by the kill test (when it ran): stop what is left.
    proxyA.process.destroy();
    proxyB.process.destroy();
    proxyA.awaitExit();
    assertEquals(0, proxyB.awaitExit(), proxyB.log());
    WebClient client = client(api);
    SluiceProcess.awaitCondition("the API node not ready", POLL_BOUND,
      () -> client.get("/health/ready").send().await().statusCode() == 503);
    // A long deadline: an answer before it, 503 unavailable rather than 504, was not waiting for a proxy.
    HttpResponse<Buffer> response = client.get("/users/1").putHeader("X-Request-Timeout", "10000").send().await();
    assertEquals(503, response.statusCode(), response.bodyAsString());
    assertEquals("unavailable", response.bodyAsJsonObject().getString("error"));

    // Hazelcast drops two members that left at once (one of them its master) in its own time: poll.
    AtomicReference<JsonObject> seen = new AtomicReference<>();
    SluiceProcess.awaitCondition("the proxy nodes gone from the API node's member list", POLL_BOUND, () -> {
      seen.set(adminCluster(api));
      return seen.get().getJsonArray("members").stream()
        .noneMatch(m -> ((JsonObject) m).getString("role").equals("proxy"));
    });
    JsonObject view = seen.get();
    JsonArray departing = view.getJsonArray("departing");
    assertEquals(2, departing.size(), "still counted in the budget during the grace: " + view.encodePrettily());
    assertEquals(view.getInteger("budget"), departing.stream().mapToInt(d -> ((JsonObject) d).getInteger("share"))
      .sum());
  }

  private SluiceProcess node(String name, String role, int member, String members, Map<String, String> extra) {
    Path[] pair = ca.node(name);
    Map<String, String> env = new HashMap<>(extra);
    env.put("SLUICE_ADMIN_TOKEN", TOKEN);
    // The config watcher runs, so that its status address exists to be refused to outsiders.
    env.put("SLUICE_RELOAD_SCAN_PERIOD_MS", "60000");
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(BUDGET));
    env.put("SLUICE_PROXY_INSTANCES", String.valueOf(SHARDS));
    env.putAll(SluiceProcess.clusterEnvironment(CLUSTER, role, "127.0.0.1", member, members));
    env.putAll(SluiceProcess.clusterTlsEnvironment(pair, ca.caPem()));
    return SluiceProcess.start("cluster-" + name, SluiceProcess.freePort(), env);
  }

  /** A clustered Vert.x in this JVM, joined to the cluster with Sluice's own settings and a certificate of {@code ca}. */
  private Vertx join(String name, TestCerts authority) {
    Path[] pair = authority.node(name);
    ClusterSettings settings = ClusterSettings.from(JsonSection.at("cluster", new JsonObject()
      .put("enabled", true).put("role", "api").put("name", CLUSTER).put("port", SluiceProcess.freePort())
      .put("members", members)
      .put("tls", new JsonObject().put("enabled", true).put("keyPath", pair[0].toString())
        .put("certPath", pair[1].toString()).put("caPath", authority.caPem().toString()))));
    Vertx vertx = Vertx.builder()
      .with(new VertxOptions().setEventBusOptions(HazelcastSetup.eventBusOptions(settings)))
      .withClusterManager(new HazelcastClusterManager(HazelcastSetup.hazelcastConfig(settings)))
      .buildClustered().await();
    outsiders.add(vertx);
    return vertx;
  }

  private void leave(Vertx vertx) {
    if (outsiders.remove(vertx)) {
      vertx.close().await();
    }
  }

  private static void pingUntilAnswered(Vertx vertx) {
    AtomicReference<Throwable> last = new AtomicReference<>();
    try {
      SluiceProcess.awaitCondition("a proxy node answering the outsider", POLL_BOUND, () -> {
        last.set(failureOfPing(vertx));
        return last.get() == null;
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last failure: " + last.get(), e);
    }
  }

  /** Null when a proxy node answered a ping; otherwise why not. */
  private static Throwable failureOfPing(Vertx vertx) {
    try {
      new ProxyClient(vertx, 5_000).call(Action.PING, new JsonObject());
      return null;
    } catch (Throwable e) {
      return e;
    }
  }

  /**
   * Every address that changes or reveals a node's setup: the config watcher's status, the config-changed
   * notification, the membership's status, and the proxy's administrative address once the contract declares one.
   */
  private static List<String> administrativeAddresses() {
    List<String> addresses = new ArrayList<>(List.of(ProxyContract.CONFIG_STATUS_ADDRESS,
      ProxyContract.CONFIG_CHANGED_ADDRESS, ProxyContract.CLUSTER_STATUS_ADDRESS));
    try {
      addresses.add((String) ProxyContract.class.getField("ADMIN_ADDRESS").get(null));
    } catch (NoSuchFieldException e) {
      // Not declared yet: proxy.applyConfig still arrives on the proxy's main address.
    } catch (IllegalAccessException e) {
      throw new AssertionError(e);
    }
    return addresses;
  }

  private long executed(SluiceProcess node) {
    HttpResponse<Buffer> pool = admin(node, "/admin/pool");
    assertEquals(200, pool.statusCode(), pool.bodyAsString());
    return pool.bodyAsJsonObject().getLong("executed");
  }

  private WebClient client(SluiceProcess node) {
    return clients.computeIfAbsent(node.httpPort, port -> TestSluice.client(clientVertx, port));
  }

  private JsonObject adminCluster(SluiceProcess node) {
    HttpResponse<Buffer> response = admin(node, "/admin/cluster");
    assertEquals(200, response.statusCode(), response.bodyAsString());
    return response.bodyAsJsonObject();
  }

  private HttpResponse<Buffer> admin(SluiceProcess node, String path) {
    return client(node).get(path).putHeader("Authorization", "Bearer " + TOKEN)
      .send().await();
  }
}
