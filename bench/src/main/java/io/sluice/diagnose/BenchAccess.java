package io.sluice.diagnose;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The bench's one door into the diagnose command's package-private classes, so that the benchmark drives the same
 * load generator ({@link LoadRun}) and reads the database the same way ({@link DbCheck}) as the command does, instead
 * of growing a second copy of each. The class lives in the bench module but in the diagnose package: this works on
 * the class path (the jar is not sealed), and keeps the command's API closed to everyone else.
 */
public final class BenchAccess {

  private BenchAccess() {
  }

  /** Latency percentiles in milliseconds; null where a load had no answer of that kind. */
  public record Latency(double p50, double p90, double p99, double p999, double max) {

    static Latency of(LoadRun.Latency l) {
      return l == null ? null : new Latency(l.p50(), l.p90(), l.p99(), l.p999(), l.max());
    }
  }

  /**
   * One load's outcome. {@code statusCounts} is keyed by HTTP status, plus {@code error} and {@code timeout} for
   * requests without an answer. {@code all} covers every answer; {@code ok} (2xx) and {@code rejected} (503) are
   * only split by {@link #closedLoopByOutcome} and are null from {@link #closedLoop}, as is
   * {@code successesWhileSending} (2xx answers that arrived before the duration ended; -1 when not counted).
   */
  public record Load(long elapsedNanos, long total, Map<String, Long> statusCounts, Latency all, Latency ok,
                     Latency rejected, long successesWhileSending, String firstError) {

    public long count(String status) {
      return statusCounts.getOrDefault(status, 0L);
    }

    /** Answers with a 2xx status. */
    public long successes() {
      return statusCounts.entrySet().stream().filter(e -> e.getKey().length() == 3 && e.getKey().startsWith("2"))
        .mapToLong(Map.Entry::getValue).sum();
    }

    public double seconds() {
      return elapsedNanos / 1e9;
    }

    public double throughput() {
      return elapsedNanos == 0 ? 0 : total * 1e9 / elapsedNanos;
    }
  }

  /** {@code 500ms}, {@code 10s}, {@code 1m}, as the diagnose command reads them; a bare number is seconds. */
  public static Duration parseDuration(String text) {
    String value = text.trim().matches("\\d+") ? text.trim() + "s" : text;
    try {
      return new Converters.DurationConverter().convert(value);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
  }

  /**
   * {@code GET /users/{random id in [firstId, lastId]}} from {@code concurrency} closed-loop workers for
   * {@code duration}: the diagnose command's {@link LoadRun}, unchanged. Blocks until requests in flight at the end
   * have finished.
   */
  public static Load closedLoop(String baseUrl, long firstId, long lastId, int concurrency, Duration duration,
                                Duration timeout, PrintStream progress) {
    LoadRun.Result r = load(new LoadRun.Plan(BaseUrl.parse(baseUrl), Scenario.USER, new IdRange(firstId, lastId),
      concurrency, null, duration, timeout), progress);
    return new Load(r.elapsedNanos(), r.total(), r.statusCounts(), Latency.of(r.latency()), null, null, -1,
      r.firstError());
  }

  /** As {@link #closedLoop}, with the latency of successes and of rejections recorded apart. */
  public static Load closedLoopByOutcome(String baseUrl, long firstId, long lastId, int concurrency,
                                         Duration duration, Duration timeout, PrintStream progress) {
    return byOutcome(load(new LoadRun.Plan(BaseUrl.parse(baseUrl), Scenario.USER, new IdRange(firstId, lastId),
      concurrency, null, duration, timeout), progress));
  }

  /** {@code GET /users/{id}} once for every id in [firstId, lastId], in order: fills the users cache. */
  public static Load sweep(String baseUrl, long firstId, long lastId, int concurrency, Duration timeout,
                           PrintStream progress) {
    return byOutcome(load(new LoadRun.Plan(BaseUrl.parse(baseUrl), Scenario.USER, new IdRange(firstId, lastId),
      concurrency, lastId - firstId + 1, null, timeout, true), progress));
  }

  private static LoadRun.Result load(LoadRun.Plan plan, PrintStream progress) {
    try (LoadRun run = start(() -> LoadRun.start(plan, progress))) {
      return run.result().await();
    }
  }

  private static Load byOutcome(LoadRun.Result r) {
    return new Load(r.elapsedNanos(), r.total(), r.statusCounts(), Latency.of(r.latency()), Latency.of(r.ok()),
      Latency.of(r.rejected()), r.okWhileSending(), r.firstError());
  }

  /** {@link CannotRun} is package-private: callers outside see an {@link IllegalStateException} with its message. */
  private static <T> T start(java.util.function.Supplier<T> starter) {
    try {
      return starter.get();
    } catch (CannotRun e) {
      throw new IllegalStateException(e.getMessage());
    }
  }

  /** Opens {@link DbCheck}'s read-only connection; the password appears in no message. */
  public static DbSession openDb(String host, int port, String database, String user, String password) {
    DbCheck.Target target = new DbCheck.Target(host, port, database, user, password);
    return new DbSession(start(() -> DbCheck.connect(target)));
  }

  /**
   * One read-only connection to the database server, used by one thread at a time. Its own session is left out of
   * {@link Snapshot#connections()} (as in the diagnose report) but counted in {@link Snapshot#threadsConnected()}.
   */
  public static final class DbSession implements AutoCloseable {

    private final Connection connection;

    private DbSession(Connection connection) {
      this.connection = connection;
    }

    /**
     * @param connections sessions in {@code SHOW FULL PROCESSLIST} but this one
     * @param busy        those of them running a statement (not {@code Sleep}, not {@code Daemon})
     */
    public record Snapshot(String version, long threadsConnected, int connections, int busy) {
    }

    public Snapshot snapshot() throws SQLException {
      DbCheck check = DbCheck.read(connection);
      DbCheck.Processlist p = check.processlist();
      long idle = p.byCommand().getOrDefault("Sleep", 0L) + p.byCommand().getOrDefault("Daemon", 0L);
      return new Snapshot(check.version(), check.threadsConnected(), p.connections(), (int) (p.connections() - idle));
    }

    /**
     * The server's counts of prepared-statement executions and preparations ({@code Com_stmt_execute},
     * {@code Com_stmt_prepare}), keyed by those names. The service runs every statement as a prepared one and this
     * session runs none, so the difference of two readings counts the statements that reached the database, and
     * how many of them had to be prepared first (a prepared-statement cache miss).
     */
    public Map<String, Long> preparedStatementCounters() throws SQLException {
      Map<String, Long> counters = new HashMap<>();
      try (Statement statement = connection.createStatement();
           ResultSet rs = statement.executeQuery(
             "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_stmt_execute', 'Com_stmt_prepare')")) {
        while (rs.next()) {
          counters.put(rs.getString(1), Long.parseLong(rs.getString(2)));
        }
      }
      return counters;
    }

    @Override
    public void close() {
      DbCheck.closeQuietly(connection);
    }
  }
}
