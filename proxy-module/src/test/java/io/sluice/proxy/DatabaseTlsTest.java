package io.sluice.proxy;

import io.sluice.config.JsonSection;
import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.db.DatabaseSetup;
import io.sluice.proxy.db.EmbeddedDatabase;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestCerts;
import io.sluice.proxy.testing.TestConfigs;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code db.tls} against a second embedded MariaDB that has a certificate of a CA this test makes and refuses every
 * TCP connection without TLS ({@code require_secure_transport=ON}): anything that reaches it went over TLS. The
 * proxy is driven through its event-bus contract; Flyway through {@link DatabaseSetup#migrate}, as at a start.
 */
class DatabaseTlsTest {

  private static Path dir;
  private static TestCerts ca;
  private static TestCerts otherCa;
  private static EmbeddedDatabase server;

  private Vertx vertx;

  @BeforeAll
  static void startServerWithCertificate() throws Exception {
    Path target = Path.of("target").toAbsolutePath();
    Files.createDirectories(target);
    dir = Files.createTempDirectory(target, "db-tls-");
    ca = TestCerts.authority(dir, "db");
    otherCa = TestCerts.authority(dir, "other");
    Path[] keyAndCert = ca.node("mariadb");
    server = EmbeddedDatabase.start(dir.resolve("mariadb"), 0, "sluice_tls", List.of(
      "--ssl-ca=" + ca.caPem(), "--ssl-cert=" + keyAndCert[1], "--ssl-key=" + keyAndCert[0],
      "--require-secure-transport=ON"));
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() {
    vertx.close().await();
  }

  /** The TLS server's settings with {@code tls} as the {@code db.tls} section. */
  private static DbSettings settings(String host, JsonObject tls) {
    JsonObject db = new JsonObject().put("host", host).put("port", server.port()).put("database", server.database())
      .put("user", server.user()).put("password", server.password()).put("tls", tls);
    return DbSettings.from(JsonSection.at("db", db));
  }

  private static JsonObject tls(String mode, Path caPath) {
    return new JsonObject().put("mode", mode).put("caPath", caPath == null ? "" : caPath.toString());
  }

  private Future<String> deployProxy(DbSettings db) {
    JsonObject config = TestConfigs.singleShard(new JsonObject().put("db", db.toJson())
      .put("faults", new JsonObject().put("dbLatency", new JsonObject().put("enabled", false))));
    return vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config));
  }

  /** The failure {@code future} ends with; null when it succeeds. */
  private static Throwable failure(Future<?> future) {
    return future.<Throwable>transform(ar -> Future.succeededFuture(ar.failed() ? ar.cause() : null)).await();
  }

  @Test
  @DisplayName("verify-ca with the server's CA: Flyway migrates, the proxy serves requests, and sessions are"
    + " encrypted (JDBC and Vert.x)")
  void verifyCaWithTheServersCaWorksOverTls() throws Exception {
    DbSettings db = settings("127.0.0.1", tls("verify-ca", ca.caPem()));
    DatabaseSetup.migrate(db);
    deployProxy(db).await();

    ProxyClient proxy = new ProxyClient(vertx, 30_000);
    long id = proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "Tls").put(Fields.EMAIL,
      "tls-" + System.nanoTime() + "@example.com")).getLong(Fields.ID);
    assertEquals("Tls", proxy.call(Action.GET_USER, new JsonObject().put(Fields.USER_ID, id)).getString(Fields.NAME));

    try (Connection jdbc = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
         Statement st = jdbc.createStatement(); ResultSet rs = st.executeQuery("SHOW STATUS LIKE 'Ssl_cipher'")) {
      assertTrue(rs.next());
      assertFalse(rs.getString(2).isEmpty(), "the JDBC session has no TLS cipher");
    }
    Pool pool = MySQLBuilder.pool().with(new PoolOptions().setMaxSize(1)).with(db.toNetClientOptions())
      .connectingTo(db.toConnectOptions()).using(vertx).build();
    String cipher = pool.query("SHOW STATUS LIKE 'Ssl_cipher'").execute()
      .map(rows -> rows.iterator().next().getString(1)).eventually(pool::close).await();
    assertFalse(cipher.isEmpty(), "the Vert.x session has no TLS cipher");
  }

  @Test
  @DisplayName("verify-full checks the host name: 127.0.0.1 is in the certificate, localhost is not")
  void verifyFullChecksTheHostName() {
    deployProxy(settings("127.0.0.1", tls("verify-full", ca.caPem()))).await();
    Throwable refused = failure(deployProxy(settings("localhost", tls("verify-full", ca.caPem()))));
    assertTrue(refused != null && refused.getMessage().contains("TLS to the database"), String.valueOf(refused));
  }

  @Test
  @DisplayName("verify-ca with another CA: the start fails with a message naming TLS, without the password")
  void verifyCaWithAnotherCaFailsNamingTls() {
    DbSettings db = settings("127.0.0.1", tls("verify-ca", otherCa.caPem()));

    IllegalStateException migration = assertThrows(IllegalStateException.class, () -> DatabaseSetup.migrate(db));
    assertTrue(migration.getMessage().startsWith("TLS to the database 127.0.0.1:" + server.port() + " failed"
      + " (db.tls.mode=verify-ca, db.tls.caPath=" + otherCa.caPem() + ")"), migration.getMessage());
    assertFalse(migration.getMessage().contains(server.password()));

    Throwable proxy = failure(deployProxy(db));
    assertTrue(proxy != null && proxy.getMessage().startsWith("TLS to the database"), String.valueOf(proxy));
    assertFalse(proxy.getMessage().contains(server.password()));
  }

  @Test
  @DisplayName("disabled against a server that requires TLS: Flyway and the proxy fail at once, saying the server"
    + " accepts only TLS")
  void disabledAgainstAServerRequiringTlsFails() {
    DbSettings db = settings("127.0.0.1", tls("disabled", null));
    String expected = "TLS to the database 127.0.0.1:" + server.port() + " failed (db.tls.mode=disabled): the server"
      + " accepts only connections over TLS";

    IllegalStateException migration = assertThrows(IllegalStateException.class, () -> DatabaseSetup.migrate(db));
    assertTrue(migration.getMessage().startsWith(expected), migration.getMessage());
    Throwable proxy = failure(deployProxy(db));
    assertTrue(proxy != null && proxy.getMessage().startsWith(expected), String.valueOf(proxy));
  }

  @Test
  @DisplayName("a db.tls.caPath that does not exist fails the start, naming the key and the path")
  void missingCaFileFailsTheStart() {
    Path missing = dir.resolve("no-such-ca.pem");
    IllegalStateException e = assertThrows(IllegalStateException.class,
      () -> DatabaseSetup.migrate(settings("127.0.0.1", tls("verify-ca", missing))));
    assertTrue(e.getMessage().startsWith("db.tls.caPath " + missing + " does not exist"), e.getMessage());
  }
}
