package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.config.Secrets;
import io.sluice.config.ConfigException;
import io.sluice.config.DbTls;

import io.vertx.core.json.JsonObject;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.mysqlclient.MySQLConnectOptions;
import io.vertx.mysqlclient.MySQLException;
import io.vertx.mysqlclient.SslMode;

import java.sql.SQLException;

/**
 * Where the database is ({@code db}). An empty {@code host} means "no server configured": the launcher then starts
 * the embedded MariaDB and fills host and port in. The password never appears in {@link #toString()},
 * {@link #redactedJson()} or a log line.
 *
 * <p>{@code tls} ({@code db.tls}) and {@code allowPublicKeyRetrieval} apply to every connection to the server alike:
 * the request pool, the admin pool and readiness probe ({@link #toConnectOptions}), Flyway and seeding
 * ({@link #jdbcUrl}).
 */
public record DbSettings(String host, int port, String database, String user, String password,
                         long statementTimeoutMs, long killGraceMs, int maxConnectionsReservePercent,
                         int pointReadBatch, PoolSettings pool, LaneSettings lanes, DbTls tls,
                         boolean allowPublicKeyRetrieval) {

  public static final int DEFAULT_PORT = 3306;
  public static final String DEFAULT_DATABASE = "sluice";
  public static final String DEFAULT_USER = "sluice";
  public static final long DEFAULT_STATEMENT_TIMEOUT_MS = 3000;
  /**
   * How long past its deadline a statement may keep its connection: the KILL QUERY must be confirmed and the
   * statement must have ended within it, or the connection is closed at the socket and its permit freed. The same
   * bound applies to closing a pool. A healthy server confirms a kill in milliseconds, but MariaDB may hold one for
   * up to 2 s by design (THD::abort_current_cond_wait tries the victim's mutex 40 x 50 ms; 2.0-2.16 s measured with
   * 16 sleeping statements and a busy processlist reader), and the kills pipelined behind it wait as long: a grace of
   * exactly 2 s raced it and closed connections whose statements the kills stopped a few ms later (bench
   * kill-burst). 3 s leaves that cap plus a round trip.
   */
  public static final long DEFAULT_KILL_GRACE_MS = 3000;
  /** Share of the server's max_connections the proxy leaves to others (admin tools, replicas, other services). */
  public static final int DEFAULT_MAX_CONNECTIONS_RESERVE_PERCENT = 10;
  /**
   * The most primary-key reads of one kind (a user, a user's settings) answered by one statement, {@code WHERE id IN
   * (…)}: the reads that arrive in the same event-loop turn, or while their batch waits for a connection. 1 runs
   * each read alone. At most 64.
   */
  public static final int DEFAULT_POINT_READ_BATCH = 64;
  /**
   * Off: a JDBC client (Flyway, seeding) without TLS does not ask the server for its RSA key, which a man in the
   * middle could replace to read the password ({@code caching_sha2_password}, MySQL 8). Needed only for such an
   * account on a connection without TLS whose password the server has not cached yet; TLS is the better fix.
   */
  public static final boolean DEFAULT_ALLOW_PUBLIC_KEY_RETRIEVAL = false;
  /** MySQL's and MariaDB's "Connections using insecure transport are prohibited" (SQLSTATE 08004). */
  private static final int ER_SECURE_TRANSPORT_REQUIRED = 3159;
  /**
   * Prepared statements cached per connection. The server counts every one against its
   * {@code max_prepared_stmt_count}, so the capacity guard checks the pool against it.
   */
  public static final int PREPARED_STATEMENT_CACHE_SIZE = 64;

  /**
   * The statement timeout, the kill grace, the capacity guard's reserve and the pool apply live; the server, the database and the
   * credentials need a restart (the proxy refuses a live change of them, see {@link #sameServer}).
   */
  public static final Schema SCHEMA = Schema.of()
    .live("statementTimeoutMs", "killGraceMs", "maxConnectionsReservePercent", "pointReadBatch")
    .restartOnly("host", "port", "database", "user", "password", "allowPublicKeyRetrieval")
    .section("pool", PoolSettings.SCHEMA)
    .section("lanes", LaneSettings.SCHEMA)
    .section("tls", DbTls.SCHEMA);

  public static DbSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    String database = s.string("database", DEFAULT_DATABASE);
    if (!database.matches("[A-Za-z0-9_]{1,64}")) {
      throw new ConfigException(s.keyOf("database") + " must be 1 to 64 letters, digits or underscores, got \""
        + database + "\"");
    }
    return new DbSettings(
      s.string("host", "").trim(),
      s.integer("port", DEFAULT_PORT, 1, 65_535),
      database,
      s.string("user", DEFAULT_USER),
      s.string("password", ""),
      s.longValue("statementTimeoutMs", DEFAULT_STATEMENT_TIMEOUT_MS, 1, 3_600_000),
      s.longValue("killGraceMs", DEFAULT_KILL_GRACE_MS, 50, 60_000),
      s.integer("maxConnectionsReservePercent", DEFAULT_MAX_CONNECTIONS_RESERVE_PERCENT, 0, 90),
      s.integer("pointReadBatch", DEFAULT_POINT_READ_BATCH, 1, 64),
      PoolSettings.from(s.section("pool")),
      LaneSettings.from(s.section("lanes")),
      DbTls.from(s.section("tls")),
      s.bool("allowPublicKeyRetrieval", DEFAULT_ALLOW_PUBLIC_KEY_RETRIEVAL));
  }

  /** Same value for every restart-only key of {@link #SCHEMA}: the server, database, credentials and TLS. */
  public boolean sameServer(DbSettings other) {
    return SCHEMA.restartOnlyPart(toJson()).equals(SCHEMA.restartOnlyPart(other.toJson()));
  }

  public boolean hostConfigured() {
    return !host.isEmpty();
  }

  public DbSettings withServer(String newHost, int newPort, String newUser, String newPassword) {
    return new DbSettings(newHost, newPort, database, newUser, newPassword, statementTimeoutMs, killGraceMs,
      maxConnectionsReservePercent, pointReadBatch, pool, lanes, tls, allowPublicKeyRetrieval);
  }

  public DbSettings withDatabase(String newDatabase) {
    return new DbSettings(host, port, newDatabase, user, password, statementTimeoutMs, killGraceMs,
      maxConnectionsReservePercent, pointReadBatch, pool, lanes, tls, allowPublicKeyRetrieval);
  }

  public DbSettings withPool(PoolSettings newPool) {
    return new DbSettings(host, port, database, user, password, statementTimeoutMs, killGraceMs,
      maxConnectionsReservePercent, pointReadBatch, newPool, lanes, tls, allowPublicKeyRetrieval);
  }

  public MySQLConnectOptions toConnectOptions() {
    MySQLConnectOptions options = new MySQLConnectOptions()
      .setHost(host)
      .setPort(port)
      .setDatabase(database)
      .setUser(user)
      .setPassword(password)
      .setCharset("utf8mb4")
      // Every statement is a prepared one; caching saves a round trip per request.
      .setCachePreparedStatements(true)
      .setPreparedStatementCacheMaxSize(PREPARED_STATEMENT_CACHE_SIZE);
    return switch (tls.mode()) {
      case DISABLED -> options.setSslMode(SslMode.DISABLED);
      // Encryption only, as the mode promises: without trustAll Vert.x would check the certificate against the
      // JDK's default CAs, which a database's own CA is rarely among.
      case REQUIRED -> options.setSslMode(SslMode.REQUIRED).setSslOptions(new ClientSSLOptions().setTrustAll(true));
      case VERIFY_CA -> options.setSslMode(SslMode.VERIFY_CA).setSslOptions(trustingCa());
      // "HTTPS": the certificate's subject alternative names (or CN) must match db.host, as for a web server.
      case VERIFY_FULL -> options.setSslMode(SslMode.VERIFY_IDENTITY)
        .setSslOptions(trustingCa().setHostnameVerificationAlgorithm("HTTPS"));
    };
  }

  /**
   * {@code failure} of a connection to the server, or, when it is about TLS, a failure that says so and names the
   * TLS settings to look at, with {@code failure} as its cause: TLS refused the connection (handshake, certificate),
   * or the server accepts only TLS (MySQL error 3159, {@code require_secure_transport}). For the Vert.x pools and
   * JDBC alike. Never holds the password: neither client puts it in a message.
   */
  public Throwable connectFailure(Throwable failure) {
    String reason;
    if (DbTls.isTlsFailure(failure)) {
      Throwable root = failure;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      reason = root.getClass().getSimpleName() + ": " + root.getMessage();
    } else if (secureTransportRequired(failure)) {
      reason = "the server accepts only connections over TLS (require_secure_transport, error "
        + ER_SECURE_TRANSPORT_REQUIRED + "): set db.tls.mode";
    } else {
      return failure;
    }
    return new IllegalStateException("TLS to the database " + host + ":" + port + " failed (" + tls.describe()
      + "): " + reason, failure);
  }

  private static boolean secureTransportRequired(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      int code = t instanceof MySQLException e ? e.getErrorCode() : t instanceof SQLException e ? e.getErrorCode() : 0;
      if (code == ER_SECURE_TRANSPORT_REQUIRED) {
        return true;
      }
    }
    return false;
  }

  private ClientSSLOptions trustingCa() {
    return new ClientSSLOptions().setTrustOptions(new PemTrustOptions().addCertPath(tls.caPath()));
  }

  /**
   * Socket options of every database connection. TCP keepalive lets the OS notice a peer that vanished (power loss,
   * partition, a failover that moved the IP) under an idle or half-closed connection; how soon is the OS's setting
   * ({@code net.ipv4.tcp_keepalive_time}, 7200 s by default on Linux; Vert.x 5.0 cannot set it per socket). It is a
   * backstop: requests do not wait for it, {@link #killGraceMs} bounds them.
   */
  public NetClientOptions toNetClientOptions() {
    return new NetClientOptions().setTcpKeepAlive(true);
  }

  /**
   * JDBC URL for the migration and seeding steps, which run once at startup off the event loop; with its TLS
   * parameters ({@link DbTls#jdbcParameters}), so it always has a query part that more {@code &name=value} may
   * follow.
   */
  public String jdbcUrl() {
    return "jdbc:mariadb://" + host + ":" + port + "/" + database + "?" + tls.jdbcParameters(allowPublicKeyRetrieval);
  }

  public JsonObject toJson() {
    return new JsonObject()
      .put("host", host)
      .put("port", port)
      .put("database", database)
      .put("user", user)
      .put("password", password)
      .put("statementTimeoutMs", statementTimeoutMs)
      .put("killGraceMs", killGraceMs)
      .put("maxConnectionsReservePercent", maxConnectionsReservePercent)
      .put("pointReadBatch", pointReadBatch)
      .put("pool", pool.toJson())
      .put("lanes", lanes.toJson())
      .put("tls", new JsonObject().put("mode", tls.mode().key()).put("caPath", tls.caPath()))
      .put("allowPublicKeyRetrieval", allowPublicKeyRetrieval);
  }

  public JsonObject redactedJson() {
    return Secrets.redact(toJson());
  }

  @Override
  public String toString() {
    return "DbSettings" + redactedJson().encode();
  }
}
