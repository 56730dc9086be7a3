package io.sluice.bench.peer;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.sluice.contract.Fields;
import io.sluice.proxy.ProxyStatements;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The incident's design in Java, as the bench's blocking peer: the JDK's {@code HttpServer} on a pool of
 * {@value #THREADS} threads, HikariCP (max {@code --pool-max-size}, 70 in the bench; minimumIdle
 * {@code --pool-min-idle}, 30; connection timeout {@value #CONNECTION_TIMEOUT_MS} ms) and MariaDB Connector/J, one
 * request per thread from accept to answer. It serves {@code GET /users/{id}} with Sluice's statement
 * ({@link ProxyStatements#SELECT_USER}) and JSON ({@code {"id","name","email"}}; 404 and 400 as
 * {@code {"error","message"}}). A request that waits longer than the connection timeout for a connection is
 * answered 503 {@code pool_exhausted} with {@code Retry-After: 1}, as Sluice answers a rejection.
 *
 * <p>{@code PUT /users/{id}/settings} (the slow-lane scenario's writes) runs Sluice's upsert
 * ({@link PeerConfig#UPSERT_SETTINGS}) in a transaction of its own, the statement bounded by a query timeout of
 * {@value PeerConfig#WRITE_TIMEOUT_MS} ms (Connector/J has the server stop it: {@code max_statement_time} on MariaDB)
 * and answered 504 {@code db_timeout} when it fires. The reads have no such bound. The answer is Sluice's
 * {@code {"userId","settings"}}. So a write stuck on a row lock holds its connection, and its request thread, for up
 * to 2 s after waiting up to 2 s for the connection: no lanes, one pool for everything.
 *
 * <p>Options that make it like Sluice where the bench compares them: server-side prepared statements, cached per
 * connection ({@code useServerPrepStmts}, so the database counts its statements as it counts Sluice's); with
 * {@code --cache-ttl-seconds}, a Caffeine cache of the encoded answer per id (expire after write, size-bounded), the
 * same library and TTL as Sluice's users cache; with {@code --latency-ms}, {@code DO SLEEP(x)} on the borrowed
 * connection before the statement, x drawn as Sluice's {@code faults.dbLatency} draws it. No statement deadline and
 * no admission: that is the design being compared.
 *
 * <p>Started by the bench as {@code java -Xmx… -cp <bench class path> io.sluice.bench.peer.BlockingPeer --port …}.
 */
public final class BlockingPeer {

  private static final Logger log = LoggerFactory.getLogger(BlockingPeer.class);

  /** The incident's request threads. */
  public static final int THREADS = 200;
  /** HikariCP's wait for a connection before the request gives up (→ 503). */
  static final long CONNECTION_TIMEOUT_MS = 2000;
  private static final String JSON = "application/json";
  private static final byte[] LIVE = "{\"status\":\"UP\"}".getBytes(StandardCharsets.UTF_8);
  private static final Pattern SETTINGS_PATH = Pattern.compile("/users/([^/]+)/settings");
  /** MariaDB's "max_statement_time exceeded" and the lock wait timeout: the write ran out of time on the server. */
  private static final int STATEMENT_TIMEOUT_ERROR = 1969;
  private static final int LOCK_WAIT_TIMEOUT_ERROR = 1205;

  private final PeerConfig config;
  private final HikariDataSource pool;
  private final Cache<Long, byte[]> cache;

  private BlockingPeer(PeerConfig config) {
    this.config = config;
    HikariConfig hikari = new HikariConfig();
    hikari.setPoolName("blocking-peer");
    hikari.setJdbcUrl(config.db().jdbcUrl() + "&useServerPrepStmts=true&cachePrepStmts=true");
    hikari.setUsername(config.db().user());
    hikari.setPassword(config.db().password());
    hikari.setMaximumPoolSize(config.poolMaxSize());
    hikari.setMinimumIdle(Math.min(config.poolMinIdle(), config.poolMaxSize()));
    hikari.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    this.pool = new HikariDataSource(hikari);
    this.cache = config.cacheEnabled()
      ? Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(config.cacheTtlSeconds()))
        .maximumSize(config.cacheMaxEntries()).build()
      : null;
  }

  public static void main(String[] args) throws IOException {
    PeerConfig config = PeerConfig.parse(args, System.getenv());
    BlockingPeer peer = new BlockingPeer(config);
    // TCP_NODELAY, as every production HTTP server sets it: without it the JDK server's small keep-alive responses
    // meet the client's delayed ACK and each takes about 40 ms (measured: 1.4k req/s at p50 44 ms, CPU mostly idle),
    // which would measure Nagle, not the design.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", config.port()), 1024);
    ExecutorService threads = Executors.newFixedThreadPool(THREADS);
    server.setExecutor(threads);
    server.createContext("/users/", peer::users);
    server.createContext("/health/", exchange -> respond(exchange, 200, LIVE, false));
    server.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.stop(0);
      threads.shutdown();
      peer.pool.close();
    }, "blocking-peer-stop"));
    log.info("Blocking peer listening on 127.0.0.1:{}: {} threads, HikariCP max {} / min idle {}, cache {}, injected"
        + " latency {}", config.port(), THREADS, config.poolMaxSize(), config.poolMinIdle(),
      config.cacheEnabled() ? "ttl " + config.cacheTtlSeconds() + " s" : "off",
      config.latencyEnabled() ? config.latencyMinMs() + "-" + config.latencyMaxMs() + " ms" : "off");
  }

  /** {@code /users/{id}/settings} goes to the write, anything else under {@code /users/} to the read. */
  private void users(HttpExchange exchange) throws IOException {
    Matcher settings = SETTINGS_PATH.matcher(exchange.getRequestURI().getPath());
    if (settings.matches()) {
      putSettings(exchange, id(settings.group(1)));
    } else {
      getUser(exchange);
    }
  }

  private void getUser(HttpExchange exchange) throws IOException {
    drain(exchange);
    long id = id(exchange.getRequestURI().getPath().substring("/users/".length()));
    if (id <= 0) {
      respond(exchange, 400, error("bad_request", "the id must be a positive integer"), false);
      return;
    }
    if (!"GET".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, error("method_not_allowed", "GET /users/{id} only"), false);
      return;
    }
    byte[] cached = cache == null ? null : cache.getIfPresent(id);
    if (cached != null) {
      respond(exchange, 200, cached, false);
      return;
    }
    try {
      byte[] user = select(id);
      if (user == null) {
        respond(exchange, 404, error("not_found", "no user " + id), false);
        return;
      }
      if (cache != null) {
        cache.put(id, user);
      }
      respond(exchange, 200, user, false);
    } catch (SQLTransientConnectionException e) {
      // HikariCP's connection timeout: no connection within CONNECTION_TIMEOUT_MS.
      respond(exchange, 503, error("pool_exhausted", "no database connection within " + CONNECTION_TIMEOUT_MS
        + " ms"), true);
    } catch (SQLException e) {
      log.warn("GET /users/{} failed: {}", id, e.getMessage());
      respond(exchange, 500, error("internal", "internal error"), false);
    }
  }

  private void putSettings(HttpExchange exchange, long id) throws IOException {
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readNBytes(Fields.MAX_SETTINGS_BYTES + 1);
      in.transferTo(OutputStream.nullOutputStream());
    }
    if (id <= 0) {
      respond(exchange, 400, error("bad_request", "the id must be a positive integer"), false);
      return;
    }
    if (!"PUT".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, error("method_not_allowed", "PUT /users/{id}/settings only"), false);
      return;
    }
    if (body.length > Fields.MAX_SETTINGS_BYTES) {
      respond(exchange, 413, error("payload_too_large", "at most " + Fields.MAX_SETTINGS_BYTES + " bytes"), false);
      return;
    }
    JsonObject settings;
    try {
      settings = new JsonObject(new String(body, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      respond(exchange, 400, error("bad_request", "body must be a JSON object"), false);
      return;
    }
    try {
      if (!upsertSettings(id, settings.encode())) {
        respond(exchange, 404, error("not_found", "no user " + id), false);
        return;
      }
      respond(exchange, 200, new JsonObject().put("userId", id).put("settings", settings).toBuffer().getBytes(),
        false);
    } catch (SQLTransientConnectionException e) {
      respond(exchange, 503, error("pool_exhausted", "no database connection within " + CONNECTION_TIMEOUT_MS
        + " ms"), true);
    } catch (SQLException e) {
      if (e instanceof SQLTimeoutException || e.getErrorCode() == STATEMENT_TIMEOUT_ERROR
        || e.getErrorCode() == LOCK_WAIT_TIMEOUT_ERROR) {
        respond(exchange, 504, error("db_timeout", "the write did not finish within " + PeerConfig.WRITE_TIMEOUT_MS
          + " ms"), false);
        return;
      }
      log.warn("PUT /users/{}/settings failed: {}", id, e.getMessage());
      respond(exchange, 500, error("internal", "internal error"), false);
    }
  }

  /**
   * Sluice's upsert in a transaction of its own, bounded by the query timeout; false when there is no such user. A
   * failed statement is rolled back before the connection goes back to the pool.
   */
  private boolean upsertSettings(long id, String settings) throws SQLException {
    try (Connection connection = pool.getConnection()) {
      connection.setAutoCommit(false);
      try (PreparedStatement statement = connection.prepareStatement(PeerConfig.UPSERT_SETTINGS)) {
        statement.setQueryTimeout((int) (PeerConfig.WRITE_TIMEOUT_MS / 1000));
        statement.setLong(1, id);
        statement.setString(2, settings);
        statement.setObject(3, LocalDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MILLIS));
        statement.executeUpdate();
        connection.commit();
        return true;
      } catch (SQLException e) {
        try {
          connection.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        if (e.getErrorCode() == PeerConfig.FOREIGN_KEY_ERROR) {
          return false;
        }
        throw e;
      }
    }
  }

  /** The id as given, or -1 when it is not a number (the callers refuse anything below 1). */
  private static long id(String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The user as Sluice encodes it, or null when there is no such id. */
  private byte[] select(long id) throws SQLException {
    try (Connection connection = pool.getConnection()) {
      if (config.latencyEnabled()) {
        try (PreparedStatement sleep = connection.prepareStatement(PeerConfig.INJECTED_LATENCY)) {
          sleep.setDouble(1, config.nextLatencySeconds());
          sleep.execute();
        }
      }
      try (PreparedStatement statement = connection.prepareStatement(ProxyStatements.SELECT_USER)) {
        statement.setLong(1, id);
        try (ResultSet rs = statement.executeQuery()) {
          if (!rs.next()) {
            return null;
          }
          return new JsonObject().put("id", rs.getLong("id")).put("name", rs.getString("name"))
            .put("email", rs.getString("email")).toBuffer().getBytes();
        }
      }
    }
  }

  private static byte[] error(String code, String message) {
    return new JsonObject().put("error", code).put("message", message).toBuffer().getBytes();
  }

  /** A GET has no body, but a keep-alive connection is only reused once the request is read to its end. */
  private static void drain(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      in.transferTo(OutputStream.nullOutputStream());
    }
  }

  private static void respond(HttpExchange exchange, int status, byte[] body, boolean retryAfter) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", JSON);
    if (retryAfter) {
      exchange.getResponseHeaders().set("Retry-After", "1");
    }
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
