package io.sluice.launcher.cluster;

import io.sluice.config.JsonSection;
import io.sluice.launcher.SluiceVertx;
import io.sluice.proxy.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static io.sluice.launcher.cluster.LocalCluster.await;
import static io.sluice.launcher.cluster.LocalCluster.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TlsPeerTrust} and {@link TrustedNodeSelector} on real Hazelcast members in this JVM, each its own clustered
 * Vert.x on loopback: node A is built as Sluice builds it ({@link SluiceVertx#createClustered}) with event-bus TLS
 * of the cluster's CA; B holds a certificate of the same CA, C one of another CA, D runs its event bus without TLS.
 * B, C and D all consume the same address. A trusts B, refuses C, leaves D pending, and sends only to B; with B's
 * consumer gone its sends fail at once with {@code NO_HANDLERS}.
 */
class TlsPeerTrustTest {

  private static final String ADDRESS = "trust-test.echo";
  /** Short, so that D's silent endpoint is judged pending soon; nothing asserts a duration. */
  private static final long PROBE_TIMEOUT_MS = 500;

  private final List<Vertx> nodes = new ArrayList<>();
  private final String name = "trust-test-" + System.nanoTime();
  private final int[] ports = {freePort(), freePort(), freePort(), freePort()};

  @AfterEach
  void close() {
    nodes.forEach(vertx -> vertx.close().await());
  }

  @Test
  @DisplayName("a member of the cluster's CA is trusted, one of another CA refused, one without TLS never counts;"
    + " requests go to the trusted member only, and to none (NO_HANDLERS) once it stops consuming")
  void onlyTheMemberWithTheClustersCertificateGetsRequests(@TempDir Path dir) {
    TestCerts cluster = TestCerts.authority(dir, "cluster");
    TestCerts foreign = TestCerts.authority(dir, "foreign");
    ClusterSettings settingsA = settings(ports[0], cluster, "a");
    HazelcastClusterManager managerA = SluiceClusterManager.start(HazelcastSetup.hazelcastConfig(settingsA));
    TlsPeerTrust trust = new TlsPeerTrust(managerA, HazelcastSetup.eventBusOptions(settingsA), PROBE_TIMEOUT_MS);
    AtomicInteger changes = new AtomicInteger();
    trust.onChange(changes::incrementAndGet);
    Vertx a = SluiceVertx.createClustered(settingsA, managerA, trust).await();
    nodes.add(a);
    assertTrue(trust.counts(managerA.getNodeId()), "this node always counts");

    // C and D consume first, B last: once A's sends reach B, A knows C's and D's registrations too.
    Member c = join(settings(ports[2], foreign, "c"), "c");
    Member d = join(settings(ports[3], null, "d"), "d");
    Member b = join(settings(ports[1], cluster, "b"), "b");

    await("B trusted, C refused, D probed without a verdict", () -> trust.counts(b.id) && trust.refused(c.id)
      && trust.probesWithoutVerdict(d.id) > 0);
    assertFalse(trust.counts(c.id));
    assertFalse(trust.counts(d.id));
    assertFalse(trust.refused(d.id), "a silent endpoint may be a frozen node: never refused");
    assertFalse(trust.refused(b.id));
    assertTrue(changes.get() >= 2, "B trusted and C refused were both signalled: " + changes.get());

    await("A's requests reach B", () -> {
      try {
        return "b".equals(answer(a));
      } catch (ReplyException e) {
        return false;
      }
    });
    for (int i = 0; i < 30; i++) {
      assertEquals("b", answer(a), "request " + i);
    }

    b.consumer.unregister().await();
    await("A's requests get NO_HANDLERS", () -> {
      try {
        answer(a);
        return false;
      } catch (ReplyException e) {
        return e.failureType() == ReplyFailure.NO_HANDLERS;
      }
    });
    ReplyException none = (ReplyException) failure(a);
    assertEquals(ReplyFailure.NO_HANDLERS, none.failureType(), none.toString());

    int before = changes.get();
    nodes.remove(c.vertx);
    c.vertx.close().await();
    await("C forgotten once it left", () -> !trust.refused(c.id) && changes.get() > before);
  }

  @Test
  @DisplayName("event-bus TLS off: every member counts, and sends reach a member that nothing vouches for")
  void withoutTlsEveryMemberCounts() {
    ClusterSettings settingsA = settings(ports[0], null, "a");
    HazelcastClusterManager managerA = SluiceClusterManager.start(HazelcastSetup.hazelcastConfig(settingsA));
    PeerTrust trust = SluiceVertx.peerTrust(settingsA, managerA);
    assertFalse(trust instanceof TlsPeerTrust);
    Vertx a = SluiceVertx.createClustered(settingsA, managerA, trust).await();
    nodes.add(a);
    Member b = join(settings(ports[1], null, "b"), "b");
    assertTrue(trust.counts(b.id) && !trust.refused(b.id));
    await("A's requests reach B", () -> {
      try {
        return "b".equals(answer(a));
      } catch (ReplyException e) {
        return false;
      }
    });
  }

  @Test
  @DisplayName("an endpoint matches its member's host by address, never by name")
  void sameHostComparesAddresses() {
    assertTrue(TlsPeerTrust.sameHost("127.0.0.1", "127.0.0.1"));
    assertTrue(TlsPeerTrust.sameHost("::1", "0:0:0:0:0:0:0:1"));
    assertFalse(TlsPeerTrust.sameHost("10.0.0.2", "10.0.0.1"));
    assertFalse(TlsPeerTrust.sameHost("localhost", "127.0.0.1"));
    assertFalse(TlsPeerTrust.sameHost("127.0.0.1", "localhost"));
  }

  private record Member(Vertx vertx, String id, MessageConsumer<JsonObject> consumer) {
  }

  /** A member with TLS of {@code ca} (none when null), consuming {@link #ADDRESS} with replies of its name. */
  private Member join(ClusterSettings settings, String name) {
    HazelcastClusterManager manager = SluiceClusterManager.start(HazelcastSetup.hazelcastConfig(settings));
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventBusOptions(HazelcastSetup.eventBusOptions(settings)))
      .withClusterManager(manager).buildClustered().await();
    nodes.add(vertx);
    MessageConsumer<JsonObject> consumer = vertx.eventBus().consumer(ADDRESS, message -> message.reply(name));
    consumer.completion().await();
    return new Member(vertx, manager.getNodeId(), consumer);
  }

  private static String answer(Vertx vertx) {
    return vertx.eventBus().<String>request(ADDRESS, new JsonObject(), new DeliveryOptions().setSendTimeout(10_000))
      .await().body();
  }

  private static Throwable failure(Vertx vertx) {
    try {
      answer(vertx);
      throw new AssertionError("an answer");
    } catch (ReplyException e) {
      return e;
    }
  }

  private ClusterSettings settings(int port, TestCerts ca, String node) {
    StringBuilder members = new StringBuilder();
    for (int p : ports) {
      members.append(members.isEmpty() ? "" : ",").append("127.0.0.1:").append(p);
    }
    JsonObject tls = new JsonObject().put("enabled", ca != null);
    if (ca != null) {
      Path[] pair = ca.node(node);
      tls.put("keyPath", pair[0].toString()).put("certPath", pair[1].toString()).put("caPath", ca.caPem().toString());
    }
    return ClusterSettings.from(JsonSection.at("cluster", new JsonObject().put("enabled", true).put("role", "proxy")
      .put("name", name).put("port", port).put("members", members.toString()).put("tls", tls)));
  }
}
