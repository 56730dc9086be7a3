package io.sluice.bench;

import io.sluice.diagnose.DbCheck;
import io.sluice.proxy.config.FaultSettings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Issue 22's fault shapes, each in a service of its own:
 * <ul>
 *   <li>{@code kill-burst}: pool {@value #KILL_POOL}, latency of {@value #KILL_SLEEP_MS} ms injected on every
 *   borrowed connection, lanes off (so every request of a burst reaches the server). {@value #KILL_BURSTS} bursts of
 *   {@value #KILL_POOL} requests at once, each with a {@value #KILL_DEADLINE_MS} ms deadline: every statement outlives
 *   its deadline. After each burst's last answer the server's processlist is polled every 50 ms until no injected
 *   statement runs. Targets: no statement left {@value #KILL_QUIET_GOAL_MS} ms after the last answer, and
 *   {@code connectionsDestroyed} unchanged (each kill confirmed on the server, no connection closed at the socket).</li>
 *   <li>{@code start-refused}: the jar started {@value #START_RUNS} times on an HTTP port this JVM holds, with a fresh
 *   embedded database directory it would otherwise start; the time from launch to exit. Target: a non-zero exit
 *   within {@value #START_GOAL_MS} ms.</li>
 * </ul>
 */
final class FaultScenarios {

  static final String KILL_BURST = "kill-burst";
  static final String START_REFUSED = "start-refused";

  static final int KILL_POOL = 16;
  static final int KILL_BURSTS = 5;
  static final long KILL_SLEEP_MS = 5000;
  static final long KILL_DEADLINE_MS = 300;
  static final long KILL_QUIET_GOAL_MS = 2000;
  static final int START_RUNS = 3;
  static final long START_GOAL_MS = 3000;

  /** Past the injected sleep: a statement still running this long after the answers was never killed. */
  private static final Duration QUIET_WAIT = Duration.ofMillis(KILL_SLEEP_MS + 2000);
  private static final Duration START_WAIT = Duration.ofSeconds(60);
  private static final String RUNNING_SLEEPS =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "'";

  private final Bench bench;
  private final BenchOptions options;
  private final PrintStream progress;
  private final Path serviceJar;
  private final String stamp;

  FaultScenarios(Bench bench, BenchOptions options, PrintStream progress, Path serviceJar, String stamp) {
    this.bench = bench;
    this.options = options;
    this.progress = progress;
    this.serviceJar = serviceJar;
    this.stamp = stamp;
  }

  /** The scenarios of this class that the options ask for, in report order. */
  List<JsonObject> run() {
    List<JsonObject> scenarios = new ArrayList<>();
    if (options.runs(KILL_BURST)) {
      scenarios.add(killBurst());
    }
    if (options.runs(START_REFUSED)) {
      scenarios.add(startRefused());
    }
    return scenarios;
  }

  // ---- kill-burst ----

  private JsonObject killBurst() {
    String token = UUID.randomUUID().toString();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SLUICE_DB_POOL_MAX_SIZE", String.valueOf(KILL_POOL));
    env.put("SLUICE_DB_LANES_ENABLED", "false");
    env.put("SLUICE_FAULTS_DB_LATENCY_ENABLED", "true");
    env.put("SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(KILL_SLEEP_MS));
    env.put("SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(KILL_SLEEP_MS));
    env.put("SLUICE_ADMIN_TOKEN", token);
    try (Bench.Running running = bench.startService(KILL_BURST, env);
         Connection db = DbCheck.connect(running.db().checkTarget())) {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      long destroyedBefore = destroyed(running, token);
      JsonArray bursts = new JsonArray();
      long worstQuietMs = 0;
      long maxRunning = 0;
      Map<Integer, Long> statuses = new TreeMap<>();
      for (int b = 0; b < KILL_BURSTS; b++) {
        awaitQuiet(db, System.nanoTime());
        progress.printf("[bench] %s: burst %d of %d (%d requests, %d ms deadline)%n", KILL_BURST, b + 1, KILL_BURSTS,
          KILL_POOL, KILL_DEADLINE_MS);
        List<CompletableFuture<Long>> answered = new ArrayList<>();
        for (int i = 0; i < KILL_POOL; i++) {
          long user = 1 + (long) b * KILL_POOL + i;
          HttpRequest request = HttpRequest.newBuilder(URI.create(running.service().baseUrl() + "/users/" + user
              + "/notifications"))
            .header("X-Request-Timeout", String.valueOf(KILL_DEADLINE_MS)).timeout(Duration.ofSeconds(30)).GET()
            .build();
          answered.add(client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).thenApply(r -> {
            synchronized (statuses) {
              statuses.merge(r.statusCode(), 1L, Long::sum);
            }
            return System.nanoTime();
          }));
        }
        long peak = 0;
        while (!CompletableFuture.allOf(answered.toArray(CompletableFuture[]::new)).isDone()) {
          // Every 50 ms, not in a tight loop: a busy processlist reader was seen to hold MariaDB's KILLs for 2 s.
          peak = Math.max(peak, running(db));
          sleepQuietly(50);
        }
        long lastAnswer = 0;
        for (CompletableFuture<Long> answer : answered) {
          try {
            lastAnswer = Math.max(lastAnswer, answer.join());
          } catch (java.util.concurrent.CompletionException e) {
            // No HTTP answer at all (reset, client timeout): counted apart, the burst's other figures stand.
            synchronized (statuses) {
              statuses.merge(0, 1L, Long::sum);
            }
            lastAnswer = Math.max(lastAnswer, System.nanoTime());
          }
        }
        long quietMs = awaitQuiet(db, lastAnswer);
        worstQuietMs = Math.max(worstQuietMs, quietMs);
        maxRunning = Math.max(maxRunning, peak);
        bursts.add(new JsonObject().put("statementsSeenRunning", peak).put("quietAfterLastAnswerMs", quietMs));
      }
      long destroyedAfter = destroyed(running, token);
      JsonObject statusJson = new JsonObject();
      statuses.forEach((status, n) -> statusJson.put(String.valueOf(status), n));
      JsonObject json = bench.scenario(KILL_BURST, KILL_BURSTS + " bursts of " + KILL_POOL + " GET"
          + " /users/{id}/notifications at once, as many as the pool, each with X-Request-Timeout " + KILL_DEADLINE_MS
          + " ms, every borrowed connection waiting " + KILL_SLEEP_MS + " ms first (fault injection, a lock wait),"
          + " lanes off. Every statement outlives its deadline and must be killed on the server. Targets: no"
          + " statement running " + KILL_QUIET_GOAL_MS + " ms after the last answer; connectionsDestroyed unchanged.",
        KILL_POOL, running);
      json.getJsonObject("config").put("ids", "users 1-" + (KILL_BURSTS * KILL_POOL) + ", one per request");
      json.put("requests", (long) KILL_BURSTS * KILL_POOL).put("statusCounts", statusJson);
      return json.put("killBurst", new JsonObject().put("bursts", bursts).put("statuses", statusJson)
          .put("maxStatementsRunning", maxRunning).put("worstQuietAfterLastAnswerMs", worstQuietMs)
          .put("connectionsDestroyed", destroyedAfter - destroyedBefore))
        .put("process", bench.process(running.service()));
    } catch (SQLException e) {
      throw new IllegalStateException(KILL_BURST + ": cannot read the processlist: " + e.getMessage(), e);
    }
  }

  private static long destroyed(Bench.Running running, String token) {
    JsonObject stats = running.service().get("/admin/pool", token);
    JsonObject pool = stats.getJsonObject("pool", stats);
    return pool.getLong("connectionsDestroyed", 0L);
  }

  /**
   * Milliseconds from {@code since} until no injected statement runs; {@link #QUIET_WAIT} at most (past the injected
   * sleep itself: such a statement was never stopped), which the target row then shows as not met.
   */
  private static long awaitQuiet(Connection db, long since) throws SQLException {
    long deadline = since + QUIET_WAIT.toNanos();
    while (running(db) > 0 && System.nanoTime() < deadline) {
      // 20 reads a second: a reader in a tight loop was seen to make MariaDB hold KILLs for 2 s (the measurement
      // must not cause what it measures); the resolution stays far finer than the 2 s target.
      sleepQuietly(50);
    }
    return Math.max(0, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since));
  }

  private static long running(Connection db) throws SQLException {
    try (Statement statement = db.createStatement(); ResultSet rs = statement.executeQuery(RUNNING_SLEEPS)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  // ---- start-refused ----

  private JsonObject startRefused() {
    JsonArray runs = new JsonArray();
    long worstMs = 0;
    boolean allNonZero = true;
    long started = System.nanoTime();
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"))) {
      int port = taken.getLocalPort();
      for (int i = 0; i < START_RUNS; i++) {
        Path dir = options.workDir().resolve("start-refused-" + stamp + "-" + i);
        Files.createDirectories(dir);
        Path logFile = options.workDir().resolve("logs").resolve(stamp + "-" + START_REFUSED + "-" + i + ".log");
        ProcessBuilder builder = new ProcessBuilder(ServiceProcess.javaBinary(), "-Xmx" + options.heap(), "-jar",
          serviceJar.toString())
          .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(logFile.toFile());
        builder.environment().keySet().removeIf(key -> key.startsWith("SLUICE_"));
        builder.environment().put("SLUICE_HTTP_PORT", String.valueOf(port));
        builder.environment().put("SLUICE_EMBEDDED_DATA_DIR", dir.resolve("data").toString());
        builder.environment().put("SLUICE_EMBEDDED_PORT", String.valueOf(ServiceProcess.freePort()));
        progress.printf("[bench] %s: start %d of %d on taken port %d%n", START_REFUSED, i + 1, START_RUNS, port);
        long t0 = System.nanoTime();
        Process process = builder.start();
        if (!process.waitFor(START_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException(START_REFUSED + ": the service did not exit within " + START_WAIT
            + " on a taken port (log " + logFile + ")");
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        int exit = process.exitValue();
        allNonZero &= exit != 0;
        worstMs = Math.max(worstMs, ms);
        runs.add(new JsonObject().put("exitCode", exit).put("exitAfterMs", ms)
          .put("databaseDirCreated", Files.exists(dir.resolve("data"))));
        deleteTree(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(START_REFUSED + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(START_REFUSED + " interrupted");
    }
    return new JsonObject().put("name", START_REFUSED)
      .put("measures", "sluice.jar started " + START_RUNS + " times with SLUICE_HTTP_PORT on a port this JVM holds"
        + " (bound on 0.0.0.0), each with a fresh embedded database directory: the time from launch to exit, and"
        + " its exit code. Target: non-zero within " + START_GOAL_MS + " ms.")
      .put("config", new JsonObject().put("runs", START_RUNS).put("xmx", options.heap()))
      .put("durationSeconds", Bench.round((System.nanoTime() - started) / 1e9))
      .put("startRefused", new JsonObject().put("runs", runs).put("worstExitAfterMs", worstMs)
        .put("allExitedNonZero", allNonZero));
  }

  // ---- figures ----

  /** Target rows, in the form of {@link Comparison#targets}. */
  static JsonArray targets(JsonArray scenarios) {
    JsonArray rows = new JsonArray();
    JsonObject kill = section(scenarios, KILL_BURST, "killBurst");
    Long quiet = kill.getLong("worstQuietAfterLastAnswerMs");
    rows.add(Comparison.atMost("kill-burst: statements left on the server after the last answer (" + KILL_BURSTS
        + " bursts of " + KILL_POOL + " = the pool)", "none after " + KILL_QUIET_GOAL_MS + " ms",
      quiet == null ? null : quiet.doubleValue(), KILL_QUIET_GOAL_MS, " ms"));
    Long destroyed = kill.getLong("connectionsDestroyed");
    rows.add(ShapeFigures.none("kill-burst: connections closed at the socket (connectionsDestroyed)", destroyed,
      null));
    JsonObject start = section(scenarios, START_REFUSED, "startRefused");
    Long worst = start.getLong("worstExitAfterMs");
    JsonObject row = Comparison.atMost("start-refused: a start on a taken HTTP port exits non-zero (" + START_RUNS
        + " starts, the slowest)", "≤ " + START_GOAL_MS + " ms, non-zero",
      worst == null ? null : worst.doubleValue(), START_GOAL_MS, " ms");
    if (Boolean.FALSE.equals(start.getBoolean("allExitedNonZero"))) {
      row.put("status", "not met").put("margin", "an exit code was 0");
    }
    rows.add(row);
    return rows;
  }

  /** The Summary's key figure of a scenario of this class; "" for any other. */
  static String keyFigure(JsonObject s) {
    return switch (s.getString("name", "")) {
      case KILL_BURST -> {
        JsonObject k = s.getJsonObject("killBurst", new JsonObject());
        yield "no statement left " + k.getLong("worstQuietAfterLastAnswerMs") + " ms after the last answer (worst of "
          + KILL_BURSTS + " bursts; target ≤ " + KILL_QUIET_GOAL_MS + "); " + k.getLong("connectionsDestroyed")
          + " connections destroyed (target 0)";
      }
      case START_REFUSED -> {
        JsonObject r = s.getJsonObject("startRefused", new JsonObject());
        yield "exited after " + r.getLong("worstExitAfterMs") + " ms at worst, "
          + (Boolean.TRUE.equals(r.getBoolean("allExitedNonZero")) ? "non-zero" : "NOT always non-zero")
          + " (target ≤ " + START_GOAL_MS + " ms)";
      }
      default -> "";
    };
  }

  static boolean isFault(JsonObject s) {
    String name = s.getString("name", "");
    return name.equals(KILL_BURST) || name.equals(START_REFUSED);
  }

  /** The rows of a scenario's own table in the report. */
  static List<Map.Entry<String, String>> rows(JsonObject s) {
    List<Map.Entry<String, String>> rows = new ArrayList<>();
    JsonObject k = s.getJsonObject("killBurst");
    if (k != null) {
      rows.add(Map.entry("Statuses", String.valueOf(k.getJsonObject("statuses"))));
      rows.add(Map.entry("Most injected statements running at once", String.valueOf(k.getLong("maxStatementsRunning"))));
      rows.add(Map.entry("Per burst (statements seen running, ms from the last answer until none runs)",
        String.valueOf(k.getJsonArray("bursts"))));
      rows.add(Map.entry("Worst time until none runs", k.getLong("worstQuietAfterLastAnswerMs") + " ms"));
      rows.add(Map.entry("connectionsDestroyed during the bursts", String.valueOf(k.getLong("connectionsDestroyed"))));
    }
    JsonObject r = s.getJsonObject("startRefused");
    if (r != null) {
      rows.add(Map.entry("Starts (exit code, ms from launch to exit)", String.valueOf(r.getJsonArray("runs"))));
      rows.add(Map.entry("Slowest exit", r.getLong("worstExitAfterMs") + " ms"));
    }
    return rows;
  }

  private static JsonObject section(JsonArray scenarios, String name, String key) {
    JsonObject s = Comparison.find(scenarios, name);
    JsonObject section = s.getJsonObject(key);
    return section == null ? new JsonObject() : section;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }
}
