package io.sluice.bench;

import io.sluice.diagnose.BaseUrl;
import io.sluice.diagnose.IdRange;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.PrintStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The open loop against a server in this JVM: how many requests it sends is fixed by the rate and the window alone,
 * whatever the server does; latencies run from the intended send time. No timing is asserted beyond what the server's
 * own delay makes certain.
 */
class OpenLoopTest {

  /** How long the server holds every even-numbered request before its 200. */
  private static final long HOLD_MS = 300;

  private Vertx vertx;
  private HttpServer server;
  private final AtomicLong arrivals = new AtomicLong();

  @BeforeEach
  void startServer() {
    vertx = Vertx.vertx();
    // Odd arrivals: 503 at once. Even ones: 200 after HOLD_MS, so that a closed loop would slow down and this must not.
    server = vertx.createHttpServer().requestHandler(request -> {
      if (request.path().equals("/health/live")) {
        request.response().end("{}");
      } else if (arrivals.incrementAndGet() % 2 == 1) {
        request.response().setStatusCode(503).putHeader("Retry-After", "1").end("{}");
      } else {
        vertx.setTimer(HOLD_MS, id -> request.response().end("{}"));
      }
    }).listen(0, "127.0.0.1").await();
  }

  @AfterEach
  void stopServer() {
    vertx.close().await();
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  @DisplayName("the cohort is rate × window whatever the answers; successes are timed from their intended send, so"
    + " at least the server's hold")
  void sendsOnScheduleWhateverTheAnswers() {
    OpenLoop.Plan plan = new OpenLoop.Plan(BaseUrl.parse("http://127.0.0.1:" + server.actualPort()),
      new IdRange(1, 100), 200, Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5));
    OpenLoop.Result result;
    try (OpenLoop run = OpenLoop.start(plan, new PrintStream(OutputStream.nullOutputStream()))) {
      result = run.result().await();
    }

    assertEquals(200, result.scheduled(), "200/s for 1 s");
    assertEquals(200, result.requests().total(), "every request of the cohort has an outcome");
    assertEquals(300, arrivals.get(), "the warm-up's 100 and the cohort's 200 all reached the server");
    long ok = result.requests().count("200");
    long rejected = result.requests().count("503");
    assertEquals(200, ok + rejected, "" + result.requests().counts());
    assertTrue(ok > 0 && rejected > 0, "" + result.requests().counts());
    assertEquals(ok, result.requests().successes());
    assertTrue(result.requests().ok().p50() >= HOLD_MS, "timed from the intended send: " + result.requests().ok());
    assertNotNull(result.sendLag());
  }
}
