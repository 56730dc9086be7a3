package io.sluice.launcher;

import io.sluice.config.ConfigException;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config layering (defaults → YAML → environment) and validation. */
@ExtendWith(VertxExtension.class)
class SluiceConfigTest {

  private static Vertx vertx;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private Path yaml(String text) throws IOException {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, text);
    return file;
  }

  private JsonObject load(Path file, Map<String, String> env) {
    return SluiceConfig.load(vertx, file, true, env).await();
  }

  private String loadError(Path file, Map<String, String> env) {
    Throwable err = assertThrows(Throwable.class, () -> load(file, env));
    assertTrue(err instanceof ConfigException, "expected a ConfigException, got " + err);
    return err.getMessage();
  }

  @Test
  @DisplayName("conf/config.yaml lists every key with its built-in default (it is the ops-facing reference)")
  void shippedConfigFileListsEveryDefault() {
    ConfigRetriever fileOnly = ConfigRetriever.create(vertx, new ConfigRetrieverOptions().addStore(
      new ConfigStoreOptions().setType("file").setFormat("yaml")
        .setConfig(new JsonObject().put("path", "../conf/config.yaml"))));
    JsonObject file = fileOnly.getConfig().await();
    fileOnly.close();
    assertEquals(SluiceConfig.defaults(), SluiceConfig.validate(file));
  }

  @Test
  void fileOverridesDefaultsAndEnvironmentOverridesFileWithTypes() throws IOException {
    Path file = yaml("http:\n  port: 9000\ndb:\n  pool:\n    maxSize: 7\n");
    JsonObject config = load(file, Map.of(
      "SLUICE_DB_POOL_MAX_WAIT_QUEUE_SIZE", "12",
      "SLUICE_HTTP_PORT", "9001",
      "SLUICE_FAULTS_DB_LATENCY_ENABLED", "true",
      "SLUICE_DB_PASSWORD", "s3cret",
      "SLUICE_DB_HOST", "db.internal"));
    assertEquals(9001L, config.getJsonObject("http").getLong("port"));
    JsonObject pool = config.getJsonObject("db").getJsonObject("pool");
    assertEquals(7, pool.getInteger("maxSize"));
    assertEquals(12, pool.getInteger("maxWaitQueueSize"));
    assertEquals(2000, pool.getInteger("acquireTimeoutMs"));
    assertEquals(true, config.getJsonObject("faults").getJsonObject("dbLatency").getBoolean("enabled"));
    assertEquals("db.internal", config.getJsonObject("db").getString("host"));
    assertFalse(SluiceConfig.redacted(config).encode().contains("s3cret"));
  }

  @Test
  void envNamesSplitPathSegmentsAndCamelCaseWords() {
    assertEquals("MAX_WAIT_QUEUE_SIZE", SluiceConfig.envName("maxWaitQueueSize"));
    assertEquals("DB_LATENCY", SluiceConfig.envName("dbLatency"));
    assertEquals("PORT", SluiceConfig.envName("port"));
  }

  @Test
  void invalidValuesAreRejectedNamingTheKey() throws IOException {
    assertTrue(loadError(yaml("db:\n  pool:\n    maxSize: -1\n"), Map.of()).contains("db.pool.maxSize"));
    assertTrue(loadError(yaml("db:\n  pool:\n    maxSize: lots\n"), Map.of()).contains("db.pool.maxSize"));
    assertTrue(loadError(yaml("db:\n  pool:\n    maxSzie: 3\n"), Map.of()).contains("db.pool.maxSzie"));
    assertTrue(loadError(yaml("htp:\n  port: 1\n"), Map.of()).contains("htp"));
    assertTrue(loadError(yaml("http:\n  port: 70000\n"), Map.of()).contains("http.port"));
    assertTrue(loadError(yaml("faults:\n  dbLatency:\n    minMs: 500\n    maxMs: 100\n"), Map.of())
      .contains("faults.dbLatency.maxMs"));
    assertTrue(loadError(yaml("http: {}\n"), Map.of("SLUICE_HTTP_PORT", "eighty"))
      .contains("SLUICE_HTTP_PORT"));
    assertTrue(loadError(yaml("http: {}\n"), Map.of("SLUICE_FAULTS_DB_LATENCY_ENABLED", "yes"))
      .contains("SLUICE_FAULTS_DB_LATENCY_ENABLED"));
  }

  @Test
  void malformedYamlAndMissingExplicitFileAreRejected() throws IOException {
    assertTrue(loadError(yaml("db: [unclosed\n"), Map.of()).contains("config.yaml"));
    assertTrue(loadError(dir.resolve("absent.yaml"), Map.of()).contains("absent.yaml"));
  }

  @Test
  void absentDefaultFileMeansBuiltInDefaults() {
    JsonObject config = SluiceConfig.load(vertx, dir.resolve("none.yaml"), false, Map.of()).await();
    assertEquals(SluiceConfig.defaults(), config);
  }

  @Test
  @DisplayName("auth.jwt.* come from SLUICE_AUTH_JWT_* typed like their defaults, and the HMAC secret is redacted")
  void authKeysFromTheEnvironmentWithTheSecretRedacted() throws IOException {
    String secret = "env-secret-of-forty-bytes-0123456789abcd";
    JsonObject config = load(yaml("auth:\n  jwt:\n    issuer: https://issuer.example\n"), Map.of(
      "SLUICE_AUTH_JWT_ENABLED", "true",
      "SLUICE_AUTH_JWT_HMAC_SECRET", secret,
      "SLUICE_AUTH_JWT_AUDIENCE", "sluice-api",
      "SLUICE_AUTH_JWT_ADMIN_SCOPE", "ops:all"));
    JsonObject jwt = config.getJsonObject("auth").getJsonObject("jwt");
    assertEquals(true, jwt.getValue("enabled"));
    assertEquals(secret, jwt.getString("hmacSecret"));
    assertEquals("https://issuer.example", jwt.getString("issuer"));
    assertEquals("sluice-api", jwt.getString("audience"));
    assertEquals("ops:all", jwt.getString("adminScope"));
    assertFalse(SluiceConfig.redacted(config).encode().contains(secret));
    assertEquals("******", SluiceConfig.redacted(config).getJsonObject("auth").getJsonObject("jwt")
      .getString("hmacSecret"));
  }

  @Test
  @DisplayName("auth.jwt on with no key, both keys, or a short secret stops the start naming the keys, not the secret")
  void authValidationStopsTheStart() throws IOException {
    Path file = yaml("auth:\n  jwt:\n    enabled: true\n");
    assertTrue(loadError(file, Map.of()).contains("neither auth.jwt.hmacSecret nor auth.jwt.publicKeyPath"));
    String both = loadError(file, Map.of("SLUICE_AUTH_JWT_HMAC_SECRET", "x".repeat(40),
      "SLUICE_AUTH_JWT_PUBLIC_KEY_PATH", "issuer.pem"));
    assertTrue(both.contains("both auth.jwt.hmacSecret and auth.jwt.publicKeyPath"), both);
    String shortSecret = loadError(file, Map.of("SLUICE_AUTH_JWT_HMAC_SECRET", "too-short-secret"));
    assertTrue(shortSecret.contains("auth.jwt.hmacSecret is 16 bytes"), shortSecret);
    assertFalse(shortSecret.contains("too-short-secret"), shortSecret);
  }
}
