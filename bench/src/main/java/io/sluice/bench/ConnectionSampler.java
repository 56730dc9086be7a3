package io.sluice.bench;

import io.sluice.diagnose.BenchAccess;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The database server's side of a measured phase, read through the diagnose command's own check: the most
 * connections seen ({@code SHOW FULL PROCESSLIST}, this sampler's session left out), how many of them ran a statement
 * at once, the highest {@code Threads_connected}, and how many prepared statements reached the server.
 *
 * <p>Threading: the JDBC session is used by the sampling thread until {@link #stop()} has waited for it to end, and
 * by the caller after that; the maxima are written by the sampling thread only and read after the same wait.
 */
final class ConnectionSampler {

  private static final Logger log = LoggerFactory.getLogger(ConnectionSampler.class);

  /** Often enough to catch a pool's peak; the processlist of a few dozen sessions is cheap to read. */
  static final Duration PERIOD = Duration.ofMillis(250);
  private static final String EXECUTE = "Com_stmt_execute";
  private static final String PREPARE = "Com_stmt_prepare";

  private final BenchAccess.DbSession session;
  private final ScheduledExecutorService timer;
  private final Map<String, Long> countersAtStart;
  private String version;
  private int samples;
  private int maxConnections;
  private int maxBusy;
  private long maxThreadsConnected;
  private String problem;

  private ConnectionSampler(BenchAccess.DbSession session, Map<String, Long> countersAtStart) {
    this.session = session;
    this.countersAtStart = countersAtStart;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-db-sampler");
      t.setDaemon(true);
      return t;
    });
  }

  /** Opens the session and starts sampling; a database that cannot be read fails the run before any load. */
  static ConnectionSampler start(DbTarget db) {
    BenchAccess.DbSession session = db.open();
    try {
      ConnectionSampler sampler = new ConnectionSampler(session, session.preparedStatementCounters());
      sampler.timer.scheduleWithFixedDelay(sampler::sample, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
      return sampler;
    } catch (SQLException e) {
      session.close();
      throw new IllegalStateException("cannot read the server status of " + db.where() + ": " + e.getMessage(), e);
    }
  }

  /** Stops sampling, takes a last sample and the statement count, and closes the session. */
  JsonObject stop(long requests) {
    timer.shutdown();
    try {
      if (!timer.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("The database sampler did not stop within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sample();
    long statements = -1;
    long prepares = -1;
    try {
      Map<String, Long> counters = session.preparedStatementCounters();
      statements = delta(counters, EXECUTE);
      prepares = delta(counters, PREPARE);
    } catch (SQLException e) {
      note("statement counters not readable: " + e.getMessage());
    } finally {
      session.close();
    }
    JsonObject json = new JsonObject().put("maxConnections", maxConnections).put("maxBusyConnections", maxBusy)
      .put("maxThreadsConnected", maxThreadsConnected).put("samples", samples)
      .put("samplePeriodMs", PERIOD.toMillis()).put("statementsExecuted", statements)
      .put("statementsPerRequest", statements < 0 || requests == 0 ? null : round(statements / (double) requests))
      .put("statementsPrepared", prepares);
    return json.put("serverVersion", version).put("problem", problem);
  }

  private long delta(Map<String, Long> now, String counter) {
    Long before = countersAtStart.get(counter);
    Long after = now.get(counter);
    return before == null || after == null ? -1 : after - before;
  }

  private void sample() {
    try {
      BenchAccess.DbSession.Snapshot s = session.snapshot();
      version = s.version();
      samples++;
      maxConnections = Math.max(maxConnections, s.connections());
      maxBusy = Math.max(maxBusy, s.busy());
      maxThreadsConnected = Math.max(maxThreadsConnected, s.threadsConnected());
    } catch (SQLException | RuntimeException e) {
      note("sample failed: " + e.getMessage());
    }
  }

  private void note(String text) {
    if (problem == null) {
      problem = text;
      log.warn("Database sampler: {}", text);
    }
  }

  static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
