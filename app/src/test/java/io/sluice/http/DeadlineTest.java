package io.sluice.http;

import io.sluice.api.HttpVerticle;
import io.sluice.launcher.TestSluice;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.testing.Poll;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deadlines from the HTTP edge to the statement, with fault injection keeping connections busy on the server: a
 * request past its deadline is answered 504 and its statement no longer runs on the database.
 */
@ExtendWith(VertxExtension.class)
class DeadlineTest {

  /** Statements of ours on the server: fault injection makes each borrowed connection wait first. */
  private static final String RUNNING_SLEEPS =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "'";

  private static TestSluice.Running start(int maxSize, long latencyMs, long requestTimeoutMs,
    long maxRequestTimeoutMs) {
    JsonObject config = TestSluice.saturable(maxSize, 100, latencyMs);
    config.getJsonObject("http").put("requestTimeoutMs", requestTimeoutMs)
      .put("maxRequestTimeoutMs", maxRequestTimeoutMs);
    return TestSluice.start(config);
  }

  private static Future<HttpResponse<Buffer>> get(TestSluice.Running sluice, String uri, Long timeoutMs) {
    var request = sluice.client().get(uri);
    if (timeoutMs != null) {
      request.putHeader(HttpVerticle.REQUEST_TIMEOUT_HEADER, Long.toString(timeoutMs));
    }
    return request.send();
  }

  @Test
  @DisplayName("a request whose deadline is shorter than the statement gets 504, the statement is stopped on the"
    + " server, and every pooled connection stays usable")
  void expiredRequestIsStoppedOnTheServer() {
    try (TestSluice.Running sluice = start(2, 3000, 2000, 10_000)) {
      HttpResponse<Buffer> response = get(sluice, "/users/910001", 300L).await();
      assertEquals(504, response.statusCode(), response.bodyAsString());
      assertEquals("db_timeout", response.bodyAsJsonObject().getString("error"));
      // The injected wait of 3 s would run for another 2.7 s if it had not been killed.
      Poll.until(Duration.ofMillis(1500), "the timed-out statement still runs on the server",
        () -> sluice.sql().count(RUNNING_SLEEPS) == 0);

      // Both connections (the killed one among them) serve normal requests.
      List<Future<HttpResponse<Buffer>>> next = List.of(get(sluice, "/users/910002", 10_000L),
        get(sluice, "/users/910003", 10_000L));
      Future.all(next).await();
      for (Future<HttpResponse<Buffer>> reply : next) {
        assertEquals(404, reply.result().statusCode(), reply.result().bodyAsString());
      }
    }
  }

  @Test
  @DisplayName("under a burst of requests that cannot make their deadline, at most maxSize statements run on the"
    + " server, and none once the burst is answered")
  void burstNeverRunsMoreThanMaxSize() {
    try (TestSluice.Running sluice = start(2, 3000, 2000, 10_000)) {
      List<Future<HttpResponse<Buffer>>> burst = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        burst.add(get(sluice, "/users/" + (920_000 + i) + "/settings", 500L));
      }
      Future<?> all = Future.join(burst);
      long maxRunning = 0;
      while (!all.isComplete()) {
        maxRunning = Math.max(maxRunning, sluice.sql().count(RUNNING_SLEEPS));
      }
      assertTrue(maxRunning <= 2, "running statements: " + maxRunning);
      for (Future<HttpResponse<Buffer>> reply : burst) {
        int status = reply.result().statusCode();
        assertTrue(status == 503 || status == 504, "status " + status);
      }
      Poll.until(Duration.ofMillis(1500), "statements still run after the burst",
        () -> sluice.sql().count(RUNNING_SLEEPS) == 0);
    }
  }

  @Test
  @DisplayName("X-Request-Timeout can shorten the deadline, and extend it only up to http.maxRequestTimeoutMs")
  void clientDeadlineIsBounded() {
    try (TestSluice.Running sluice = start(2, 1200, 2000, 2500)) {
      assertEquals(404, get(sluice, "/users/930001", null).await().statusCode(), "the default 2000 ms is enough");
      assertEquals(504, get(sluice, "/users/930002", 500L).await().statusCode(), "500 ms is not");
      assertEquals(404, get(sluice, "/users/930003", 2400L).await().statusCode(),
        "2400 ms is within the 2500 ms cap");
      HttpResponse<Buffer> invalid = sluice.client().get("/users/930004")
        .putHeader(HttpVerticle.REQUEST_TIMEOUT_HEADER, "soon").send().await();
      assertEquals(400, invalid.statusCode());
    }

    try (TestSluice.Running sluice = start(2, 1200, 500, 1000)) {
      assertEquals(504, get(sluice, "/users/930005", null).await().statusCode(), "default 500 ms");
      assertEquals(504, get(sluice, "/users/930006", 100_000L).await().statusCode(),
        "100 s is capped at http.maxRequestTimeoutMs = 1000 ms, shorter than the 1200 ms statement");
    }
  }
}
