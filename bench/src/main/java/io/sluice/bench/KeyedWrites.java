package io.sluice.bench;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The share of writes the {@code overload} scenario sends beside its reads: {@code POST /users/{id}/notifications}
 * with a unique title and an {@code Idempotency-Key} each, retried with the same key on 409, 503 and 504 (both
 * {@code db_timeout} and {@code outcome_unknown}) until 201, as the docs tell clients to. Afterwards the database is
 * read back: a title stored twice is a duplicate, an acknowledged title not stored is a lost write. Both must be 0.
 *
 * <p>Blocking JDK HTTP client on a few platform threads: the writes are a small share next to the read load, and
 * keeping them apart from the read load's client keeps its numbers as they were.
 */
final class KeyedWrites implements AutoCloseable {

  /** Attempts per write before it is reported unresolved (the service would have to fail every one of them). */
  private static final int MAX_ATTEMPTS = 100;
  private static final Duration BACKOFF = Duration.ofMillis(50);
  private static final String REQUEST_TIMEOUT_MS = "2000";

  private final String baseUrl;
  private final int users;
  private final String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8) + "-";
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final AtomicBoolean sending = new AtomicBoolean(true);
  private final AtomicInteger next = new AtomicInteger();
  private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
  private final LongAdder unresolved = new LongAdder();
  private final Map<String, LongAdder> answers = new ConcurrentHashMap<>();
  private final List<Thread> writers = new ArrayList<>();

  private KeyedWrites(String baseUrl, int users) {
    this.baseUrl = baseUrl;
    this.users = users;
  }

  /** Starts {@code threads} writers against users 1..{@code users}; they send until {@link #stop()}. */
  static KeyedWrites start(String baseUrl, int users, int threads) {
    KeyedWrites writes = new KeyedWrites(baseUrl, users);
    for (int i = 0; i < threads; i++) {
      Thread writer = new Thread(writes::run, "bench-keyed-writer-" + i);
      writer.setDaemon(true);
      writes.writers.add(writer);
      writer.start();
    }
    return writes;
  }

  private void run() {
    while (sending.get()) {
      write(prefix + next.getAndIncrement());
    }
  }

  /** One logical write, retried with its key until it is acknowledged or MAX_ATTEMPTS are spent. */
  private void write(String title) {
    long userId = 1 + ThreadLocalRandom.current().nextInt(users);
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/users/" + userId + "/notifications"))
      .header("Content-Type", "application/json")
      .header("Idempotency-Key", UUID.randomUUID().toString())
      .header("X-Request-Timeout", REQUEST_TIMEOUT_MS)
      .timeout(Duration.ofSeconds(30))
      .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("title", title).put("body", "bench").encode()))
      .build();
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      String answer = send(request);
      answers.computeIfAbsent(answer, a -> new LongAdder()).increment();
      if (answer.equals("201")) {
        acknowledged.add(title);
        return;
      }
      if (!retryable(answer)) {
        break;
      }
      try {
        Thread.sleep(BACKOFF.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    unresolved.increment();
  }

  private static boolean retryable(String answer) {
    return answer.startsWith("409 ") || answer.startsWith("503 ") || answer.startsWith("504 ")
      || answer.equals("no answer");
  }

  /** "201", "status error" ("504 outcome_unknown"), or "no answer" when the connection failed. */
  private String send(HttpRequest request) {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 201) {
        return "201";
      }
      String error;
      try {
        error = new JsonObject(response.body()).getString("error");
      } catch (RuntimeException e) {
        error = "?";
      }
      return response.statusCode() + " " + error;
    } catch (IOException e) {
      return "no answer";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "no answer";
    }
  }

  /** Stops sending; the writes in progress are retried to their end before this returns. */
  void stop() {
    sending.set(false);
    for (Thread writer : writers) {
      try {
        writer.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * After {@link #stop()}: the writes sent, what the service answered, and what the database holds for them.
   * {@code duplicates} counts extra rows of titles stored more than once; {@code acknowledgedMissing} counts 201s
   * whose title is not stored. Both must be 0.
   */
  JsonObject verify(DbTarget db) {
    Map<String, Long> stored = new HashMap<>();
    try (Connection connection = DriverManager.getConnection(db.settings().jdbcUrl(), db.user(), db.password());
         PreparedStatement select = connection.prepareStatement(
           "SELECT title, COUNT(*) FROM notifications WHERE title LIKE ? GROUP BY title")) {
      select.setString(1, prefix + "%");
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          stored.put(rows.getString(1), rows.getLong(2));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read back the keyed writes from " + db + ": " + e.getMessage(), e);
    }
    long duplicates = stored.values().stream().mapToLong(n -> n - 1).sum();
    long missing = acknowledged.stream().filter(title -> !stored.containsKey(title)).count();
    Map<String, Long> counts = new TreeMap<>();
    answers.forEach((answer, n) -> counts.put(answer, n.sum()));
    return new JsonObject()
      .put("writers", writers.size())
      .put("writes", next.get())
      .put("acknowledged", acknowledged.size())
      .put("unresolved", unresolved.sum())
      .put("stored", stored.size())
      .put("duplicates", duplicates)
      .put("acknowledgedMissing", missing)
      .put("attemptsByAnswer", new JsonObject(new HashMap<>(counts)));
  }

  @Override
  public void close() {
    stop();
  }
}
