package io.sluice.diagnose;

import io.sluice.config.DbTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A read-only snapshot of the database server: version, connection limit and usage, and a summary of
 * {@code SHOW FULL PROCESSLIST}. It is read through one JDBC connection of the command's own, which the summary
 * leaves out so that the diagnosis does not count itself. Without the PROCESS privilege the server lists only the
 * check user's own sessions.
 *
 * <p>Public API: {@link #connect} opens that connection, {@link #read} takes one snapshot through it (as often as
 * wanted, from one thread at a time), {@link #closeQuietly} ends it. The connection is the caller's; it may run
 * read-only statements of its own on it too, which then show in no processlist summary.
 */
public record DbCheck(String version, long maxConnections, long threadsConnected, long maxUsedConnections,
               Processlist processlist) {

  private static final Logger log = LoggerFactory.getLogger(DbCheck.class);

  private static final String SQL_SERVER = "SELECT CONNECTION_ID(), VERSION(), @@max_connections";
  private static final String SQL_STATUS =
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Max_used_connections')";
  private static final String SQL_PROCESSLIST = "SHOW FULL PROCESSLIST";

  /** Short enough to fail fast on a wrong host, long enough for a server that is busy but alive. */
  private static final int CONNECT_TIMEOUT_MS = 5000;
  private static final int SOCKET_TIMEOUT_MS = 15_000;

  /**
   * Where to connect, and how: {@code tls} and {@code allowPublicKeyRetrieval} as the service's {@code db.tls} and
   * {@code db.allowPublicKeyRetrieval}. The password appears in no {@code toString} and no message.
   */
  public record Target(String host, int port, String database, String user, String password, DbTls tls,
                       boolean allowPublicKeyRetrieval) {

    /** Without TLS, and without asking the server for its RSA key. */
    public Target(String host, int port, String database, String user, String password) {
      this(host, port, database, user, password, DbTls.DISABLED, false);
    }

    /** {@code host:port/database as user}: what messages and reports print. */
    public String where() {
      return host + ":" + port + "/" + database + " as " + user;
    }

    @Override
    public String toString() {
      return "DbCheck.Target[" + where() + "]";
    }
  }

  /** The columns of one {@code SHOW FULL PROCESSLIST} row that the summary uses. */
  record ProcessRow(long id, String user, String command, long seconds, String state, String info) {
  }

  /**
   * The longest-running statement. {@code sqlStart} is its first {@link DbCheck#SQL_START_LENGTH} characters with every
   * quoted literal replaced by {@code ?}: enough for ops to recognise the statement, and a password in
   * {@code IDENTIFIED BY '…'} or {@code SET PASSWORD = '…'} can never reach the report.
   */
  public record LongestQuery(long id, long seconds, String user, String command, String state, String sqlStart) {
  }

  /**
   * {@code SHOW FULL PROCESSLIST} summed up, the check's own session left out: the sessions, counted by command, by
   * state and by user (largest first), and the longest-running statement (null when none runs).
   */
  public record Processlist(int connections, Map<String, Long> byCommand, Map<String, Long> byState,
                     Map<String, Long> byUser, LongestQuery longest) {

    /** Commands of sessions that run no statement of a client; their Time is idle or uptime, not a query's age. */
    private static final Set<String> NOT_QUERIES = Set.of("Sleep", "Daemon", "Binlog Dump", "Binlog Dump GTID");

    static Processlist of(List<ProcessRow> rows) {
      LongestQuery longest = rows.stream()
        .filter(r -> !NOT_QUERIES.contains(r.command()))
        .max(Comparator.comparingLong(ProcessRow::seconds))
        .map(r -> new LongestQuery(r.id(), r.seconds(), r.user(), r.command(), label(r.state()), sqlStart(r.info())))
        .orElse(null);
      return new Processlist(rows.size(), countBy(rows, ProcessRow::command), countBy(rows, r -> label(r.state())),
        countBy(rows, ProcessRow::user), longest);
    }
  }

  static final int SQL_START_LENGTH = 60;
  private static final Pattern QUOTED =
    Pattern.compile("'(?:[^'\\\\]|\\\\.|'')*+'?|\"(?:[^\"\\\\]|\\\\.|\"\")*+\"?");

  /** Opens the check's read-only connection; any failure is {@link CannotRun} with the server's one-line reason. */
  public static Connection connect(Target target) {
    Properties properties = new Properties();
    properties.setProperty("user", target.user());
    properties.setProperty("password", target.password());
    DbTls tls = target.tls();
    if (tls.mode().verifies() && !Files.isReadable(Path.of(tls.caPath()))) {
      throw new CannotRun("the CA file " + tls.caPath() + " does not exist or is not readable");
    }
    String url = "jdbc:mariadb://" + target.host() + ":" + target.port() + "/" + target.database()
      + "?" + tls.jdbcParameters(target.allowPublicKeyRetrieval())
      + "&connectTimeout=" + CONNECT_TIMEOUT_MS + "&socketTimeout=" + SOCKET_TIMEOUT_MS;
    try {
      Connection connection = DriverManager.getConnection(url, properties);
      connection.setReadOnly(true);
      return connection;
    } catch (SQLException e) {
      String how = DbTls.isTlsFailure(e) ? " over TLS (" + tls.describe() + ")" : "";
      throw new CannotRun("cannot connect to the database " + target.where() + how + ": " + describe(e));
    }
  }

  /** One snapshot through a connection from {@link #connect}. */
  public static DbCheck read(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      long ownId;
      String version;
      long maxConnections;
      try (ResultSet rs = statement.executeQuery(SQL_SERVER)) {
        rs.next();
        ownId = rs.getLong(1);
        version = rs.getString(2);
        maxConnections = rs.getLong(3);
      }
      Map<String, Long> status = status(statement);
      List<ProcessRow> rows = processlist(statement);
      rows.removeIf(r -> r.id() == ownId);
      return new DbCheck(version, maxConnections, status.getOrDefault("threads_connected", -1L),
        status.getOrDefault("max_used_connections", -1L), Processlist.of(rows));
    }
  }

  /** Closes a connection from {@link #connect}, if any; a failure to close is only logged at DEBUG. */
  public static void closeQuietly(Connection connection) {
    if (connection == null) {
      return;
    }
    try {
      connection.close();
    } catch (SQLException e) {
      log.debug("Closing the check connection failed: {}", e.getMessage());
    }
  }

  static String describe(SQLException e) {
    String reason = ClosedLoop.describe(e);
    return e.getSQLState() == null ? reason : reason + " (SQLSTATE " + e.getSQLState() + ", error "
      + e.getErrorCode() + ")";
  }

  /** Literals masked first, then cut: a literal longer than the cut can never leak through the end of the cut. */
  static String sqlStart(String info) {
    if (info == null) {
      return null;
    }
    String oneLine = QUOTED.matcher(info).replaceAll("?").replaceAll("\\s+", " ").trim();
    return oneLine.length() <= SQL_START_LENGTH ? oneLine : oneLine.substring(0, SQL_START_LENGTH) + "…";
  }

  private static Map<String, Long> status(Statement statement) throws SQLException {
    Map<String, Long> status = new HashMap<>();
    try (ResultSet rs = statement.executeQuery(SQL_STATUS)) {
      while (rs.next()) {
        status.put(rs.getString(1).toLowerCase(java.util.Locale.ROOT), Long.parseLong(rs.getString(2)));
      }
    }
    return status;
  }

  private static List<ProcessRow> processlist(Statement statement) throws SQLException {
    List<ProcessRow> rows = new ArrayList<>();
    try (ResultSet rs = statement.executeQuery(SQL_PROCESSLIST)) {
      while (rs.next()) {
        rows.add(new ProcessRow(rs.getLong("Id"), rs.getString("User"), rs.getString("Command"), rs.getLong("Time"),
          rs.getString("State"), rs.getString("Info")));
      }
    }
    return rows;
  }

  private static String label(String state) {
    return state == null || state.isBlank() ? "(none)" : state;
  }

  /** Counts, largest first, ties by name: the reader's eye goes to the top entry. */
  private static Map<String, Long> countBy(List<ProcessRow> rows, Function<ProcessRow, String> key) {
    Map<String, Long> counts = rows.stream()
      .collect(Collectors.groupingBy(r -> String.valueOf(key.apply(r)), Collectors.counting()));
    return counts.entrySet().stream()
      .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
      .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
  }
}
