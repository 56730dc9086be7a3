package io.sluice.bench;

import io.sluice.diagnose.ClosedLoop;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /users/{id}} one at a time, each sent once the previous one has its answer: nothing queues anywhere, so
 * every non-2xx answer is the service's own doing, not load's. Each id is read {@code readsPerId} times in a row; the
 * {@code X-Cache} header of the last read of each id is tallied ({@code cache-repeat}: the second read of a fresh id
 * must be a {@code HIT}), the statuses of all reads ({@code cluster-idle}: no 503 on an idle cluster).
 */
final class SequentialReads {

  /** What a {@code X-Cache} tally counts an answer without the header under. */
  static final String NO_HEADER = "none";

  private final String baseUrl;
  private final List<Long> ids;
  private final int readsPerId;
  private final Duration timeout;
  /** Written by {@link #run()}, read after it. */
  private final Map<String, Long> cache = new TreeMap<>();
  private String firstNon2xx;

  SequentialReads(String baseUrl, List<Long> ids, int readsPerId, Duration timeout) {
    this.baseUrl = baseUrl;
    this.ids = List.copyOf(ids);
    this.readsPerId = readsPerId;
    this.timeout = timeout;
  }

  /**
   * Sends the reads and returns them counted by status ({@code timeout}, {@code error} for none), each timed from
   * its send; once per instance.
   */
  ClosedLoop.Result run() {
    HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
    Histogram answered = new Histogram(3);
    Histogram ok = new Histogram(3);
    Histogram rejected = new Histogram(3);
    Map<String, Long> counts = new TreeMap<>();
    String firstError = null;
    long successes = 0;
    long total = 0;
    long start = System.nanoTime();
    for (long id : ids) {
      for (int read = 1; read <= readsPerId; read++) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/users/" + id)).timeout(timeout).GET()
          .build();
        long sent = System.nanoTime();
        total++;
        HttpResponse<String> response;
        try {
          response = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
          counts.merge(e instanceof HttpTimeoutException ? "timeout" : ClosedLoop.ERROR, 1L, Long::sum);
          firstError = firstError == null ? "GET /users/" + id + ": " + ClosedLoop.describe(e) : firstError;
          continue;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted during GET /users/" + id);
        }
        long micros = (System.nanoTime() - sent) / 1000;
        int status = response.statusCode();
        counts.merge(String.valueOf(status), 1L, Long::sum);
        answered.recordValue(micros);
        if (status / 100 == 2) {
          ok.recordValue(micros);
          successes++;
        } else {
          if (status == 503) {
            rejected.recordValue(micros);
          }
          firstNon2xx = firstNon2xx == null ? status + " " + response.body() : firstNon2xx;
        }
        if (read == readsPerId) {
          cache.merge(response.headers().firstValue("X-Cache").orElse(NO_HEADER), 1L, Long::sum);
        }
      }
    }
    return new ClosedLoop.Result(System.nanoTime() - start, total, Collections.unmodifiableMap(counts),
      OpenLoop.latency(answered), OpenLoop.latency(ok), OpenLoop.latency(rejected), successes, successes, firstError);
  }

  /** After {@link #run()}: the {@code X-Cache} of each id's last read, {@value #NO_HEADER} when it had none. */
  Map<String, Long> lastReadCache() {
    return Collections.unmodifiableMap(cache);
  }

  /** After {@link #run()}: the first answer that was not a 2xx, as {@code status body}; null when there was none. */
  String firstNon2xx() {
    return firstNon2xx;
  }
}
