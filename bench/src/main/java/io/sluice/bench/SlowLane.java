package io.sluice.bench;

import io.sluice.diagnose.IdRange;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The slow-lane scenario's writers: {@code clients} threads, each a closed loop of {@code PUT /users/{id}/settings}
 * with an id of the locked range and a small JSON body. Well-behaved clients: after a 503 that carries
 * {@code Retry-After} a client waits that many seconds, cut short when the phase ends; after any other answer it
 * sends again at once. Every request is recorded as an {@link Answer}: the phase it was sent in, when it was sent and
 * answered, and its status. What the answers mean (by status, late, the rate back after the release) is worked out
 * afterwards by the static methods, from the answers alone, so that they can be checked without a server.
 *
 * <p>Threading: each client appends to a concurrent queue; the bench's thread moves the phase on ({@link #endPhase})
 * and stops the clients; {@link #answers()} is read after {@link #stop()} has joined them.
 */
final class SlowLane implements AutoCloseable {

  /** Per request; the service answers within its deadline (2 s by default) or is late anyway. */
  private static final Duration CLIENT_TIMEOUT = Bench.REQUEST_TIMEOUT;
  static final String NO_ANSWER = "no answer";
  /** The statuses the report counts apart; anything else is {@code other}. */
  static final List<String> STATUSES = List.of("200", "503", "504");
  static final String OTHER = "other";

  /**
   * One request. {@code status} is -1 without an answer ({@code label} is then {@link #NO_ANSWER}); {@code label} is
   * the status and the error code of the body when there is one ({@code 503 queue_full}); {@code retryAfter} is the
   * seconds of a 503's {@code Retry-After}, -1 when it had none.
   */
  record Answer(String phase, long sentNanos, long answeredNanos, int status, String label, long retryAfter) {

    boolean success() {
      return status == 200;
    }

    long millis() {
      return TimeUnit.NANOSECONDS.toMillis(answeredNanos - sentNanos);
    }
  }

  /** A phase: its name, and the latch a client waiting on Retry-After wakes on when the phase ends. */
  private record Phase(String name, CountDownLatch ended) {

    Phase(String name) {
      this(name, new CountDownLatch(1));
    }
  }

  private final URI base;
  private final IdRange ids;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();
  private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
  private final List<Thread> clients = new ArrayList<>();
  private volatile Phase phase;
  private volatile boolean sending = true;

  private SlowLane(String baseUrl, IdRange ids, String phase) {
    this.base = URI.create(baseUrl);
    this.ids = ids;
    this.phase = new Phase(phase);
  }

  /** Starts {@code clients} writers on {@code ids} in phase {@code phase}; they send until {@link #stop()}. */
  static SlowLane start(String baseUrl, IdRange ids, int clients, String phase) {
    SlowLane lane = new SlowLane(baseUrl, ids, phase);
    for (int i = 0; i < clients; i++) {
      int client = i;
      Thread thread = new Thread(() -> lane.run(client), "bench-slow-lane-" + i);
      thread.setDaemon(true);
      lane.clients.add(thread);
      thread.start();
    }
    return lane;
  }

  private void run(int client) {
    long sequence = 0;
    while (sending) {
      Phase sentIn = phase;
      Answer answer = send(sentIn.name(), ids.pick(), client, sequence++);
      answers.add(answer);
      if (answer.retryAfter() > 0) {
        awaitPhaseEnd(answer.retryAfter());
      }
    }
  }

  /** Waits {@code seconds}, or less when the phase running now ends first (a client never waits across phases). */
  private void awaitPhaseEnd(long seconds) {
    try {
      phase.ended().await(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      sending = false;
    }
  }

  private Answer send(String phaseName, long id, int client, long sequence) {
    HttpRequest request = HttpRequest.newBuilder(base.resolve("/users/" + id + "/settings"))
      .header("Content-Type", "application/json")
      .timeout(CLIENT_TIMEOUT)
      .PUT(HttpRequest.BodyPublishers.ofString(body(client, sequence).encode()))
      .build();
    long sent = System.nanoTime();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      long answered = System.nanoTime();
      int status = response.statusCode();
      long retryAfter = status == 503 ? retryAfterSeconds(response.headers().firstValue("Retry-After")) : -1;
      return new Answer(phaseName, sent, answered, status, label(status, response.body()), retryAfter);
    } catch (IOException e) {
      return new Answer(phaseName, sent, System.nanoTime(), -1, NO_ANSWER, -1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      sending = false;
      return new Answer(phaseName, sent, System.nanoTime(), -1, NO_ANSWER, -1);
    }
  }

  /**
   * One {@code PUT /users/{id}/settings} of {@code settings} outside any phase: the answer's JSON when it is 200,
   * else an IllegalStateException. For comparing what Sluice and a peer answer to the same write.
   */
  static JsonObject putOnce(String baseUrl, long id, JsonObject settings) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl).resolve("/users/" + id + "/settings"))
      .header("Content-Type", "application/json").timeout(CLIENT_TIMEOUT)
      .PUT(HttpRequest.BodyPublishers.ofString(settings.encode())).build();
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(baseUrl + " answered PUT /users/" + id + "/settings with "
          + response.statusCode() + ": " + response.body());
      }
      return new JsonObject(response.body());
    } catch (IOException | DecodeException e) {
      throw new IllegalStateException(baseUrl + ": PUT /users/" + id + "/settings failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during PUT /users/" + id + "/settings");
    }
  }

  /** A settings object of a few dozen bytes, different from one request to the next. */
  static JsonObject body(int client, long sequence) {
    return new JsonObject().put("theme", sequence % 2 == 0 ? "dark" : "light").put("language", "en")
      .put("emailDigest", false).put("writer", client).put("sequence", sequence);
  }

  /** Delay-seconds only (the form Sluice and the peers send); an HTTP date or garbage counts as none (-1). */
  static long retryAfterSeconds(Optional<String> header) {
    return header.map(String::trim).filter(v -> v.matches("\\d{1,9}")).map(Long::parseLong).orElse(-1L);
  }

  private static String label(int status, String body) {
    if (status == 200) {
      return "200";
    }
    try {
      String error = new JsonObject(body).getString("error");
      return error == null ? String.valueOf(status) : status + " " + error;
    } catch (RuntimeException e) {
      return String.valueOf(status);
    }
  }

  /**
   * Ends the phase running now and starts {@code next}: a client waiting on Retry-After sends again at once, and the
   * requests sent from now on belong to {@code next}. Returns the moment of the change ({@link System#nanoTime()}).
   */
  long endPhase(String next) {
    Phase ended = phase;
    long now = System.nanoTime();
    phase = new Phase(next);
    ended.ended().countDown();
    return now;
  }

  /** Stops sending: ends the phase, and waits for each client's request in flight (at most its client timeout). */
  void stop() {
    sending = false;
    phase.ended().countDown();
    for (Thread client : clients) {
      try {
        client.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Every request so far; complete once {@link #stop()} has returned. */
  List<Answer> answers() {
    return List.copyOf(answers);
  }

  int clients() {
    return clients.size();
  }

  @Override
  public void close() {
    stop();
  }

  // ---- what the answers mean: from the answers alone ----

  /**
   * The requests sent in {@code phase}: how many, by status ({@code 200}, {@code 503}, {@code 504}, {@code other}:
   * no answer included), by label ({@code 503 queue_full} …), how many 503s carried no {@code Retry-After}, how many
   * were answered later than {@code lateAfterMs} after their send (no answer at all within that time included), and
   * the latency of the answers.
   */
  static JsonObject figures(List<Answer> answers, String phase, long lateAfterMs) {
    Map<String, Long> byStatus = new TreeMap<>();
    STATUSES.forEach(s -> byStatus.put(s, 0L));
    byStatus.put(OTHER, 0L);
    Map<String, Long> byLabel = new TreeMap<>();
    long requests = 0;
    long late = 0;
    long without = 0;
    List<Long> millis = new ArrayList<>();
    for (Answer a : answers) {
      if (!a.phase().equals(phase)) {
        continue;
      }
      requests++;
      String status = STATUSES.contains(String.valueOf(a.status())) ? String.valueOf(a.status()) : OTHER;
      byStatus.merge(status, 1L, Long::sum);
      byLabel.merge(a.label(), 1L, Long::sum);
      if (a.millis() > lateAfterMs) {
        late++;
      }
      if (a.status() == 503 && a.retryAfter() < 0) {
        without++;
      }
      if (a.status() > 0) {
        millis.add(a.millis());
      }
    }
    return new JsonObject().put("requests", requests).put("byStatus", new JsonObject(new TreeMap<>(byStatus)))
      .put("byAnswer", new JsonObject(new TreeMap<>(byLabel))).put("late", late).put("lateAfterMs", lateAfterMs)
      .put("rejectedWithoutRetryAfter", without).put("latencyMs", latency(millis));
  }

  /** 200s answered in [{@code fromNanos}, {@code toNanos}), whatever phase they were sent in. */
  static long successesBetween(List<Answer> answers, long fromNanos, long toNanos) {
    return answers.stream().filter(a -> a.success() && a.answeredNanos() >= fromNanos && a.answeredNanos() < toNanos)
      .count();
  }

  /**
   * After the release: 200s per bucket of {@code bucket} over {@code span} from {@code releaseNanos}, and the end of
   * the first bucket whose rate reaches {@code fraction} of {@code normalPerSecond}: {@code recoveryMs}, the time by
   * which the rate was seen back. One bucket is the resolution, so the best figure is one bucket. When no bucket got
   * there, or there is no normal rate to compare with, {@code recoveryMs} is null and {@code recovered} false.
   */
  static JsonObject recovery(List<Answer> answers, long releaseNanos, double normalPerSecond, double fraction,
                             Duration bucket, Duration span) {
    int buckets = (int) (span.toNanos() / bucket.toNanos());
    long[] successes = new long[buckets];
    for (Answer a : answers) {
      long offset = a.answeredNanos() - releaseNanos;
      if (a.success() && offset >= 0 && offset < buckets * bucket.toNanos()) {
        successes[(int) (offset / bucket.toNanos())]++;
      }
    }
    double threshold = normalPerSecond * fraction;
    double bucketSeconds = bucket.toNanos() / 1e9;
    Long recoveryMs = null;
    for (int i = 0; i < buckets && normalPerSecond > 0; i++) {
      if (successes[i] / bucketSeconds >= threshold) {
        recoveryMs = (i + 1) * bucket.toMillis();
        break;
      }
    }
    JsonArray perBucket = new JsonArray();
    for (long n : successes) {
      perBucket.add(n);
    }
    return new JsonObject().put("normalPerSecond", Bench.round(normalPerSecond))
      .put("thresholdPerSecond", Bench.round(threshold)).put("bucketMs", bucket.toMillis())
      .put("spanMs", buckets * bucket.toMillis()).put("successesPerBucket", perBucket)
      .put("recovered", recoveryMs != null).put("recoveryMs", recoveryMs);
  }

  private static JsonObject latency(List<Long> millis) {
    if (millis.isEmpty()) {
      return null;
    }
    List<Long> sorted = millis.stream().sorted().toList();
    return new JsonObject().put("p50", percentile(sorted, 0.5)).put("p99", percentile(sorted, 0.99))
      .put("max", sorted.get(sorted.size() - 1));
  }

  /** The nearest-rank percentile of sorted values. */
  private static long percentile(List<Long> sorted, double p) {
    int rank = (int) Math.ceil(p * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }
}
