package io.sluice.launcher;

import io.sluice.config.JsonSection;
import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.ProxyClient;
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
 * certificate of the cluster's CA or of another CA. The tests run in order: the last one stops the proxy tier.
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

  @BeforeAll
  void startCluster() throws IOException {
    DbSettings db = TestDatabase.settings();
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
    proxyA = node("proxy-a", "proxy", proxyAMember, database);
    proxyB = node("proxy-b", "proxy", proxyBMember, database);
    api = node("api", "api", apiMember, Map.of("SLUICE_CLUSTER_SHARE_GRACE_MS", API_GRACE_MS));
    java.net.http.HttpClient probe = java.net.http.HttpClient.newHttpClient();
    for (SluiceProcess node : List.of(proxyA, proxyB, api)) {
      node.awaitUp(probe);
    }
    clientVertx = Vertx.vertx();
  }

  @AfterAll
  void stopCluster() {
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
  @DisplayName("no proxy anywhere: the API node answers 503 unavailable at once and is not ready; proxies exit 0")
  void apiNodeWithoutProxies() throws Exception {
    proxyA.process.destroy();
    proxyB.process.destroy();
    assertEquals(0, proxyA.awaitExit(), proxyA.log());
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

  private SluiceProcess node(String name, String role, int member, Map<String, String> extra) {
    Path[] pair = ca.node(name);
    Map<String, String> env = new HashMap<>(extra);
    env.put("SLUICE_ADMIN_TOKEN", TOKEN);
    // The config watcher runs, so that its status address exists to be refused to outsiders.
    env.put("SLUICE_RELOAD_SCAN_PERIOD_MS", "60000");
    env.put("SLUICE_CLUSTER_ENABLED", "true");
    env.put("SLUICE_CLUSTER_ROLE", role);
    env.put("SLUICE_CLUSTER_NAME", CLUSTER);
    env.put("SLUICE_CLUSTER_HOST", "127.0.0.1");
    env.put("SLUICE_CLUSTER_PORT", String.valueOf(member));
    env.put("SLUICE_CLUSTER_MEMBERS", members);
    env.put("SLUICE_CLUSTER_TLS_ENABLED", "true");
    env.put("SLUICE_CLUSTER_TLS_KEY_PATH", pair[0].toString());
    env.put("SLUICE_CLUSTER_TLS_CERT_PATH", pair[1].toString());
    env.put("SLUICE_CLUSTER_TLS_CA_PATH", ca.caPem().toString());
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
