package io.sluice.launcher;

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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Steady read/write load through API nodes for {@link ClusterIT}, from plain threads with the JDK's HTTP client (no
 * connection cap of its own, so the concurrency asked for is the concurrency sent). Writers POST notifications with
 * unique titles, each with its own {@code Idempotency-Key}, retried with the same key on 409, 503 and 504 until 201
 * (like {@code RetryUnderLoadTest}); readers GET one user. Every answer that is not a success is kept, with the time
 * its request started, for the test to place against the events it caused.
 *
 * <p>Invariant of {@link #close()}: a writer stops only between writes, so every write it started was acknowledged
 * (201) before it stopped; the titles acknowledged are {@link #acknowledged()}.
 */
final class ClusterLoad implements AutoCloseable {

  /** One answer that was not a success, or a request that got no answer. */
  record Failure(long startedNanos, String what, int status, String error) {
  }

  private static final String DEADLINE_MS = "2000";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ExecutorService threads;
  private final List<Future<?>> running = new ArrayList<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong seq = new AtomicLong();
  private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
  private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
  private final String run;

  /**
   * Starts {@code writers} writers and {@code readers} readers, each sending through the API nodes' ports in turn;
   * {@code perWriter} writes each (0 = until {@link #close()}).
   */
  ClusterLoad(String run, List<Integer> apiPorts, long userId, int writers, int readers, long perWriter) {
    this.run = run;
    this.threads = Executors.newFixedThreadPool(writers + readers);
    for (int i = 0; i < writers; i++) {
      int port = apiPorts.get(i % apiPorts.size());
      running.add(threads.submit(() -> write(port, userId, perWriter)));
    }
    for (int i = 0; i < readers; i++) {
      int port = apiPorts.get(i % apiPorts.size());
      running.add(threads.submit(() -> read(port, userId)));
    }
  }

  private void write(int port, long userId, long count) {
    for (long n = 0; (count == 0 || n < count) && !stop.get(); n++) {
      String title = run + "-" + seq.incrementAndGet();
      String key = "key-" + title;
      // Retried until acknowledged, whatever the stop flag says: a started write ends with its 201.
      while (true) {
        long started = System.nanoTime();
        Answer answer = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/users/" + userId
            + "/notifications"))
          .header("X-Request-Timeout", DEADLINE_MS).header("Idempotency-Key", key)
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("title", title).put("body", "b").encode()))
          .build());
        if (answer.status == 201) {
          acknowledged.add(title);
          break;
        }
        failures.add(new Failure(started, "POST " + title, answer.status, answer.error));
        if (answer.status != 0 && answer.status != 409 && answer.status != 503 && answer.status != 504) {
          break;
        }
        pause();
      }
    }
  }

  /** A short pause before a retry, so that a retry refused at once (409) does not spin. */
  private static void pause() {
    try {
      Thread.sleep(10);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void read(int port, long userId) {
    HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/users/" + userId))
      .header("X-Request-Timeout", DEADLINE_MS).GET().build();
    while (!stop.get()) {
      long started = System.nanoTime();
      Answer answer = send(get);
      if (answer.status != 200) {
        failures.add(new Failure(started, "GET /users/" + userId, answer.status, answer.error));
        // A node at share 0 answers 503 at once: without a pause, readers spin and starve the machine.
        pause();
      }
    }
  }

  private record Answer(int status, String error) {
  }

  private Answer send(HttpRequest request) {
    sent.incrementAndGet();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      int status = response.statusCode();
      if (status / 100 == 2) {
        return new Answer(status, null);
      }
      String error;
      try {
        error = new JsonObject(response.body()).getString("error");
      } catch (RuntimeException e) {
        error = response.body();
      }
      return new Answer(status, error);
    } catch (IOException e) {
      return new Answer(0, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer(0, "interrupted");
    }
  }

  long sent() {
    return sent.get();
  }

  Set<String> acknowledged() {
    return acknowledged;
  }

  List<Failure> failures() {
    return List.copyOf(failures);
  }

  /** Waits for every thread to end: only for a load of writers with a fixed count and no readers. */
  void awaitDone(Duration bound) throws Exception {
    long deadline = System.nanoTime() + bound.toNanos();
    for (Future<?> f : running) {
      f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
  }

  /** Stops every thread after its current request (a writer after its current write's 201); waits for them. */
  @Override
  public void close() {
    stop.set(true);
    threads.shutdown();
    try {
      if (!threads.awaitTermination(2, TimeUnit.MINUTES)) {
        throw new AssertionError("load threads still running 2 minutes after stop");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static Map<String, Long> countByAnswer(List<Failure> failures) {
    Map<String, Long> counts = new java.util.TreeMap<>();
    failures.forEach(f -> counts.merge(f.what().substring(0, f.what().indexOf(' ')) + " " + f.status() + " "
      + f.error(), 1L, Long::sum));
    return counts;
  }
}
