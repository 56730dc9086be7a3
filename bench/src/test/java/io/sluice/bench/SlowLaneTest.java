package io.sluice.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the slow lane's answers mean, from synthetic answers: no service, no clock. */
class SlowLaneTest {

  private static final long MS = 1_000_000;
  private static final Duration BUCKET = Duration.ofMillis(250);
  private static final Duration SPAN = Duration.ofSeconds(5);

  @Test
  @DisplayName("a phase's writes are counted by status (no answer is other) and by answer; late is after the limit")
  void figuresByStatusAndLate() {
    List<SlowLane.Answer> answers = List.of(
      answer("with-slow", 0, 10, 200, "200", -1),
      answer("with-slow", 0, 2250, 504, "504 db_timeout", -1),
      answer("with-slow", 0, 2251, 504, "504 db_timeout", -1),
      answer("with-slow", 0, 5, 503, "503 queue_full", 1),
      answer("with-slow", 0, 7, 503, "503 queue_full", -1),
      answer("with-slow", 0, 10_000, -1, SlowLane.NO_ANSWER, -1),
      answer("with-slow", 0, 3, 404, "404 not_found", -1),
      answer("released", 0, 9_000, 200, "200", -1));

    JsonObject f = SlowLane.figures(answers, "with-slow", 2250);

    assertEquals(7, f.getLong("requests"));
    assertEquals(new JsonObject().put("200", 1L).put("503", 2L).put("504", 2L).put("other", 2L),
      f.getJsonObject("byStatus"));
    assertEquals(2L, f.getJsonObject("byAnswer").getLong("504 db_timeout"));
    assertEquals(1L, f.getJsonObject("byAnswer").getLong(SlowLane.NO_ANSWER));
    assertEquals(2, f.getLong("late"), "2251 ms and the request without an answer after 10 s; 2250 ms is in time");
    assertEquals(1, f.getLong("rejectedWithoutRetryAfter"));
    assertEquals(2251L, f.getJsonObject("latencyMs").getLong("max"), "answers only: no answer is not timed");
  }

  @Test
  @DisplayName("recovery is the end of the first 250 ms bucket after the release at 80 % of the normal rate or more")
  void recoveryIsTheFirstBucketBackAtTheRate() {
    long release = 1_000 * MS;
    List<SlowLane.Answer> answers = new ArrayList<>();
    // Before the release: not counted, however many.
    successes(answers, release - 200 * MS, 100);
    // Buckets 0 and 1: 10 each (40/s); bucket 2: 20 (80/s); bucket 3: 25.
    successes(answers, release, 10);
    successes(answers, release + 250 * MS, 10);
    successes(answers, release + 500 * MS, 20);
    successes(answers, release + 750 * MS, 25);
    answers.add(new SlowLane.Answer("released", release + 760 * MS, release + 770 * MS, 503, "503 queue_full", 1));

    JsonObject r = SlowLane.recovery(answers, release, 100, 0.8, BUCKET, SPAN);

    assertEquals(750L, r.getLong("recoveryMs"), "bucket 2 (500-750 ms) is the first at 80/s");
    assertTrue(r.getBoolean("recovered"));
    assertEquals(80.0, r.getDouble("thresholdPerSecond"));
    JsonArray perBucket = r.getJsonArray("successesPerBucket");
    assertEquals(20, perBucket.size());
    assertEquals(List.of(10L, 10L, 20L, 25L), perBucket.getList().subList(0, 4));
  }

  @Test
  @DisplayName("no bucket back at the rate within the span, or no normal rate to compare with: not recovered")
  void notBackWithinTheSpan() {
    long release = 0;
    List<SlowLane.Answer> answers = new ArrayList<>();
    successes(answers, release + 100 * MS, 19);
    // Back, but after the span.
    successes(answers, release + 5_000 * MS, 1000);

    JsonObject slow = SlowLane.recovery(answers, release, 100, 0.8, BUCKET, SPAN);
    JsonObject unknown = SlowLane.recovery(answers, release, 0, 0.8, BUCKET, SPAN);

    assertFalse(slow.getBoolean("recovered"));
    assertNull(slow.getLong("recoveryMs"));
    assertFalse(unknown.getBoolean("recovered"), "a normal rate of 0 compares with nothing");
  }

  @Test
  @DisplayName("the normal rate counts the 200s answered inside the window, whatever phase sent them")
  void successesInAHalfOpenWindow() {
    List<SlowLane.Answer> answers = List.of(
      answer("warm-up", 0, 100, 200, "200", -1),
      answer("put-alone", 100, 200, 200, "200", -1),
      answer("put-alone", 150, 250, 503, "503 queue_full", 1),
      answer("put-alone", 200, 300, 200, "200", -1));

    assertEquals(2, SlowLane.successesBetween(answers, 100 * MS, 300 * MS), "[100, 300): 100 in, 300 out");
  }

  @Test
  @DisplayName("Retry-After is read as delay-seconds; a date or garbage is none")
  void retryAfterSeconds() {
    assertEquals(1, SlowLane.retryAfterSeconds(Optional.of(" 1 ")));
    assertEquals(-1, SlowLane.retryAfterSeconds(Optional.of("Wed, 21 Oct 2026 07:28:00 GMT")));
    assertEquals(-1, SlowLane.retryAfterSeconds(Optional.empty()));
  }

  private static void successes(List<SlowLane.Answer> answers, long atNanos, int n) {
    for (int i = 0; i < n; i++) {
      answers.add(new SlowLane.Answer("released", atNanos - 5 * MS, atNanos + i, 200, "200", -1));
    }
  }

  private static SlowLane.Answer answer(String phase, long sentMs, long answeredMs, int status, String label,
                                        long retryAfter) {
    return new SlowLane.Answer(phase, sentMs * MS, answeredMs * MS, status, label, retryAfter);
  }
}
