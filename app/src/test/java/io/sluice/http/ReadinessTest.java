package io.sluice.http;

import io.sluice.launcher.TestSluice;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.FaultProxy;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code /health/ready} says whether this replica can serve, not whether it is busy: 200 with the request pool
 * saturated, 503 when the database does not answer.
 */
class ReadinessTest {

  private static int ready(TestSluice.Running sluice) {
    return sluice.client().get("/health/ready").send().await().statusCode();
  }

  @Test
  @DisplayName("with the request pool saturated (connection held, queue full, requests refused 503), /health/ready"
    + " still answers 200")
  void readyWhilePoolIsSaturated() {
    JsonObject config = TestSluice.config();
    config.getJsonObject("db").put("statementTimeoutMs", 30_000).getJsonObject("pool")
      .put("maxSize", 1).put("maxWaitQueueSize", 1).put("acquireTimeoutMs", 30_000);
    config.getJsonObject("faults").put("dbLatency",
      new JsonObject().put("enabled", true).put("minMs", 3000).put("maxMs", 3000));
    config.getJsonObject("http").put("requestTimeoutMs", 20_000).put("maxRequestTimeoutMs", 20_000);
    try (TestSluice.Running sluice = TestSluice.start(config)) {
      // One request holds the only connection, one waits in the queue (distinct uncached reads; notification lists,
      // because concurrent point reads of one kind would share one statement).
      List<Future<HttpResponse<Buffer>>> busy = List.of(sluice.client().get("/users/940001/notifications").send(),
        sluice.client().get("/users/940002/notifications").send());
      ProxyClient proxy = new ProxyClient(sluice.vertx());
      Poll.until(Duration.ofSeconds(30), "the pool never filled up", () -> {
        JsonObject pool = proxy.stats().getJsonObject("pool");
        return pool.getInteger("inUse") >= 1 && pool.getInteger("waiting") >= 1;
      });
      HttpResponse<Buffer> refused = sluice.client().get("/users/940003/notifications").send().await();
      assertEquals(503, refused.statusCode(), "the pool must be saturated: " + refused.bodyAsString());
      assertEquals("pool_exhausted", refused.bodyAsJsonObject().getString("error"));

      HttpResponse<Buffer> ready = sluice.client().get("/health/ready").send().await();
      assertEquals(200, ready.statusCode(), ready.bodyAsString());
      assertEquals("up", ready.bodyAsJsonObject().getString("database"));
      // The held and the queued request were not disturbed by the probe.
      for (HttpResponse<Buffer> response : Future.all(busy).await().<HttpResponse<Buffer>>list()) {
        assertEquals(404, response.statusCode(), response.bodyAsString());
      }
    }
  }

  @Test
  @DisplayName("when the database stops being reachable /health/ready turns 503, and 200 again once it is back")
  void notReadyWhileDatabaseIsUnreachable() {
    DbSettings db = TestDatabase.settings();
    JsonObject config = TestSluice.config();
    try (FaultProxy database = FaultProxy.start(db.host(), db.port())) {
      config.getJsonObject("db").put("host", "127.0.0.1").put("port", database.port());
      try (TestSluice.Running sluice = TestSluice.start(config)) {
        assertEquals(200, ready(sluice));

        // Every connection to the database is reset, and so is every new one: it cannot be reached.
        database.mode(FaultProxy.Mode.RESET);
        Poll.until(Duration.ofSeconds(30), "/health/ready never turned 503 with the database unreachable",
          () -> ready(sluice) == 503);
        HttpResponse<Buffer> notReady = sluice.client().get("/health/ready").send().await();
        assertEquals(503, notReady.statusCode());
        assertEquals("unavailable", notReady.bodyAsJsonObject().getString("error"), notReady.bodyAsString());

        database.mode(FaultProxy.Mode.PASS);
        Poll.until(Duration.ofSeconds(30), "/health/ready never recovered once the database was reachable again",
          () -> ready(sluice) == 200);
      }
    }
  }
}
