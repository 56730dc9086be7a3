package io.sluice.launcher;

import io.sluice.config.JsonSection;
import io.sluice.contract.ProxyContract;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.TestCerts;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 21's target on sluice.jar processes (one API node, one proxy node, event-bus TLS with mutual authentication,
 * on the test database): "a member without the certificate leaves the shares unchanged and receives no requests".
 * Two intruders join Hazelcast from this JVM with {@code sluice.role=proxy}, which its plaintext member port lets
 * anyone do, and consume the proxy address: one presents a certificate another CA signed, the other runs its event
 * bus without TLS. Every request through the API node must be answered by the real proxy node; the API and proxy
 * nodes log the first intruder refused, and the second never trusted.
 *
 * <p>Without {@code TrustedNodeSelector} the API node's event bus gives each intruder its round-robin turn of the
 * requests, and those requests wait for their deadline (the event bus's own TLS keeps the bytes from them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeerTrustIT {

  private static final String TOKEN = "it-" + UUID.randomUUID();
  private static final String CLUSTER = "trust-" + UUID.randomUUID().toString().substring(0, 8);
  private static final Duration POLL_BOUND = Duration.ofSeconds(60);
  /** {@code proxy.instances}: the intruders register as many consumers each, so they would get equal turns. */
  private static final int SHARDS = 2;

  private final int apiMember = SluiceProcess.freePort();
  private final int proxyMember = SluiceProcess.freePort();
  private final String members = "127.0.0.1:" + apiMember + ",127.0.0.1:" + proxyMember;
  private final List<Vertx> intruders = new ArrayList<>();
  private TestCerts ca;
  private Path certs;
  private Vertx clientVertx;
  private SluiceProcess api;
  private SluiceProcess proxy;

  @BeforeAll
  void startCluster() throws Exception {
    DbSettings db = TestDatabase.settings();
    Path target = Path.of("target", "process-it").toAbsolutePath();
    Files.createDirectories(target);
    certs = Files.createTempDirectory(target, "trust-certs-");
    ca = TestCerts.authority(certs, "cluster");
    proxy = node("proxy", "proxy", proxyMember, Map.of(
      "SLUICE_DB_HOST", db.host(),
      "SLUICE_DB_PORT", String.valueOf(db.port()),
      "SLUICE_DB_DATABASE", db.database(),
      "SLUICE_DB_USER", db.user(),
      "SLUICE_DB_PASSWORD", db.password()));
    api = node("api", "api", apiMember, Map.of());
    java.net.http.HttpClient probe = java.net.http.HttpClient.newHttpClient();
    for (SluiceProcess node : List.of(proxy, api)) {
      node.awaitUp(probe);
    }
    clientVertx = Vertx.vertx();
  }

  @AfterAll
  void stopCluster() {
    intruders.forEach(vertx -> vertx.close().await());
    if (clientVertx != null) {
      clientVertx.close().await();
    }
    for (SluiceProcess node : new SluiceProcess[] {api, proxy}) {
      if (node != null) {
        node.close();
      }
    }
  }

  @Test
  @DisplayName("intruders with role proxy, one with another CA's certificate, one without TLS, consuming the proxy"
    + " address: every request through the API node answered 200 by the real proxy; the intruders refused or never"
    + " trusted, and the real proxy's share unchanged")
  void intrudersGetNoRequests() {
    WebClient client = TestSluice.client(clientVertx, api.httpPort);
    SluiceProcess.awaitCondition("the API node ready (it reaches a trusted proxy)", POLL_BOUND,
      () -> client.get("/health/ready").send().await().statusCode() == 200);
    long id = createUser(client);
    WebClient proxyAdmin = TestSluice.client(clientVertx, proxy.httpPort);
    SluiceProcess.awaitCondition("the proxy node's pool at its share", POLL_BOUND,
      () -> poolSize(proxyAdmin) == share(proxyAdmin));
    int shareBefore = share(proxyAdmin);

    AtomicInteger received = new AtomicInteger();
    String foreign = intrude("foreign", TestCerts.authority(certs, "foreign"), received);
    String plain = intrude("plain", null, received);
    for (SluiceProcess node : List.of(api, proxy)) {
      SluiceProcess.awaitCondition(node.dir.getFileName() + " refusing the intruder with another CA's certificate",
        POLL_BOUND, () -> node.log().contains("Peer refused: member " + foreign));
      SluiceProcess.awaitCondition(node.dir.getFileName() + " probing the intruder without TLS", POLL_BOUND,
        () -> node.log().contains("Peer not trusted yet: member " + plain)
          && node.log().contains("TLS handshake timed out"));
    }

    int requests = 20 * 3 * SHARDS;
    for (int i = 0; i < requests; i++) {
      // The deadline is long: a request routed to an intruder would wait for it, not fail fast.
      HttpResponse<Buffer> read = client.get("/users/" + id).putHeader("X-Request-Timeout", "10000").send().await();
      assertEquals(200, read.statusCode(), "request " + i + ": " + read.bodyAsString());
    }
    assertEquals(0, received.get(), "messages the intruders received");
    // Neither intruder counts: the real proxy node keeps the whole budget (before the wiring: 20, then 10, then 7).
    assertEquals(shareBefore, share(proxyAdmin), "the proxy node's share with the intruders in the cluster");
    assertEquals(shareBefore, poolSize(proxyAdmin), "the proxy node's pool with the intruders in the cluster");
    String apiLog = api.log();
    assertEquals(false, apiLog.contains("Peer trusted: member " + foreign) || apiLog.contains("Peer trusted: member "
      + plain), "an intruder trusted:\n" + apiLog);
  }

  /** This node's share in its {@code GET /admin/cluster}. */
  private static int share(WebClient node) {
    return admin(node, "/admin/cluster").getInteger("share");
  }

  /** The pool size this node applies ({@code GET /admin/pool} {@code maxSize}). */
  private static int poolSize(WebClient node) {
    JsonObject stats = admin(node, "/admin/pool");
    return stats.getJsonObject("pool", stats).getInteger("maxSize");
  }

  private static JsonObject admin(WebClient node, String path) {
    HttpResponse<Buffer> response = node.get(path).putHeader("Authorization", "Bearer " + TOKEN).send().await();
    assertEquals(200, response.statusCode(), path + ": " + response.bodyAsString());
    return response.bodyAsJsonObject();
  }

  private long createUser(WebClient client) {
    HttpResponse<Buffer> created = client.post("/users").putHeader("X-Request-Timeout", "10000")
      .sendJsonObject(new JsonObject().put("name", "Trust IT")
        .put("email", "trust-" + UUID.randomUUID() + "@example.com")).await();
    assertEquals(201, created.statusCode(), created.bodyAsString());
    return created.bodyAsJsonObject().getLong("id");
  }

  /**
   * A clustered Vert.x in this JVM with Sluice's own settings, role proxy, TLS with a certificate of {@code authority}
   * (none when null), consuming the proxy address {@link #SHARDS} times; returns its node id.
   */
  private String intrude(String name, TestCerts authority, AtomicInteger received) {
    JsonObject tls = new JsonObject().put("enabled", authority != null);
    if (authority != null) {
      Path[] pair = authority.node(name);
      tls.put("keyPath", pair[0].toString()).put("certPath", pair[1].toString())
        .put("caPath", authority.caPem().toString());
    }
    ClusterSettings settings = ClusterSettings.from(JsonSection.at("cluster", new JsonObject()
      .put("enabled", true).put("role", "proxy").put("name", CLUSTER).put("port", SluiceProcess.freePort())
      .put("members", members).put("tls", tls)));
    HazelcastClusterManager manager = new HazelcastClusterManager(HazelcastSetup.hazelcastConfig(settings));
    Vertx vertx = Vertx.builder()
      .with(new VertxOptions().setEventBusOptions(HazelcastSetup.eventBusOptions(settings)))
      .withClusterManager(manager)
      .buildClustered().await();
    intruders.add(vertx);
    for (int i = 0; i < SHARDS; i++) {
      MessageConsumer<JsonObject> consumer = vertx.eventBus().consumer(ProxyContract.ADDRESS, message -> {
        received.incrementAndGet();
        message.fail(599, "intruder " + name);
      });
      consumer.completion().await();
    }
    return manager.getNodeId();
  }

  private SluiceProcess node(String name, String role, int member, Map<String, String> extra) {
    Path[] pair = ca.node(name);
    Map<String, String> env = new HashMap<>(extra);
    env.put("SLUICE_ADMIN_TOKEN", TOKEN);
    env.put("SLUICE_PROXY_INSTANCES", String.valueOf(SHARDS));
    env.putAll(SluiceProcess.clusterEnvironment(CLUSTER, role, "127.0.0.1", member, members));
    env.putAll(SluiceProcess.clusterTlsEnvironment(pair, ca.caPem()));
    return SluiceProcess.start("trust-" + name, SluiceProcess.freePort(), env);
  }
}
