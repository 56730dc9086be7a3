package io.sluice.proxy.testing;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.db.DatabaseSetup;
import io.sluice.proxy.db.EmbeddedDatabase;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.mysql.MySQLContainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The one real database of a test run (one per test JVM), migrated once. Which one:
 * <ol>
 *   <li>an external MySQL 8 / MariaDB when {@code SLUICE_TEST_DB_HOST} is set (with {@code SLUICE_TEST_DB_PORT},
 *   {@code _USER}, {@code _PASSWORD}, {@code _DATABASE}; defaults 3306, root, empty, sluice_test);</li>
 *   <li>otherwise Testcontainers MySQL 8.4 when a Docker engine is reachable;</li>
 *   <li>otherwise an embedded MariaDB, in a fresh directory under {@code target/}.</li>
 * </ol>
 * {@code SLUICE_TEST_DB=embedded|testcontainers|external} forces one.
 */
public final class TestDatabase {

  private static final Logger log = LoggerFactory.getLogger(TestDatabase.class);

  private static DbSettings settings;
  /** The embedded server when the ladder ended there, for {@link #admin()}; null otherwise. */
  private static EmbeddedDatabase embedded;

  private TestDatabase() {
  }

  /** Connection settings of the test database, with the default pool settings. */
  public static synchronized DbSettings settings() {
    if (settings == null) {
      settings = start();
      DatabaseSetup.migrate(settings);
    }
    return settings;
  }

  /**
   * A JDBC connection with server-wide privileges, for a test that must act on the server itself (block commits):
   * root through the embedded server's socket, or the configured user of an external or Testcontainers server.
   */
  public static synchronized java.sql.Connection admin() throws java.sql.SQLException {
    DbSettings db = settings();
    if (embedded != null) {
      return java.sql.DriverManager.getConnection("jdbc:mariadb://localhost/?localSocket=" + embedded.socket()
        + "&user=" + System.getProperty("user.name"));
    }
    return java.sql.DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
  }

  private static DbSettings start() {
    DbSettings defaults = ProxyConfig.defaults().db();
    // MySQL 8's root uses caching_sha2_password: JDBC without TLS then needs the server's RSA key. Acceptable for a
    // test server on this machine or a throwaway container, never the default (see db.allowPublicKeyRetrieval).
    DbSettings keyRetrieving = ProxyConfig.from(new JsonObject().put("db",
      new JsonObject().put("allowPublicKeyRetrieval", true))).db();
    String mode = env("SLUICE_TEST_DB", "auto");
    String host = env("SLUICE_TEST_DB_HOST", "");
    if (mode.equals("external") || (mode.equals("auto") && !host.isEmpty())) {
      log.info("Test database: external server {}", host);
      return keyRetrieving.withServer(host, Integer.parseInt(env("SLUICE_TEST_DB_PORT", "3306")),
        env("SLUICE_TEST_DB_USER", "root"), env("SLUICE_TEST_DB_PASSWORD", ""))
        .withDatabase(env("SLUICE_TEST_DB_DATABASE", "sluice_test"));
    }
    if (mode.equals("testcontainers") || (mode.equals("auto") && dockerLikelyAvailable()
      && DockerClientFactory.instance().isDockerAvailable())) {
      MySQLContainer mysql = new MySQLContainer("mysql:8.4").withDatabaseName("sluice_test");
      mysql.start();
      Runtime.getRuntime().addShutdownHook(new Thread(mysql::stop));
      log.info("Test database: Testcontainers MySQL 8.4 on port {}", mysql.getFirstMappedPort());
      return keyRetrieving.withServer(mysql.getHost(), mysql.getMappedPort(3306), "root", mysql.getPassword())
        .withDatabase("sluice_test");
    }
    try {
      Path target = Paths.get("target");
      Files.createDirectories(target);
      Path dir = Files.createTempDirectory(target.toAbsolutePath(), "embedded-mariadb-");
      EmbeddedDatabase db = EmbeddedDatabase.start(dir, 0, "sluice_test");
      embedded = db;
      Runtime.getRuntime().addShutdownHook(new Thread(db::close));
      log.info("Test database: embedded MariaDB on port {}", db.port());
      return defaults.withServer("127.0.0.1", db.port(), db.user(), db.password()).withDatabase("sluice_test");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Avoids Testcontainers' slow probing on machines that plainly have no Docker engine. */
  private static boolean dockerLikelyAvailable() {
    return System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"))
      || Files.exists(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"))
      || Files.exists(Path.of(System.getProperty("user.home"), ".testcontainers.properties"));
  }

  private static String env(String name, String defaultValue) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? defaultValue : value;
  }
}
