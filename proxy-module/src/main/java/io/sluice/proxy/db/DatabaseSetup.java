package io.sluice.proxy.db;

import io.sluice.proxy.config.DbSettings;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * Schema migrations (Flyway, scripts under {@code db/migration}) and demo data. Both block on JDBC: call them
 * before deploying the verticles or on a worker, never on an event loop.
 */
public final class DatabaseSetup {

  private static final Logger log = LoggerFactory.getLogger(DatabaseSetup.class);

  private DatabaseSetup() {
  }

  /**
   * Creates or upgrades the schema. Idempotent: an up-to-date schema is left alone. The first step of every start
   * that reaches the database, hence the check of {@code db.tls.caPath} here. A connection refused by TLS fails at
   * once, naming the TLS settings: retrying a certificate that does not verify is no use.
   */
  public static void migrate(DbSettings db) {
    db.tls().requireCaFile();
    failFastOnTls(db);
    Flyway flyway = Flyway.configure()
      .dataSource(db.jdbcUrl(), db.user(), db.password())
      .locations("classpath:db/migration")
      .connectRetries(5)
      .load();
    MigrateResult result = flyway.migrate();
    log.info("Schema of {} at version {} ({} migration(s) applied now)", db.database(),
      result.targetSchemaVersion != null ? result.targetSchemaVersion : flyway.info().current().getVersion(),
      result.migrationsExecuted);
  }

  /**
   * One connection before Flyway's, whose retries (for a server still starting) would spend half a minute on a
   * certificate that will never verify, or a server that accepts only TLS. Any other failure is left to those
   * retries.
   */
  private static void failFastOnTls(DbSettings db) {
    try (Connection probe = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
      log.debug("Database {}:{} reached ({})", db.host(), db.port(), db.tls().describe());
    } catch (SQLException e) {
      if (db.connectFailure(e) instanceof IllegalStateException tls) {
        throw tls;
      }
    }
  }

  /**
   * Inserts {@code users} demo users, each with settings and three notifications, when the users table is empty.
   *
   * @return the number of users inserted (0 when the database already held users)
   */
  public static int seedIfEmpty(DbSettings db, int users) {
    if (users <= 0) {
      return 0;
    }
    try (Connection conn = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
      try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM users")) {
        rs.next();
        if (rs.getLong(1) > 0) {
          return 0;
        }
      }
      conn.setAutoCommit(false);
      Timestamp now = Timestamp.valueOf(LocalDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MILLIS));
      try (PreparedStatement user = conn.prepareStatement(
             "INSERT INTO users (id, name, email, created_at) VALUES (?, ?, ?, ?)");
           PreparedStatement settings = conn.prepareStatement(
             "INSERT INTO user_settings (user_id, settings, updated_at) VALUES (?, ?, ?)");
           PreparedStatement notification = conn.prepareStatement(
             "INSERT INTO notifications (user_id, title, body, is_read, created_at) VALUES (?, ?, ?, ?, ?)")) {
        for (int id = 1; id <= users; id++) {
          user.setLong(1, id);
          user.setString(2, "Demo User " + id);
          user.setString(3, "user" + id + "@example.com");
          user.setTimestamp(4, now);
          user.addBatch();
          settings.setLong(1, id);
          settings.setString(2, "{\"theme\":\"light\",\"language\":\"en\",\"emailDigest\":true}");
          settings.setTimestamp(3, now);
          settings.addBatch();
          for (int n = 1; n <= 3; n++) {
            notification.setLong(1, id);
            notification.setString(2, "Welcome message " + n);
            notification.setString(3, "Demo notification " + n + " for user " + id);
            notification.setBoolean(4, n == 1);
            notification.setTimestamp(5, Timestamp.valueOf(now.toLocalDateTime().minusMinutes(n)));
            notification.addBatch();
          }
          if (id % 1000 == 0 || id == users) {
            user.executeBatch();
            settings.executeBatch();
            notification.executeBatch();
          }
        }
      }
      conn.commit();
      log.info("Seeded {} demo users (user1@example.com …) with settings and notifications", users);
      return users;
    } catch (SQLException e) {
      throw new IllegalStateException("Seeding demo data into " + db.database() + " failed: " + e.getMessage(), e);
    }
  }
}
