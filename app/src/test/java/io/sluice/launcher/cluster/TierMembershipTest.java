package io.sluice.launcher.cluster;

import io.sluice.config.JsonSection;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.IntUnaryOperator;

import static io.sluice.launcher.cluster.LocalCluster.await;
import static io.sluice.launcher.cluster.LocalCluster.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TierMembership} on real Hazelcast members in this JVM (each its own clustered Vert.x, on loopback): the
 * share handed out follows the membership (shrinks when a proxy node joins, comes back after the grace when it
 * leaves) and API members never count. The grace itself is {@link ShareGovernorTest}'s, on a test clock; here only
 * the order of the shares is checked, never their timing.
 */
class TierMembershipTest {

  private static final int BUDGET = 20;

  private final List<Vertx> nodes = new ArrayList<>();
  private final Map<Vertx, HazelcastClusterManager> managers = new HashMap<>();
  private final String name = "tier-test-" + System.nanoTime();
  private final int[] ports = {freePort(), freePort(), freePort()};

  @AfterEach
  void close() {
    nodes.forEach(vertx -> vertx.close().await());
  }

  @Test
  @DisplayName("a proxy node's share: none alone among three expected seats (no majority: as if restarted inside a"
    + " minority), the whole budget once the API member makes a majority, half when a second proxy joins, whole"
    + " again after it left")
  void shareFollowsTheMembership() {
    ClusterSettings first = settings("proxy", ports[0]);
    Vertx a = join(first);
    List<Integer> shares = new CopyOnWriteArrayList<>();
    JsonObject pool = new JsonObject().put("inUse", 1).put("waiting", 0).put("maxSize", BUDGET / 2).put("eventLoops", 2)
      .put("open", 3);
    follow(a, first, share -> shares.add(share.applyAsInt(BUDGET)), () -> new JsonObject().put("pool", pool));
    assertEquals(List.of(0), shares, "the first share is handed out before start returns: 0 without a majority");
    JsonObject alone = status(a);
    assertEquals(false, alone.getBoolean("majority"), alone.encodePrettily());
    assertEquals(3, alone.getJsonArray("lastKnown").size(), "the expected seats: " + alone.encodePrettily());

    join(settings("api", ports[1]));
    await("the whole budget once the API member makes a majority", () -> shares.get(shares.size() - 1) == BUDGET);
    Vertx b = join(settings("proxy", ports[2]));
    await("the share halved", () -> shares.get(shares.size() - 1) == BUDGET / 2);
    assertEquals(List.of(0, BUDGET, BUDGET / 2), shares, "shares: " + shares);
    JsonObject status = status(a);
    assertEquals(3, status.getJsonArray("members").size(), status.encodePrettily());
    assertEquals(BUDGET / 2, status.getInteger("share"));
    // Each proxy member's own figures, asked on its address: a's (the four numbers and what the growth gate reads:
    // held, with no draining pool its share, and the share granted), none from b, which follows no membership and so
    // never answers; an API member has no figures at all.
    for (Object m : status.getJsonArray("members")) {
      JsonObject member = (JsonObject) m;
      if (member.getString("role").equals("api")) {
        assertTrue(!member.containsKey("stats"), member.encode());
      } else if (member.getBoolean("self")) {
        assertEquals(new JsonObject().put("inUse", 1).put("waiting", 0).put("maxSize", BUDGET / 2).put("eventLoops", 2)
          .put("held", BUDGET / 2).put("granted", BUDGET / 2), member.getJsonObject("stats"));
      } else {
        assertTrue(member.containsKey("stats") && member.getValue("stats") == null, member.encode());
      }
    }

    nodes.remove(b);
    b.close().await();
    await("the whole budget back after the grace", () -> shares.get(shares.size() - 1) == BUDGET);
    assertEquals(List.of(0, BUDGET, BUDGET / 2, BUDGET), shares);
    assertTrue(status(a).getJsonArray("departing").isEmpty());
  }

