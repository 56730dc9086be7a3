package io.sluice.bench;

import io.sluice.diagnose.DbCheck;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The database server's side of a measured phase, read through the diagnose command's own check ({@link DbCheck}):
 * the most connections seen ({@code SHOW FULL PROCESSLIST}, this sampler's session left out), how many of them ran a
 * statement at once, the highest {@code Threads_connected}, and how many prepared statements reached the server.
 *
 * <p>Threading: the JDBC connection is used by the sampling thread until {@link #stop} has waited for it to end, and
 * by the caller after that; the maxima are written by the sampling thread only and read after the same wait.
 */
final class ConnectionSampler {

  private static final Logger log = LoggerFactory.getLogger(ConnectionSampler.class);

  /** Often enough to catch a pool's peak; the processlist of a few dozen sessions is cheap to read. */
  static final Duration PERIOD = Duration.ofMillis(250);
  private static final String EXECUTE = "Com_stmt_execute";
  private static final String PREPARE = "Com_stmt_prepare";
  private static final String SQL_COUNTERS =
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('" + EXECUTE + "', '" + PREPARE + "')";

  private final Connection connection;
  private final ScheduledExecutorService timer;
  private final Map<String, Long> countersAtStart;
  private String version;
  private int samples;
  private int maxConnections;
  private int maxBusy;
  private long maxThreadsConnected;
  private String problem;

  private ConnectionSampler(Connection connection, Map<String, Long> countersAtStart) {
    this.connection = connection;
    this.countersAtStart = countersAtStart;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-db-sampler");
      t.setDaemon(true);
      return t;
    });
  }

  /** Opens the session and starts sampling; a database that cannot be read fails the run before any load. */
  static ConnectionSampler start(DbTarget db) {
    Connection connection = DbCheck.connect(db.checkTarget());
    try {
      ConnectionSampler sampler = new ConnectionSampler(connection, preparedStatementCounters(connection));
      sampler.timer.scheduleWithFixedDelay(sampler::sample, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
      return sampler;
    } catch (SQLException e) {
      DbCheck.closeQuietly(connection);
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
      Map<String, Long> counters = preparedStatementCounters(connection);
      statements = delta(counters, EXECUTE);
      prepares = delta(counters, PREPARE);
    } catch (SQLException e) {
      note("statement counters not readable: " + e.getMessage());
    } finally {
      DbCheck.closeQuietly(connection);
    }
    JsonObject json = new JsonObject().put("maxConnections", maxConnections).put("maxBusyConnections", maxBusy)
      .put("maxThreadsConnected", maxThreadsConnected).put("samples", samples)
      .put("samplePeriodMs", PERIOD.toMillis()).put("statementsExecuted", statements)
      .put("statementsPerRequest", statements < 0 || requests == 0 ? null : round(statements / (double) requests))
      .put("statementsPrepared", prepares);
    return json.put("serverVersion", version).put("problem", problem);
  }

  /**
   * The server's counts of prepared-statement executions and preparations, keyed by their names. The service runs
   * every statement as a prepared one and this session runs none, so the difference of two readings counts the
   * statements that reached the database, and how many of them had to be prepared first (a prepared-statement cache
   * miss).
   */
  private static Map<String, Long> preparedStatementCounters(Connection connection) throws SQLException {
    Map<String, Long> counters = new HashMap<>();
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(SQL_COUNTERS)) {
      while (rs.next()) {
        counters.put(rs.getString(1), Long.parseLong(rs.getString(2)));
      }
    }
    return counters;
  }

  private long delta(Map<String, Long> now, String counter) {
    Long before = countersAtStart.get(counter);
    Long after = now.get(counter);
    return before == null || after == null ? -1 : after - before;
  }

  /**
   * The check's own session is left out of its processlist summary but counted in {@code Threads_connected}.
   * "Busy" sessions run a statement: neither {@code Sleep} nor {@code Daemon}.
   */
  private void sample() {
    try {
      DbCheck check = DbCheck.read(connection);
      DbCheck.Processlist p = check.processlist();
      long idle = p.byCommand().getOrDefault("Sleep", 0L) + p.byCommand().getOrDefault("Daemon", 0L);
      version = check.version();
      samples++;
      maxConnections = Math.max(maxConnections, p.connections());
      maxBusy = Math.max(maxBusy, (int) (p.connections() - idle));
      maxThreadsConnected = Math.max(maxThreadsConnected, check.threadsConnected());
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
