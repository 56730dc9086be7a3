package io.sluice.bench;

import io.sluice.diagnose.DbCheck;
import io.sluice.proxy.config.DbSettings;
import io.sluice.config.JsonSection;
import io.sluice.proxy.db.DatabaseSetup;
import io.sluice.proxy.db.EmbeddedDatabase;
import io.vertx.core.json.JsonObject;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;

/**
 * A database server the bench talks to directly: for the ceiling scenario, for server-side connection counts, and to
 * check (or, on an external server, create) the users the load asks for. The password appears in no
 * {@code toString} and no message.
 *
 * @param embedded true for the embedded MariaDB the service started (its own account, password in its data dir)
 */
record DbTarget(String host, int port, String database, String user, String password, boolean embedded) {

  /**
   * What the launcher uses for the embedded database in {@code dir} (its {@code <embedded.dataDir>/mariadb}): the
   * account {@link EmbeddedDatabase#USER}, database {@code sluice}, and the password the service generated there at
   * its first start (so: call this once the service is up).
   */
  static DbTarget embedded(int port, Path dir) {
    return new DbTarget("127.0.0.1", port, DbSettings.DEFAULT_DATABASE, EmbeddedDatabase.USER,
      EmbeddedDatabase.readPassword(dir), true);
  }

  /** {@code SLUICE_BENCH_DB_HOST} and friends; null when no host is given. */
  static DbTarget fromEnv(Map<String, String> env) {
    String host = env.get("SLUICE_BENCH_DB_HOST");
    if (host == null || host.isBlank()) {
      return null;
    }
    String port = env.getOrDefault("SLUICE_BENCH_DB_PORT", String.valueOf(DbSettings.DEFAULT_PORT));
    try {
      return new DbTarget(host.trim(), Integer.parseInt(port.trim()),
        env.getOrDefault("SLUICE_BENCH_DB_DATABASE", DbSettings.DEFAULT_DATABASE),
        env.getOrDefault("SLUICE_BENCH_DB_USER", DbSettings.DEFAULT_USER),
        env.getOrDefault("SLUICE_BENCH_DB_PASSWORD", ""), false);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("SLUICE_BENCH_DB_PORT must be an integer, got " + port);
    }
  }

  /** The service's own view of this server, so the ceiling connects exactly as the proxy does. */
  DbSettings settings() {
    return DbSettings.from(JsonSection.root(new JsonObject().put("db", new JsonObject().put("host", host)
      .put("port", port).put("database", database).put("user", user).put("password", password))).section("db"));
  }

  /** The diagnose check's view of this server: its password is printed nowhere either. */
  DbCheck.Target checkTarget() {
    return new DbCheck.Target(host, port, database, user, password);
  }

  /**
   * Makes sure users 1..{@code users} exist. The embedded database was seeded by the service at its first start; an
   * external one is seeded here (with the service's own seeding) when its users table is empty. Anything else is an
   * error naming what to do: the load would measure 404s.
   */
  void ensureUsers(int users) {
    try (Connection connection = DriverManager.getConnection(settings().jdbcUrl(), user, password)) {
      long present = countUsers(connection, users);
      if (present == users) {
        return;
      }
      long total = countUsers(connection, Long.MAX_VALUE);
      if (!embedded && total == 0) {
        DatabaseSetup.seedIfEmpty(settings(), users);
        if (countUsers(connection, users) == users) {
          return;
        }
      }
      throw new IllegalStateException("the database " + where() + " has " + present + " of the users 1.." + users
        + (embedded ? "; it was seeded with fewer users: delete its data directory or pick another --work-dir"
        : "; use an empty database (the bench seeds it) or one seeded with at least that many users"));
    } catch (SQLException e) {
      throw new IllegalStateException("cannot count the users in " + where() + ": " + e.getMessage(), e);
    }
  }

  private static long countUsers(Connection connection, long lastId) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(
      "SELECT COUNT(*) FROM users WHERE id BETWEEN 1 AND ?")) {
      statement.setLong(1, lastId);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  String where() {
    return host + ":" + port + "/" + database + " as " + user;
  }

  @Override
  public String toString() {
    return "DbTarget[" + where() + (embedded ? ", embedded" : "") + "]";
  }
}
