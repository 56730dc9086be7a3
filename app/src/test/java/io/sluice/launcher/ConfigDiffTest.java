package io.sluice.launcher;

import io.sluice.api.HttpSettings;
import io.sluice.config.ConfigException;
import io.sluice.config.Secrets;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reload's decisions without a server: which changes apply live, which wait for a restart, which are refused. */
class ConfigDiffTest {

  private static final String PASSWORD = "old-db-secret";
  private static final String TOKEN = "old-admin-token";

  /** The running config: the defaults with a database server and both secrets set. */
  private static JsonObject running() {
    JsonObject config = SluiceConfig.defaults();
    config.getJsonObject("db").put("host", "db.internal").put("password", PASSWORD);
    config.getJsonObject("admin").put("token", TOKEN);
    return config;
  }

  /** A copy of {@code config} with the leaf at the dotted {@code path} set to {@code value}. */
  private static JsonObject with(JsonObject config, String path, Object value) {
    JsonObject copy = config.copy();
    String[] keys = path.split("\\.");
    JsonObject section = copy;
    for (int i = 0; i < keys.length - 1; i++) {
      section = section.getJsonObject(keys[i]);
    }
    section.put(keys[keys.length - 1], value);
    return copy;
  }

  private static Object at(JsonObject config, String path) {
    String[] keys = path.split("\\.");
    JsonObject section = config;
    for (int i = 0; i < keys.length - 1; i++) {
      section = section.getJsonObject(keys[i]);
    }
    return section.getValue(keys[keys.length - 1]);
  }

  @Test
  @DisplayName("pool, statement timeout, reserve, caches, faults and HTTP deadlines apply live, and are adopted")
  void liveChanges() {
    Map<String, Object> changes = Map.of(
      "db.pool.maxSize", 30,
      "db.pool.acquireTimeoutMs", 500,
      "db.statementTimeoutMs", 1500,
      "db.maxConnectionsReservePercent", 20,
      "cache.settings.ttlSeconds", 10,
      "faults.dbLatency.enabled", true,
      "http.requestTimeoutMs", 1000,
      "http.retryAfterSeconds", 3);
    for (Map.Entry<String, Object> change : changes.entrySet()) {
      JsonObject next = with(running(), change.getKey(), change.getValue());
      ConfigDiff diff = ConfigDiff.between(running(), next);
      assertEquals(Set.of(change.getKey()), diff.live().keySet(), change.getKey());
      assertEquals(Map.of(), diff.restartOnly(), change.getKey());
      assertEquals(next, diff.adopted(), change.getKey());
    }
  }

  @Test
  @DisplayName("server, credentials, listening address, embedded database, log format, scan period and admin token"
    + " wait for a restart: their running values stay")
  void restartOnlyChanges() {
    Map<String, Object> changes = Map.of(
      "db.host", "db2.internal",
      "db.port", 3307,
      "db.database", "other",
      "db.user", "someone",
      "http.port", 9090,
      "http.host", "127.0.0.1",
      "embedded.dataDir", "elsewhere",
      "log.format", "json",
      "reload.scanPeriodMs", 500,
      "admin.token", "new-admin-token");
    for (Map.Entry<String, Object> change : changes.entrySet()) {
      ConfigDiff diff = ConfigDiff.between(running(), with(running(), change.getKey(), change.getValue()));
      assertEquals(Set.of(change.getKey()), diff.restartOnly().keySet(), change.getKey());
      assertEquals(Map.of(), diff.live(), change.getKey());
      assertEquals(running(), diff.adopted(), change.getKey());
    }
  }

  @Test
  @DisplayName("a file changing both kinds applies the live keys and keeps the running restart-only values")
  void mixedChange() {
    JsonObject next = with(with(running(), "db.pool.maxSize", 30), "http.port", 9090);
    ConfigDiff diff = ConfigDiff.between(running(), next);
    assertEquals(Map.of("db.pool.maxSize", new ConfigDiff.Change(20, 30)), diff.live());
    assertEquals(Map.of("http.port", new ConfigDiff.Change(8080, 9090)), diff.restartOnly());
    assertEquals(30, at(diff.adopted(), "db.pool.maxSize"));
    assertEquals(8080, at(diff.adopted(), "http.port"));
    assertEquals("db.pool.maxSize 20 → 30", diff.describeLive());
    assertEquals(new JsonObject().put("key", "db.pool.maxSize").put("old", 20).put("new", 30),
      diff.liveJson().getJsonObject(0));
  }

