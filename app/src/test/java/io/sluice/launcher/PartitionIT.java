package io.sluice.launcher;

import io.sluice.netns.NamespaceNetwork;
import io.sluice.netns.TcpRelay;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real partition: sluice.jar nodes in network namespaces of their own ({@link NamespaceNetwork}), two proxy nodes
 * and one API node, budget 8, heartbeat timeout and grace 10 s; the test database through a {@link TcpRelay}. Proxy
 * B's cluster link is set down (its packets dropped, as in a network partition), then up again. Checks the majority
 * rule (B, cut off alone, 1 of the 3 last known members, never grows past its share, while A and the API node, 2 of
 * 3, grow after the grace) and the recovery: Hazelcast's split-brain merge joins B back (with a new member UUID,
 * which once left B with a share of 0) and every node again sees everyone, with every proxy's share above 0.
 *
 * <p>Skipped (never passed) where namespaces cannot be created: not root, no iproute2, or EPERM in a container.
 * Bounds are liveness bounds, except the one the issue states: one cluster again within heartbeat timeout + grace +
 * 10 s of the heal.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PartitionIT {

  private static final String TOKEN = "it-" + UUID.randomUUID();
  private static final int BUDGET = 8;
  private static final int HEARTBEAT_SECONDS = 10;
  private static final int GRACE_MS = 10_000;
  private static final int HTTP_PORT = 8080;
  private static final int MEMBER_PORT = 5701;
  private static final Duration POLL_BOUND = Duration.ofSeconds(90);
  private static final Duration HEAL_BOUND = Duration.ofMillis(HEARTBEAT_SECONDS * 1000L + GRACE_MS + 10_000);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private NamespaceNetwork network;
  private TcpRelay database;
  private SluiceProcess proxyA;
  private SluiceProcess proxyB;
  private SluiceProcess api;

  @BeforeAll
  void startCluster() throws Exception {
    try {
      network = NamespaceNetwork.create(3);
    } catch (NamespaceNetwork.Unavailable e) {
      Assumptions.abort("PartitionIT needs network namespaces: " + e.getMessage());
    }
    DbSettings db = TestDatabase.settings();
    database = new TcpRelay(network.host(), db.host(), db.port());
    String members = String.join(",", List.of(1, 2, 3).stream()
      .map(i -> network.clusterAddress(i) + ":" + MEMBER_PORT).toList());
    Map<String, String> proxy = new HashMap<>(Map.of(
      "SLUICE_DB_HOST", network.host(),
      "SLUICE_DB_PORT", String.valueOf(database.port()),
      "SLUICE_DB_DATABASE", db.database(),
      "SLUICE_DB_USER", db.user(),
      "SLUICE_DB_PASSWORD", db.password()));
    proxyA = node("partition-proxy-a", 1, "proxy", members, proxy);
    proxyA.awaitUp(http);
    proxyB = node("partition-proxy-b", 2, "proxy", members, proxy);
    api = node("partition-api", 3, "api", members, Map.of());
    proxyB.awaitUp(http);
    api.awaitUp(http);
  }

  @AfterAll
  void stop() throws IOException {
    for (SluiceProcess node : new SluiceProcess[] {api, proxyA, proxyB}) {
      if (node != null) {
        node.close();
      }
    }
    if (database != null) {
      database.close();
    }
    if (network != null) {
      network.close();
    }
  }

  @Test
  @DisplayName("a proxy node cut off alone never grows past its share while the majority side grows; after the heal"
    + " the cluster is one again, every proxy has a share above 0 and requests succeed")
  void partitionAndHeal() throws Exception {
    SluiceProcess.awaitCondition("one cluster of 3, each proxy at half the budget", POLL_BOUND,
      () -> allSeeThreeMembers() && poolMaxSize(proxyA) == BUDGET / 2 && poolMaxSize(proxyB) == BUDGET / 2
        && adminCluster(proxyB).getJsonArray("lastKnown").size() == 3);
    int lastShare = poolMaxSize(proxyB);
    long userId = createUser();

    network.cut(2);
    AtomicInteger highestOfB = new AtomicInteger(lastShare);
    // Proxy A and the API node (2 of 3) drop B after the heartbeat timeout and grow after the grace.
    SluiceProcess.awaitCondition("proxy A grown to the whole budget", POLL_BOUND, () -> {
      highestOfB.accumulateAndGet(poolMaxSize(proxyB), Math::max);
      return poolMaxSize(proxyA) == BUDGET;
    });
    // B alone: wait until it has dropped the others and their grace has run out on its side too.
    // Its pool follows its share asynchronously (a pool swap): its share as the view states it is sampled too.
    SluiceProcess.awaitCondition("proxy B alone, the others' grace over", POLL_BOUND, () -> {
      highestOfB.accumulateAndGet(poolMaxSize(proxyB), Math::max);
      JsonObject view = adminCluster(proxyB);
      highestOfB.accumulateAndGet(view.getInteger("share"), Math::max);
      return view.getJsonArray("members").size() == 1 && view.getJsonArray("departing").stream()
        .allMatch(d -> ((JsonObject) d).getLong("countedForMs") == 0);
    });
    highestOfB.accumulateAndGet(poolMaxSize(proxyB), Math::max);
    JsonObject cutOff = adminCluster(proxyB);
    highestOfB.accumulateAndGet(cutOff.getInteger("share"), Math::max);
    assertTrue(highestOfB.get() <= lastShare, "proxy B, cut off alone, grew to " + highestOfB.get() + " (its share was "
      + lastShare + "): " + cutOff.encodePrettily());
    assertFalse(cutOff.getBoolean("majority"), cutOff.encodePrettily());

    network.heal(2);
    long healed = System.nanoTime();
    // Nothing departing anywhere either: a node that took its new member UUID for a newcomer would count its old
    // self as departed, and fall to a share of 0 when that grace ran out.
    SluiceProcess.awaitCondition("one cluster again, nothing departing, every proxy with a share", HEAL_BOUND,
      () -> allSeeThreeMembers() && List.of(proxyA, proxyB, api).stream()
        .allMatch(node -> everyProxyHasAShare(node) && adminCluster(node).getJsonArray("departing").isEmpty()));
    System.out.printf("PartitionIT: one cluster again %.1f s after the heal%n", (System.nanoTime() - healed) / 1e9);
    for (SluiceProcess node : List.of(proxyA, proxyB)) {
      JsonObject view = adminCluster(node);
      assertTrue(view.getInteger("share") > 0, view.encodePrettily());
      assertTrue(view.getBoolean("majority"), view.encodePrettily());
    }
    // Requests through the API node right after the recovery, each one counted (the bench's cluster-partition saw a
    // 504 here when the API node's event-bus connection to B had stayed open through the cut, its bytes in TCP's
    // retransmission backoff; HazelcastSetup.eventBusPingMs closes such a connection).
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> read = get(api, "/users/" + userId, false);
      assertEquals(200, read.statusCode(), "read " + (i + 1) + " of 20 after the recovery: " + read.body());
    }
    // Proxy B's registrations are back in the cluster (vertx-hazelcast republishes a node's own after a merge): the
    // API node reaches B's stats address, registered once under B's node id.
    SluiceProcess.awaitCondition("both proxy nodes' stats answered to the API node", POLL_BOUND, () ->
      adminCluster(api).getJsonArray("members").stream().map(m -> (JsonObject) m)
        .filter(m -> m.getString("role").equals("proxy")).allMatch(m -> m.getValue("stats") != null));
    // Requests through the API node: the proxy nodes' registrations are back, none answers 503 for want of a share.
    int[] ok = {0};
    String[] last = {""};
    try {
      SluiceProcess.awaitCondition("20 requests in a row answered 200 through the API node", POLL_BOUND, () -> {
        HttpResponse<String> read = get(api, "/users/" + userId, false);
        last[0] = read.statusCode() + " " + read.body();
        ok[0] = read.statusCode() == 200 ? ok[0] + 1 : 0;
        return ok[0] >= 20;
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last answer: " + last[0], e);
    }
  }

  private long createUser() throws IOException, InterruptedException {
    HttpRequest create = HttpRequest.newBuilder(URI.create("http://" + api.httpHost + ":" + api.httpPort + "/users"))
      .timeout(Duration.ofSeconds(20)).header("X-Request-Timeout", "10000").header("Content-Type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("name", "Partition IT")
        .put("email", "partition-" + UUID.randomUUID() + "@example.com").encode())).build();
    HttpResponse<String> created = http.send(create, HttpResponse.BodyHandlers.ofString());
    assertEquals(201, created.statusCode(), created.body());
    return new JsonObject(created.body()).getLong("id");
  }

  private boolean allSeeThreeMembers() {
    return List.of(proxyA, proxyB, api).stream()
      .allMatch(node -> adminCluster(node).getJsonArray("members").size() == 3);
  }

  private boolean everyProxyHasAShare(SluiceProcess node) {
    JsonArray members = adminCluster(node).getJsonArray("members");
    return members.stream().map(m -> (JsonObject) m).filter(m -> m.getString("role").equals("proxy"))
      .allMatch(m -> m.getInteger("share") != null && m.getInteger("share") > 0);
  }

  private SluiceProcess node(String name, int i, String role, String members, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(extra);
    env.put("SLUICE_ADMIN_TOKEN", TOKEN);
    env.putAll(SluiceProcess.clusterEnvironment("partition-it", role, network.clusterAddress(i), MEMBER_PORT,
      members));
    // 10 s: 5 s split the cluster when this busy 2-core machine stalled processes for 3-4 s (see ClusterIT).
    env.put("SLUICE_CLUSTER_HEARTBEAT_TIMEOUT_SECONDS", String.valueOf(HEARTBEAT_SECONDS));
    env.put("SLUICE_CLUSTER_SHARE_GRACE_MS", String.valueOf(GRACE_MS));
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(BUDGET));
    env.put("SLUICE_PROXY_INSTANCES", "1");
    return SluiceProcess.startInNamespace(name, network.namespace(i), network.managementAddress(i), HTTP_PORT, env);
  }

  private int poolMaxSize(SluiceProcess node) {
    HttpResponse<String> pool = get(node, "/admin/pool", true);
    assertEquals(200, pool.statusCode(), pool.body());
    return new JsonObject(pool.body()).getInteger("maxSize");
  }

  private JsonObject adminCluster(SluiceProcess node) {
    HttpResponse<String> response = get(node, "/admin/cluster", true);
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private HttpResponse<String> get(SluiceProcess node, String path, boolean admin) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + node.httpHost + ":" + node.httpPort
      + path)).timeout(Duration.ofSeconds(10)).header("X-Request-Timeout", "5000");
    if (admin) {
      request.header("Authorization", "Bearer " + TOKEN);
    }
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError("GET " + path + " on " + node.httpHost + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }
}
