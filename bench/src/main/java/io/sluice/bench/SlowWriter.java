package io.sluice.bench;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * One client of the slow lane: {@code PUT /users/{id}/settings} for ids {@code first..last} in turn, each sent once
 * the previous one has its answer, on one thread. A 503 is honoured: the next request waits the {@code Retry-After}
 * it carried (1 s when it carried none). Anything else is followed by the next request at once. With the rows
 * locked ({@link RowLocks}) every write waits on the server until the service gives up on it, so this one client
 * keeps one pooled connection busy at a time, and no more.
 */
final class SlowWriter {

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final String BODY = new JsonObject().put("theme", "dark").put("language", "en")
    .put("emailDigest", false).encode();

  private final String baseUrl;
  private final long first;
  private final long last;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /** Counted down by {@link #stop()}: ends the loop, and cuts short a Retry-After wait. */
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Map<String, LongAdder> answers = new ConcurrentHashMap<>();
  private final LongAdder retryAfterWaits = new LongAdder();
  private final Thread thread;

  private SlowWriter(String baseUrl, long first, long last) {
    this.baseUrl = baseUrl;
    this.first = first;
    this.last = last;
    this.thread = new Thread(this::run, "bench-slow-writer");
    thread.setDaemon(true);
  }

  static SlowWriter start(String baseUrl, long first, long last) {
    SlowWriter writer = new SlowWriter(baseUrl, first, last);
    writer.thread.start();
    return writer;
  }

  private void run() {
    long id = first;
    while (stopped.getCount() > 0) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/users/" + id + "/settings"))
        .header("Content-Type", "application/json").timeout(REQUEST_TIMEOUT)
        .PUT(HttpRequest.BodyPublishers.ofString(BODY)).build();
      id = id == last ? first : id + 1;
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        answers.computeIfAbsent(String.valueOf(response.statusCode()), a -> new LongAdder()).increment();
        if (response.statusCode() == 503) {
          retryAfterWaits.increment();
          stopped.await(retryAfterSeconds(response), TimeUnit.SECONDS);
        }
      } catch (IOException e) {
        answers.computeIfAbsent("no answer", a -> new LongAdder()).increment();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static long retryAfterSeconds(HttpResponse<?> response) {
    try {
      return Math.max(1, Long.parseLong(response.headers().firstValue("Retry-After").orElse("1").trim()));
    } catch (NumberFormatException e) {
      return 1;
    }
  }

  /** Sends no further request; the one in flight, if any, still runs to its answer (see {@link #await()}). */
  void stop() {
    stopped.countDown();
  }

  /** Waits for the request in flight to end: call it after releasing the locks it may be waiting on. */
  void await() {
    try {
      thread.join(REQUEST_TIMEOUT.toMillis() + 5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The answers by status ({@code no answer} for none) and how many Retry-After waits there were. */
  JsonObject figures() {
    Map<String, Long> counts = new TreeMap<>();
    answers.forEach((answer, n) -> counts.put(answer, n.sum()));
    JsonObject byAnswer = new JsonObject();
    counts.forEach(byAnswer::put);
    return new JsonObject().put("requests", counts.values().stream().mapToLong(Long::longValue).sum())
      .put("statusCounts", byAnswer).put("retryAfterWaits", retryAfterWaits.sum())
      .put("ids", first + "-" + last);
  }
}
