package io.sluice.bench.peer;

import io.sluice.config.JsonSection;
import io.sluice.proxy.config.DbSettings;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What a peer program is told on its command line by the bench: where to listen, which database, its pool, and the
 * optional cache and injected latency. The database password comes from the environment ({@link #PASSWORD_ENV}), so
 * that it shows in no process list.
 *
 * @param port         HTTP port on 127.0.0.1
 * @param poolMaxSize  connections in all (the direct peer splits them over its verticles)
 * @param cacheTtlSeconds 0: no cache (every request runs the statement)
 * @param latencyMinMs  -1: no injected latency; else {@code DO SLEEP} uniform in [min, max] ms before each statement
 * @param instances    the direct peer's verticles (0: one per available processor); the blocking peer's threads
 */
public record PeerConfig(int port, DbSettings db, int poolMaxSize, int poolMinIdle, long cacheTtlSeconds,
                         long cacheMaxEntries, long latencyMinMs, long latencyMaxMs, int instances) {

  /** The environment variable holding the database password; never an argument. */
  public static final String PASSWORD_ENV = "SLUICE_PEER_DB_PASSWORD";

  /** The injected latency, exactly as the proxy's fault injection issues it (its {@code Sql.INJECTED_LATENCY}). */
  static final String INJECTED_LATENCY = "DO SLEEP(?)";

  /**
   * {@code PUT /users/{id}/settings}, exactly as the proxy issues it (its {@code Sql.UPSERT_SETTINGS}, which
   * {@code ProxyStatements} does not republish; {@code PeerConfigTest} holds the two equal). Parameters: the user id,
   * the settings JSON, the UTC time. Fails with a foreign-key error (1452) when the user does not exist.
   */
  public static final String UPSERT_SETTINGS = "INSERT INTO user_settings (user_id, settings, updated_at)"
    + " VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE settings = VALUES(settings), updated_at = VALUES(updated_at)";

  /** Both peers' budget for a settings write, as Sluice's default request deadline (http.requestTimeoutMs). */
  static final long WRITE_TIMEOUT_MS = 2000;

  /** MariaDB's and MySQL's "cannot add or update a child row": the user does not exist. */
  static final int FOREIGN_KEY_ERROR = 1452;

  private static final Set<String> KEYS = Set.of("--port", "--db-host", "--db-port", "--db-database", "--db-user",
    "--pool-max-size", "--pool-min-idle", "--cache-ttl-seconds", "--cache-max-entries", "--latency-ms", "--instances");

  /** Parses {@code --name value} pairs; anything unknown or malformed is an IllegalArgumentException naming it. */
  public static PeerConfig parse(String[] args, Map<String, String> env) {
    Map<String, String> given = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!KEYS.contains(args[i]) || i + 1 >= args.length) {
        throw new IllegalArgumentException("unknown argument or missing value: " + args[i]);
      }
      given.put(args[i], args[i + 1]);
    }
    JsonObject db = new JsonObject().put("host", given.getOrDefault("--db-host", "127.0.0.1"))
      .put("port", Integer.parseInt(given.getOrDefault("--db-port", String.valueOf(DbSettings.DEFAULT_PORT))))
      .put("database", given.getOrDefault("--db-database", DbSettings.DEFAULT_DATABASE))
      .put("user", given.getOrDefault("--db-user", DbSettings.DEFAULT_USER))
      .put("password", env.getOrDefault(PASSWORD_ENV, ""));
    long min = -1;
    long max = -1;
    String latency = given.get("--latency-ms");
    if (latency != null) {
      String[] range = latency.split("-");
      min = Long.parseLong(range[0].trim());
      max = Long.parseLong(range[range.length - 1].trim());
      if (min < 0 || max < min) {
        throw new IllegalArgumentException("--latency-ms must be MIN-MAX with 0 <= MIN <= MAX, got " + latency);
      }
    }
    return new PeerConfig(Integer.parseInt(required(given, "--port")),
      DbSettings.from(JsonSection.root(new JsonObject().put("db", db)).section("db")),
      Integer.parseInt(given.getOrDefault("--pool-max-size", "70")),
      Integer.parseInt(given.getOrDefault("--pool-min-idle", "0")),
      Long.parseLong(given.getOrDefault("--cache-ttl-seconds", "0")),
      Long.parseLong(given.getOrDefault("--cache-max-entries", "10000")),
      min, max, Integer.parseInt(given.getOrDefault("--instances", "0")));
  }

  /** The arguments that {@link #parse} reads back (the password excepted: see {@link #PASSWORD_ENV}). */
  public List<String> toArgs() {
    List<String> args = new ArrayList<>(List.of("--port", String.valueOf(port), "--db-host", db.host(),
      "--db-port", String.valueOf(db.port()), "--db-database", db.database(), "--db-user", db.user(),
      "--pool-max-size", String.valueOf(poolMaxSize), "--pool-min-idle", String.valueOf(poolMinIdle),
      "--cache-ttl-seconds", String.valueOf(cacheTtlSeconds), "--cache-max-entries", String.valueOf(cacheMaxEntries),
      "--instances", String.valueOf(instances)));
    if (latencyEnabled()) {
      args.addAll(List.of("--latency-ms", latencyMinMs + "-" + latencyMaxMs));
    }
    return args;
  }

  public boolean latencyEnabled() {
    return latencyMinMs >= 0;
  }

  public boolean cacheEnabled() {
    return cacheTtlSeconds > 0;
  }

  /** The next injected latency in seconds, drawn as the proxy's fault injection draws it. */
  double nextLatencySeconds() {
    long ms = latencyMinMs == latencyMaxMs ? latencyMinMs
      : ThreadLocalRandom.current().nextLong(latencyMinMs, latencyMaxMs + 1);
    return ms / 1000.0;
  }

  private static String required(Map<String, String> given, String key) {
    String value = given.get(key);
    if (value == null) {
      throw new IllegalArgumentException(key + " is required");
    }
    return value;
  }
}