  @Test
  @DisplayName("an invalid value, an unknown key or a wrong type anywhere rejects the whole reload, naming the key")
  void invalidConfigsAreRejected() {
    Map<String, JsonObject> invalid = Map.of(
      "db.pool.maxSize", with(with(running(), "db.pool.maxSize", -1), "http.port", 9090),
      "http.maxRequestTimeoutMs", with(running(), "http.maxRequestTimeoutMs", 1),
      "faults.dbLatency.maxMs", with(running(), "faults.dbLatency.minMs", 5000),
      "cache.users.ttlSecs", with(running(), "cache.users.ttlSecs", 5),
      "reload.scanPeriodMs", with(running(), "reload.scanPeriodMs", "often"),
      "admin.tokn", with(running(), "admin.tokn", "x"),
      "log.format", with(running(), "log.format", "xml"),
      "embedded.port", with(running(), "embedded.port", 70_000));
    invalid.forEach((key, next) -> {
      ConfigException e = assertThrows(ConfigException.class, () -> ConfigDiff.between(running(), next), key);
      assertTrue(e.getMessage().contains(key), key + ": " + e.getMessage());
    });
  }

  @Test
  @DisplayName("a changed password or token is seen (compared raw) but shown masked in the diff and its log line")
  void secretsAreRedactedInTheDiff() {
    JsonObject next = with(with(with(running(), "db.password", "new-db-secret"), "admin.token", "new-admin-token"),
      "db.pool.maxSize", 21);
    ConfigDiff diff = ConfigDiff.between(running(), next);
    assertEquals(Map.of(
        "db.password", new ConfigDiff.Change(Secrets.MASK, Secrets.MASK),
        "admin.token", new ConfigDiff.Change(Secrets.MASK, Secrets.MASK)),
      diff.restartOnly());
    String shown = diff.describeLive() + diff.liveJson().encode() + diff.restartOnly() + diff.live();
    for (String secret : new String[]{PASSWORD, TOKEN, "new-db-secret", "new-admin-token"}) {
      assertFalse(shown.contains(secret), "leaked " + secret + " in " + shown);
    }
    assertEquals(PASSWORD, at(diff.adopted(), "db.password"), "the running password stays until a restart");
    assertFalse(diff.proxyUpdate().encode().contains(PASSWORD), "the proxy is never sent the password");
  }

  @Test
  @DisplayName("the same values, even as other number types, are no change")
  void noChange() {
    JsonObject next = with(with(running(), "db.pool.maxSize", 20L), "http.requestTimeoutMs", 2000.0);
    ConfigDiff diff = ConfigDiff.between(running(), next);
    assertEquals(Map.of(), diff.live());
    assertEquals(Map.of(), diff.restartOnly());
  }

  @Test
  @DisplayName("the proxy is sent exactly the live keys of db, cache and faults")
  void proxyUpdateIsTheProxysLiveKeys() {
    JsonObject update = ConfigDiff.between(running(), with(running(), "db.pool.maxSize", 30)).proxyUpdate();
    assertEquals(Set.of("db", "cache", "faults"), update.fieldNames());
    assertEquals(Set.of("statementTimeoutMs", "killGraceMs", "maxConnectionsReservePercent", "pointReadBatch", "pool",
      "lanes"),
      update.getJsonObject("db").fieldNames());
    assertEquals(30, update.getJsonObject("db").getJsonObject("pool").getInteger("maxSize"));
    assertEquals(running().getJsonObject("cache"), update.getJsonObject("cache"));
    assertEquals(running().getJsonObject("faults"), update.getJsonObject("faults"));
  }

  @Test
  @DisplayName("the HTTP tier takes the live keys of a reloaded http section and keeps its bound host and port")
  void httpTierKeepsItsAddress() {
    HttpSettings runningHttp = HttpSettings.from(running().getJsonObject("http"));
    HttpSettings reloaded = runningHttp.reloaded(new JsonObject().put("host", "10.0.0.1").put("port", 9)
      .put("requestTimeoutMs", 700).put("maxRequestTimeoutMs", 900).put("retryAfterSeconds", 4));
    assertEquals(new HttpSettings(runningHttp.host(), runningHttp.port(), 700, 900, 4, runningHttp.idleTimeoutMs(),
      runningHttp.requestReadTimeoutMs(), runningHttp.maxHeaderSize(), runningHttp.maxInitialLineLength(),
      runningHttp.instances()), reloaded);
  }

  @Test
  @DisplayName("auth.jwt.* changes wait for a restart, and a changed HMAC secret is shown masked")
  void authKeysAreRestartOnlyAndTheSecretMasked() {
    String before = "old-hmac-secret-of-at-least-32-bytes!!";
    String after = "new-hmac-secret-of-at-least-32-bytes!!";
    JsonObject running = with(with(running(), "auth.jwt.enabled", true), "auth.jwt.hmacSecret", before);
    ConfigDiff diff = ConfigDiff.between(running, with(with(running, "auth.jwt.hmacSecret", after),
      "auth.jwt.adminScope", "ops:all"));
    assertEquals(Map.of(
        "auth.jwt.hmacSecret", new ConfigDiff.Change(Secrets.MASK, Secrets.MASK),
        "auth.jwt.adminScope", new ConfigDiff.Change("sluice:admin", "ops:all")),
      diff.restartOnly());
    assertEquals(Map.of(), diff.live());
    assertEquals(before, at(diff.adopted(), "auth.jwt.hmacSecret"), "the running secret stays until a restart");
    assertFalse(diff.restartOnly().toString().contains(after));
  }
}

