package io.sluice.diagnose;

import io.sluice.diagnose.ClosedLoop.Outcome;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver alone, with synthetic requests: no server, no network. */
@Timeout(30)
class ClosedLoopTest {

  private static final Consumer<ClosedLoop.Progress> QUIET = p -> { };

  private Vertx vertx;
  private Context context;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void stop() {
    vertx.close().await();
  }

  /** Completes with {@code outcome} after {@code ms} on the loop, as a real client would. */
  private Future<Outcome> later(long ms, Outcome outcome) {
    Promise<Outcome> promise = Promise.promise();
    vertx.setTimer(ms, id -> promise.complete(outcome));
    return promise.future();
  }

  @Test
  @DisplayName("a request budget sends each sequence number once, never more than `concurrency` at a time")
  void aRequestBudgetSendsEachSequenceOnceWithinTheConcurrency() {
    List<Long> sequences = new ArrayList<>();
    int[] inFlight = {0, 0}; // now, max: touched on the loop only
    ClosedLoop.Request request = sequence -> {
      sequences.add(sequence);
      inFlight[1] = Math.max(inFlight[1], ++inFlight[0]);
      return later(1, Outcome.success("ok")).andThen(ar -> inFlight[0]--);
    };

    ClosedLoop.Result result = ClosedLoop.start(context, new ClosedLoop.Budget(4, 200L, null), request, QUIET)
      .result().await();

    assertEquals(200, result.total());
    assertEquals(Map.of("ok", 200L), result.counts());
    assertEquals(LongStream.rangeClosed(1, 200).boxed().toList(), sequences);
    assertEquals(4, inFlight[1]);
    assertEquals(200, result.successes());
    assertEquals(200, result.successesWhileSending(), "without a duration every success is while sending");
  }

  @Test
  @DisplayName("outcomes are counted by label; answers are timed by kind, requests without an answer are not")
  void outcomesAreCountedByLabelAndTimedByKind() {
    RuntimeException refused = new RuntimeException("connection refused\nsecond line");
    ClosedLoop.Request request = sequence -> switch ((int) (sequence % 5)) {
      case 0 -> later(1, Outcome.success("200"));
      case 1 -> later(1, Outcome.rejected("503"));
      case 2 -> later(1, Outcome.otherAnswer("404"));
      case 3 -> later(1, Outcome.noAnswer("timeout", refused));
      default -> Future.failedFuture(new IllegalStateException());
    };

    ClosedLoop.Result result = ClosedLoop.start(context, new ClosedLoop.Budget(3, 100L, null), request, QUIET)
      .result().await();

    assertEquals(Map.of("200", 20L, "503", 20L, "404", 20L, "timeout", 20L, ClosedLoop.ERROR, 20L), result.counts());
    assertNotNull(result.latency());
    assertNotNull(result.ok());
    assertNotNull(result.rejected());
    assertEquals(20, result.successes());
    assertTrue(result.firstError().equals("connection refused") || result.firstError().equals("IllegalStateException"),
      "the first line of the first failure's message, else its class: " + result.firstError());
  }

  @Test
  @DisplayName("no answers at all: no latency, and a request that fails at once does not recurse per request")
  void requestsThatFailAtOnceNeitherRecurseNorGetALatency() {
    IllegalStateException noClient = new IllegalStateException("no client");
    ClosedLoop.Request request = sequence -> {
      throw noClient;
    };

    ClosedLoop.Result result = ClosedLoop.start(context, new ClosedLoop.Budget(1, 100_000L, null), request, QUIET)
      .result().await();

    assertEquals(100_000, result.total());
    assertEquals(100_000, result.count(ClosedLoop.ERROR));
    assertNull(result.latency());
    assertNull(result.ok());
    assertEquals("no client", result.firstError());
  }

  @Test
  @DisplayName("a duration budget stops sending when it ends, awaits the requests in flight, and is halfway before")
  void aDurationBudgetStopsSendingAndDrains() {
    ClosedLoop loop = ClosedLoop.start(context, new ClosedLoop.Budget(4, null, Duration.ofMillis(300)),
      sequence -> later(20, Outcome.success("ok")), QUIET);

    loop.halfway().await();
    assertFalse(loop.result().isComplete(), "halfway comes before the end");
    ClosedLoop.Result result = loop.result().await();

    assertTrue(result.elapsedNanos() >= Duration.ofMillis(300).toNanos(), "ran at least its duration");
    assertTrue(result.total() >= 4 && result.total() <= 4 * (300 / 20 + 2), "about 4 × 300/20: " + result.total());
    assertTrue(result.successesWhileSending() <= result.successes());
  }

  @Test
  @DisplayName("a budget needs a count or a duration, and at least one worker")
  void aBudgetWithoutAnEndOrWorkersIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ClosedLoop.Budget(1, null, null));
    assertThrows(IllegalArgumentException.class, () -> new ClosedLoop.Budget(0, 10L, null));
  }
}
