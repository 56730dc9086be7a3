package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.config.Secrets;
import io.sluice.config.ConfigException;

import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.mysqlclient.MySQLConnectOptions;

/**
 * Where the database is ({@code db}). An empty {@code host} means "no server configured": the launcher then starts
 * the embedded MariaDB and fills host and port in. The password never appears in {@link #toString()},
 * {@link #redactedJson()} or a log line.
 */
public record DbSettings(String host, int port, String database, String user, String password,
                         long statementTimeoutMs, long killGraceMs, int maxConnectionsReservePercent,
                         int pointReadBatch, PoolSettings pool, LaneSettings lanes) {

  public static final int DEFAULT_PORT = 3306;
  public static final String DEFAULT_DATABASE = "sluice";
  public static final String DEFAULT_USER = "sluice";
  public static final long DEFAULT_STATEMENT_TIMEOUT_MS = 3000;
  /**
   * How long past its deadline a statement may keep its connection: the KILL QUERY must be confirmed and the
   * statement must have ended within it, or the connection is closed at the socket and its permit freed. The same
   * bound applies to closing a pool. A healthy server confirms a kill in milliseconds.
   */
  public static final long DEFAULT_KILL_GRACE_MS = 2000;
  /** Share of the server's max_connections the proxy leaves to others (admin tools, replicas, other services). */
  public static final int DEFAULT_MAX_CONNECTIONS_RESERVE_PERCENT = 10;
  /**
   * The most primary-key reads of one kind (a user, a user's settings) answered by one statement, {@code WHERE id IN
   * (…)}: the reads that arrive in the same event-loop turn, or while their batch waits for a connection. 1 runs
   * each read alone. At most 64.
   */
  public static final int DEFAULT_POINT_READ_BATCH = 64;
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
    .restartOnly("host", "port", "database", "user", "password")
    .section("pool", PoolSettings.SCHEMA)
    .section("lanes", LaneSettings.SCHEMA);

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
      LaneSettings.from(s.section("lanes")));
  }

  /** Same value for every restart-only key of {@link #SCHEMA}: the server, database and credentials. */
  public boolean sameServer(DbSettings other) {
    return SCHEMA.restartOnlyPart(toJson()).equals(SCHEMA.restartOnlyPart(other.toJson()));
  }

  public boolean hostConfigured() {
    return !host.isEmpty();
  }

  public DbSettings withServer(String newHost, int newPort, String newUser, String newPassword) {
    return new DbSettings(newHost, newPort, database, newUser, newPassword, statementTimeoutMs, killGraceMs,
      maxConnectionsReservePercent, pointReadBatch, pool, lanes);
  }

  public DbSettings withDatabase(String newDatabase) {
    return new DbSettings(host, port, newDatabase, user, password, statementTimeoutMs, killGraceMs,
      maxConnectionsReservePercent, pointReadBatch, pool, lanes);
  }

  public MySQLConnectOptions toConnectOptions() {
    return new MySQLConnectOptions()
      .setHost(host)
      .setPort(port)
      .setDatabase(database)
      .setUser(user)
      .setPassword(password)
      .setCharset("utf8mb4")
      // Every statement is a prepared one; caching saves a round trip per request.
      .setCachePreparedStatements(true)
      .setPreparedStatementCacheMaxSize(PREPARED_STATEMENT_CACHE_SIZE);
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

  /** JDBC URL for the migration and seeding steps, which run once at startup off the event loop. */
  public String jdbcUrl() {
    return "jdbc:mariadb://" + host + ":" + port + "/" + database + "?allowPublicKeyRetrieval=true";
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
      .put("lanes", lanes.toJson());
  }

  public JsonObject redactedJson() {
    return Secrets.redact(toJson());
  }

  @Override
  public String toString() {
    return "DbSettings" + redactedJson().encode();
  }
}
