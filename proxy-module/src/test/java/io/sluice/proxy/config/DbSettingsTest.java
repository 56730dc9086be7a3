package io.sluice.proxy.config;

import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.mysqlclient.MySQLConnectOptions;
import io.vertx.mysqlclient.SslMode;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code db.tls} and {@code db.allowPublicKeyRetrieval}: validation, and the one mapping each for the Vert.x pools
 * and JDBC. Over a real server: {@code DatabaseTlsTest}.
 */
class DbSettingsTest {

  private static DbSettings db(JsonObject json) {
    return DbSettings.from(JsonSection.at("db", json.put("host", "db.example").put("port", 3307)));
  }

  private static JsonObject tls(String mode, String caPath) {
    return new JsonObject().put("tls", new JsonObject().put("mode", mode).put("caPath", caPath));
  }

  @Test
  @DisplayName("by default: no TLS, and JDBC never asks the server for its RSA key")
  void defaults() {
    DbSettings db = db(new JsonObject());
    assertEquals("jdbc:mariadb://db.example:3307/sluice?sslMode=disable", db.jdbcUrl());
    assertEquals(SslMode.DISABLED, db.toConnectOptions().getSslMode());
    assertNull(db.toConnectOptions().getSslOptions());
    assertFalse(db.allowPublicKeyRetrieval());
  }

  @Test
  @DisplayName("allowPublicKeyRetrieval=true reaches the JDBC URL, and only then")
  void publicKeyRetrievalOnlyWhenAskedFor() {
    assertEquals("jdbc:mariadb://db.example:3307/sluice?sslMode=disable&allowPublicKeyRetrieval=true",
      db(new JsonObject().put("allowPublicKeyRetrieval", true)).jdbcUrl());
    assertThrows(ConfigException.class, () -> db(new JsonObject().put("allowPublicKeyRetrieval", "yes")));
  }

  @Test
  @DisplayName("each mode maps onto Vert.x's SslMode and Connector/J's sslMode; the verifying ones trust caPath")
  void modesMapOntoBothClients() {
    DbSettings required = db(tls("required", ""));
    assertEquals(SslMode.REQUIRED, required.toConnectOptions().getSslMode());
    assertTrue(required.toConnectOptions().getSslOptions().isTrustAll());
    assertTrue(required.jdbcUrl().endsWith("?sslMode=trust"), required.jdbcUrl());

    DbSettings verifyCa = db(tls("verify-ca", "/etc/db/ca.pem"));
    MySQLConnectOptions options = verifyCa.toConnectOptions();
    assertEquals(SslMode.VERIFY_CA, options.getSslMode());
    assertEquals(List.of("/etc/db/ca.pem"), ((PemTrustOptions) options.getSslOptions().getTrustOptions())
      .getCertPaths());
    assertTrue(verifyCa.jdbcUrl().endsWith("?sslMode=verify-ca&serverSslCert=/etc/db/ca.pem"), verifyCa.jdbcUrl());

    DbSettings verifyFull = db(tls("VERIFY-FULL", "/etc/db/ca.pem"));
    assertEquals(SslMode.VERIFY_IDENTITY, verifyFull.toConnectOptions().getSslMode());
    assertEquals("HTTPS", verifyFull.toConnectOptions().getSslOptions().getHostnameVerificationAlgorithm());
    assertTrue(verifyFull.jdbcUrl().endsWith("?sslMode=verify-full&serverSslCert=/etc/db/ca.pem"),
      verifyFull.jdbcUrl());
  }

  @Test
  @DisplayName("a verifying mode without caPath, an unknown mode, or an unknown key fails validation, naming the key")
  void invalidTlsIsRefused() {
    ConfigException noCa = assertThrows(ConfigException.class, () -> db(tls("verify-ca", "")));
    assertTrue(noCa.getMessage().startsWith("db.tls.mode=verify-ca checks the server's certificate against a CA:"
      + " set db.tls.caPath"), noCa.getMessage());
    ConfigException mode = assertThrows(ConfigException.class, () -> db(tls("preferred", "")));
    assertEquals("db.tls.mode must be one of disabled | required | verify-ca | verify-full, got \"preferred\"",
      mode.getMessage());
    assertThrows(ConfigException.class, () -> db(tls("verify-ca", "/a&b/ca.pem")));
    assertThrows(ConfigException.class,
      () -> db(new JsonObject().put("tls", new JsonObject().put("caFile", "/etc/db/ca.pem"))));
  }

  @Test
  @DisplayName("the TLS keys are restart-only and round-trip through toJson")
  void restartOnlyAndRoundTrip() {
    DbSettings running = db(tls("verify-ca", "/etc/db/ca.pem"));
    assertEquals(running, DbSettings.from(JsonSection.at("db", running.toJson())));
    assertFalse(DbSettings.SCHEMA.isLive("tls.mode"));
    assertFalse(DbSettings.SCHEMA.isLive("tls.caPath"));
    assertFalse(DbSettings.SCHEMA.isLive("allowPublicKeyRetrieval"));
    assertFalse(db(tls("required", "")).sameServer(running));
    assertFalse(db(new JsonObject().put("allowPublicKeyRetrieval", true)).sameServer(db(new JsonObject())));
  }
}
