package io.sluice.http;

import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.sluice.launcher.Launcher;
import io.sluice.launcher.TestSluice;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code /health/ready} says whether this replica can serve, not whether it is busy: 200 with the request pool
 * saturated, 503 when the database does not answer.
 */
class ReadinessTest {

  private Vertx vertx;
  private Launcher sluice;
  private WebClient client;
  private Relay relay;

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (sluice != null) {
      sluice.close();
    } else if (vertx != null) {
      vertx.close().await();
    }
  }

  private void start(JsonObject config) {
    sluice = TestSluice.start(vertx, config);
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
      .setDefaultPort(sluice.httpPort()), new PoolOptions().setHttp1MaxSize(16));
  }

  private int ready() {
    return client.get("/health/ready").send().await().statusCode();
  }

  @Test
  @DisplayName("with the request pool saturated (connection held, queue full, requests refused 503), /health/ready"
    + " still answers 200")
  void readyWhilePoolIsSaturated() {
    vertx = Vertx.vertx();
    JsonObject config = TestSluice.config();
    config.getJsonObject("db").put("statementTimeoutMs", 30_000).getJsonObject("pool")
      .put("maxSize", 1).put("maxWaitQueueSize", 1).put("acquireTimeoutMs", 30_000);
    config.getJsonObject("faults").put("dbLatency",
      new JsonObject().put("enabled", true).put("minMs", 3000).put("maxMs", 3000));
    config.getJsonObject("http").put("requestTimeoutMs", 20_000).put("maxRequestTimeoutMs", 20_000);
    start(config);

    // One request holds the only connection, one waits in the queue (distinct uncached reads).
    List<Future<HttpResponse<Buffer>>> busy = List.of(client.get("/users/940001").send(),
      client.get("/users/940002").send());
    Poll.until(Duration.ofSeconds(30), "the pool never filled up", () -> {
      JsonObject pool = proxyStats().getJsonObject("pool");
      return pool.getInteger("inUse") >= 1 && pool.getInteger("waiting") >= 1;
    });
    HttpResponse<Buffer> refused = client.get("/users/940003").send().await();
    assertEquals(503, refused.statusCode(), "the pool must be saturated: " + refused.bodyAsString());
    assertEquals("pool_exhausted", refused.bodyAsJsonObject().getString("error"));

    HttpResponse<Buffer> ready = client.get("/health/ready").send().await();
    assertEquals(200, ready.statusCode(), ready.bodyAsString());
    assertEquals("up", ready.bodyAsJsonObject().getString("database"));
    // The held and the queued request were not disturbed by the probe.
    for (HttpResponse<Buffer> response : Future.all(busy).await().<HttpResponse<Buffer>>list()) {
      assertEquals(404, response.statusCode(), response.bodyAsString());
    }
  }

  @Test
  @DisplayName("when the database stops being reachable /health/ready turns 503, and 200 again once it is back")
  void notReadyWhileDatabaseIsUnreachable() {
    vertx = Vertx.vertx();
    DbSettings db = TestDatabase.settings();
    relay = Relay.start(vertx, db.host(), db.port());
    JsonObject config = TestSluice.config();
    config.getJsonObject("db").put("host", "127.0.0.1").put("port", relay.port());
    start(config);
    assertEquals(200, ready());

    relay.down();
    Poll.until(Duration.ofSeconds(30), "/health/ready never turned 503 with the database unreachable",
      () -> ready() == 503);
    HttpResponse<Buffer> notReady = client.get("/health/ready").send().await();
    assertEquals(503, notReady.statusCode());
    assertEquals("unavailable", notReady.bodyAsJsonObject().getString("error"), notReady.bodyAsString());

    relay.up();
    Poll.until(Duration.ofSeconds(30), "/health/ready never recovered once the database was reachable again",
      () -> ready() == 200);
  }

  private JsonObject proxyStats() {
    return vertx.eventBus().<JsonObject>request(ProxyContract.ADDRESS, new JsonObject(),
      new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.STATS)).await().body();
  }

  /**
   * A TCP relay between the service and the database that the test can take down (listener closed, every relayed
   * connection closed: the database is unreachable) and bring back up on the same port.
   */
  private static final class Relay {

    private final Vertx vertx;
    private final NetClient client;
    private final String targetHost;
    private final int targetPort;
    private final Set<NetSocket> sockets = ConcurrentHashMap.newKeySet();
    private NetServer server;
    private int port;

    private Relay(Vertx vertx, String targetHost, int targetPort) {
      this.vertx = vertx;
      this.client = vertx.createNetClient();
      this.targetHost = targetHost;
      this.targetPort = targetPort;
    }

    static Relay start(Vertx vertx, String host, int port) {
      Relay relay = new Relay(vertx, host, port);
      relay.up();
      return relay;
    }

    int port() {
      return port;
    }

    void up() {
      server = vertx.createNetServer().connectHandler(this::relay);
      port = server.listen(port, "127.0.0.1").await().actualPort();
    }

    void down() {
      server.close().await();
      Future.join(sockets.stream().map(NetSocket::close).toList()).await();
    }

    private void relay(NetSocket inbound) {
      inbound.pause();
      sockets.add(inbound);
      inbound.closeHandler(v -> sockets.remove(inbound));
      client.connect(targetPort, targetHost).onComplete(ar -> {
        if (ar.failed()) {
          inbound.close();
          return;
        }
        NetSocket outbound = ar.result();
        sockets.add(outbound);
        outbound.closeHandler(v -> {
          sockets.remove(outbound);
          inbound.close();
        });
        inbound.closeHandler(v -> {
          sockets.remove(inbound);
          outbound.close();
        });
        inbound.pipeTo(outbound);
        outbound.pipeTo(inbound);
      });
    }
  }
}
