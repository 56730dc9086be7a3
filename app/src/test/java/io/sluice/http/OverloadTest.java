package io.sluice.http;

import io.sluice.contract.Action;
import io.sluice.launcher.TestSluice;
import io.sluice.proxy.testing.FakeTicker;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The incident over HTTP: fault injection on, a small pool, more concurrent requests than it can hold. */
@ExtendWith(VertxExtension.class)
class OverloadTest {

  private final FakeTicker ticker = new FakeTicker();

  private TestSluice.Running start(int maxSize, int queue, long latencyMs, long statementTimeoutMs) {
    JsonObject config = TestSluice.saturable(maxSize, queue, latencyMs);
    config.getJsonObject("db").put("statementTimeoutMs", statementTimeoutMs);
    config.getJsonObject("http").put("requestTimeoutMs", 60_000).put("maxRequestTimeoutMs", 60_000)
      .put("idleTimeoutMs", 120_000).put("retryAfterSeconds", 2);
    return TestSluice.start(config, ticker);
  }

  @Test
  @DisplayName("requests beyond maxSize + maxWaitQueueSize get 503 pool_exhausted with Retry-After before any"
    + " admitted request finishes; the admitted ones succeed and rejected writes leave nothing")
  void saturatedPoolFailsFastWithRetryAfter() {
    try (TestSluice.Running sluice = start(2, 2, 1000, 30_000)) {
      // Open both pool connections first: connections being opened count against the wait queue. (Not with
      // /health/ready: readiness does not use the request pool.)
      ProxyClient proxy = new ProxyClient(sluice.vertx());
      Future.all(proxy.send(Action.PING, new JsonObject()), proxy.send(Action.PING, new JsonObject())).await();

      String prefix = "overload-" + UUID.randomUUID();
      ConcurrentLinkedQueue<Integer> completionOrder = new ConcurrentLinkedQueue<>();
      List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        responses.add(sluice.client().post("/users")
          .sendJson(new JsonObject().put("name", "n" + i).put("email", prefix + "-" + i + "@example.com"))
          .andThen(ar -> completionOrder.add(ar.succeeded() ? ar.result().statusCode() : -1)));
      }
      Future.all(responses).await();

      assertEquals(List.of(503, 503, 503, 503, 503, 503, 201, 201, 201, 201), new ArrayList<>(completionOrder));
      for (Future<HttpResponse<Buffer>> future : responses) {
        HttpResponse<Buffer> response = future.result();
        if (response.statusCode() == 503) {
          assertEquals("pool_exhausted", response.bodyAsJsonObject().getString("error"));
          assertTrue(Integer.parseInt(response.getHeader("Retry-After")) >= 1, "Retry-After in whole seconds");
        }
      }
      assertEquals(4, sluice.sql().count("SELECT COUNT(*) FROM users WHERE email LIKE ?", prefix + "-%"));
    }
  }

  @Test
  @DisplayName("a statement slower than db.statementTimeoutMs gets 504 db_timeout")
  void slowStatementIs504() {
    try (TestSluice.Running sluice = start(2, 10, 1500, 200)) {
      HttpResponse<Buffer> response = sluice.client().get("/users/1").send().await();
      assertEquals(504, response.statusCode(), response.bodyAsString());
      assertEquals("db_timeout", response.bodyAsJsonObject().getString("error"));
      assertNotNull(response.bodyAsJsonObject().getString("message"));
    }
  }

  @Test
  @DisplayName("with the pool saturated, an expired cached read is served with X-Cache: STALE and Age instead of"
    + " 503, while an uncached read still gets 503")
  void staleCachedReadInsteadOf503() {
    try (TestSluice.Running sluice = start(1, 0, 1000, 30_000)) {
      HttpResponse<Buffer> first = sluice.client().get("/users/1/settings").send().await();
      assertEquals(200, first.statusCode());
      assertEquals("MISS", first.getHeader("X-Cache"));
      ticker.advance(Duration.ofSeconds(301));

      // Occupy the only connection, then wait (polling the proxy's own counters) until it is really held.
      Future<HttpResponse<Buffer>> slow = sluice.client().get("/users/2").send();
      ProxyClient proxy = new ProxyClient(sluice.vertx());
      Poll.until(Duration.ofSeconds(30), "the slow request never got the connection",
        () -> proxy.stats().getJsonObject("pool").getInteger("inUse") >= 1);

      HttpResponse<Buffer> stale = sluice.client().get("/users/1/settings").send().await();
      assertEquals(200, stale.statusCode());
      assertEquals("STALE", stale.getHeader("X-Cache"));
      assertEquals("301", stale.getHeader("Age"));
      assertEquals(first.bodyAsJsonObject(), stale.bodyAsJsonObject());
      HttpResponse<Buffer> uncached = sluice.client().get("/users/3/settings").send().await();
      assertEquals(503, uncached.statusCode());
      assertEquals("pool_exhausted", uncached.bodyAsJsonObject().getString("error"));
      assertEquals(200, slow.await().statusCode());
    }
  }
}
