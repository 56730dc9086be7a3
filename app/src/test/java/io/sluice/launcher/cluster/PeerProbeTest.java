package io.sluice.launcher.cluster;

import io.sluice.config.JsonSection;
import io.sluice.proxy.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PeerProbe}'s verdicts against real sockets on loopback: servers built as the event bus builds its own
 * ({@code NetServerOptions} from the event-bus options, client certificates required), one whose certificate another
 * CA signed, plain TCP endpoints (one that answers, one that stays silent) and a closed port. The silent endpoint is
 * probed with a short timeout, since waiting out a timeout is its case; the others with a liveness bound (the first
 * handshake builds the TLS context, which a busy machine may take seconds to do). Nothing asserts a duration.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeerProbeTest {

  private static final long LIVENESS_TIMEOUT_MS = 60_000;
  private static final long SHORT_TIMEOUT_MS = 500;

  private Vertx vertx;
  private PeerProbe probe;
  private PeerProbe impatient;
  private TestCerts cluster;
  private TestCerts foreign;

  @BeforeAll
  void setUp(@TempDir Path dir) {
    vertx = Vertx.vertx();
    cluster = TestCerts.authority(dir, "cluster");
    foreign = TestCerts.authority(dir, "foreign");
    EventBusOptions prober = eventBusOptions(cluster, "prober");
    probe = new PeerProbe(vertx, prober, LIVENESS_TIMEOUT_MS);
    impatient = new PeerProbe(vertx, prober, SHORT_TIMEOUT_MS);
  }

  @AfterAll
  void tearDown() {
    vertx.close().await();
  }

  @Test
  @DisplayName("an event-bus endpoint with a certificate of the cluster's CA is trusted")
  void endpointWithTheClustersCertificateIsTrusted() {
    NetServer server = eventBusServer(eventBusOptions(cluster, "peer"));
    assertEquals(PeerProbe.Verdict.TRUSTED, probe.check("127.0.0.1", server.actualPort()).await().verdict());
  }

  @Test
  @DisplayName("an event-bus endpoint whose certificate another CA signed is refused")
  void endpointWithAForeignCertificateIsRefused() {
    NetServer server = eventBusServer(eventBusOptions(foreign, "intruder"));
    PeerProbe.Outcome outcome = probe.check("127.0.0.1", server.actualPort()).await();
    assertEquals(PeerProbe.Verdict.REFUSED, outcome.verdict(), outcome.reason());
  }

  @Test
  @DisplayName("a plain TCP endpoint that answers with bytes that are not TLS is refused")
  void plainEndpointThatAnswersIsRefused() {
    NetServer server = vertx.createNetServer().connectHandler(socket -> socket.handler(data ->
      socket.write(Buffer.buffer("HTTP/1.1 400 Bad Request\r\n\r\n")))).listen(0, "127.0.0.1").await();
    PeerProbe.Outcome outcome = probe.check("127.0.0.1", server.actualPort()).await();
    assertEquals(PeerProbe.Verdict.REFUSED, outcome.verdict(), outcome.reason());
  }

  @Test
  @DisplayName("a plain TCP endpoint that stays silent (an event bus without TLS, or a frozen process) is pending")
  void silentEndpointIsPending() {
    NetServer server = vertx.createNetServer().connectHandler(socket -> socket.handler(data -> { }))
      .listen(0, "127.0.0.1").await();
    PeerProbe.Outcome outcome = impatient.check("127.0.0.1", server.actualPort()).await();
    assertEquals(PeerProbe.Verdict.PENDING, outcome.verdict(), outcome.reason());
    assertTrue(outcome.reason().contains("timed out"), outcome.reason());
  }

  @Test
  @DisplayName("an endpoint that closes the connection during the handshake is pending")
  void endpointClosingDuringTheHandshakeIsPending() {
    NetServer server = vertx.createNetServer().connectHandler(socket -> socket.close()).listen(0, "127.0.0.1")
      .await();
    PeerProbe.Outcome outcome = probe.check("127.0.0.1", server.actualPort()).await();
    assertEquals(PeerProbe.Verdict.PENDING, outcome.verdict(), outcome.reason());
  }

  @Test
  @DisplayName("a closed port is pending")
  void closedPortIsPending() {
    PeerProbe.Outcome outcome = probe.check("127.0.0.1", closedPort()).await();
    assertEquals(PeerProbe.Verdict.PENDING, outcome.verdict(), outcome.reason());
  }

  /** Sluice's own event-bus options for a node whose certificate {@code ca} signed, trusting only {@code ca}. */
  static EventBusOptions eventBusOptions(TestCerts ca, String node) {
    Path[] pair = ca.node(node);
    return HazelcastSetup.eventBusOptions(ClusterSettings.from(JsonSection.at("cluster", new JsonObject()
      .put("enabled", true).put("tls", new JsonObject().put("enabled", true).put("keyPath", pair[0].toString())
        .put("certPath", pair[1].toString()).put("caPath", ca.caPem().toString())))));
  }

  /** A TLS server as the clustered event bus starts its own (vert.x 5.0.8 {@code ClusteredEventBus.start}). */
  private NetServer eventBusServer(EventBusOptions options) {
    return vertx.createNetServer(new NetServerOptions(options.toJson()))
      .connectHandler(socket -> socket.handler(data -> { }))
      .listen(0, "127.0.0.1").await();
  }

  private static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