  @Test
  @DisplayName("growth gate: a joiner stays at 0 while a peer holds more than its share (an old pool draining), and"
    + " grows once that peer reports its share")
  void joinerWaitsUntilThePeerHoldsItsShare() {
    ClusterSettings first = settings("proxy", ports[0]);
    Vertx a = join(first);
    List<Integer> sharesOfA = new CopyOnWriteArrayList<>();
    // a's proxy as its stats report it: its pool at half the budget, and the old whole-budget pool still draining.
    java.util.concurrent.atomic.AtomicInteger heldByA = new java.util.concurrent.atomic.AtomicInteger(BUDGET + BUDGET / 2);
    follow(a, first, share -> sharesOfA.add(share.applyAsInt(BUDGET)), () -> new JsonObject().put("pool",
      new JsonObject().put("inUse", 0).put("waiting", 0).put("maxSize", BUDGET / 2).put("eventLoops", 1)
        .put("held", heldByA.get())));

    ClusterSettings second = settings("proxy", ports[1]);
    Vertx b = join(second);
    List<Integer> sharesOfB = new CopyOnWriteArrayList<>();
    follow(b, second, share -> sharesOfB.add(share.applyAsInt(BUDGET)), () -> new JsonObject().put("pool",
      new JsonObject().put("inUse", 0).put("waiting", 0).put("maxSize", 0).put("eventLoops", 1).put("held", 0)));
    await("a shrunk to half the budget", () -> sharesOfA.get(sharesOfA.size() - 1) == BUDGET / 2);
    // Both stats addresses up (a lists every proxy's figures): from here b's gate hears a's 30, every 250 ms.
    await("a reaches b's stats address", () -> status(a).getJsonArray("members").stream()
      .allMatch(m -> ((JsonObject) m).getValue("stats") != null));
    JsonObject waiting = status(b);
    assertEquals(BUDGET / 2, waiting.getInteger("share"), waiting.encodePrettily());
    assertEquals(0, waiting.getInteger("granted"), "b must not grow while a holds " + heldByA.get() + ": "
      + waiting.encodePrettily());
    assertTrue(sharesOfB.stream().allMatch(share -> share == 0), sharesOfB.toString());

    heldByA.set(BUDGET / 2);
    await("b granted its share once a holds its own", () -> status(b).getInteger("granted") == BUDGET / 2);
    await("b's pool handed its share", () -> sharesOfB.get(sharesOfB.size() - 1) == BUDGET / 2);
  }

  private ClusterSettings settings(String role, int port) {
    StringBuilder members = new StringBuilder();
    for (int p : ports) {
      members.append(members.isEmpty() ? "" : ",").append("127.0.0.1:").append(p);
    }
    // The shortest heartbeat timeout and grace the config allows: this test waits for the grace once.
    return ClusterSettings.from(JsonSection.at("cluster", new JsonObject().put("enabled", true).put("role", role)
      .put("name", name).put("port", port).put("members", members.toString()).put("heartbeatTimeoutSeconds", 5)
      .put("shareGraceMs", 5000)));
  }

  private Vertx join(ClusterSettings settings) {
    HazelcastClusterManager manager = SluiceClusterManager.start(HazelcastSetup.hazelcastConfig(settings));
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventBusOptions(HazelcastSetup.eventBusOptions(settings)))
      .withClusterManager(manager).buildClustered().await();
    nodes.add(vertx);
    managers.put(vertx, manager);
    return vertx;
  }

  /** As the launcher does: on a context of its own, through the cluster manager it built the Vert.x with. */
  private void follow(Vertx vertx, ClusterSettings settings, Consumer<IntUnaryOperator> onShare,
                      Supplier<JsonObject> proxyStats) {
    HazelcastClusterManager manager = managers.get(vertx);
    Context context = vertx.getOrCreateContext();
    TierMembership tier = new TierMembership(vertx, context, manager.getHazelcastInstance(), settings, BUDGET,
      onShare, proxyStats);
    Promise<Void> started = Promise.promise();
    context.runOnContext(v -> {
      tier.start();
      started.complete();
    });
    started.future().await();
  }

  private static JsonObject status(Vertx vertx) {
    return vertx.eventBus().<JsonObject>request(ProxyContract.CLUSTER_STATUS_ADDRESS, new JsonObject(),
      new DeliveryOptions().setLocalOnly(true).setSendTimeout(10_000)).await().body();
  }
}
