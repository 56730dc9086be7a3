package io.sluice.config;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Declaring keys live or restart-only, and what the declarations derive. */
class SchemaTest {

  private static final Schema POOL = Schema.of().live("maxSize");
  private static final Schema DB = Schema.of().live("timeoutMs").restartOnly("host", "password")
    .section("pool", POOL);
  private static final Schema ROOT = Schema.of().section("db", DB).section("admin", Schema.of().restartOnly("token"));

  private static JsonObject config(String host, long timeoutMs, int maxSize, String token) {
    return new JsonObject()
      .put("db", new JsonObject().put("host", host).put("password", "pw").put("timeoutMs", timeoutMs)
        .put("pool", new JsonObject().put("maxSize", maxSize)))
      .put("admin", new JsonObject().put("token", token));
  }

  @Test
  @DisplayName("a dotted path is live only when its leaf is declared live; sections and unknown paths are not")
  void liveness() {
    assertTrue(ROOT.isLive("db.timeoutMs"));
    assertTrue(ROOT.isLive("db.pool.maxSize"));
    assertFalse(ROOT.isLive("db.host"));
    assertFalse(ROOT.isLive("admin.token"));
    assertFalse(ROOT.isLive("db.pool"));
    assertFalse(ROOT.isLive("db.typo"));
    assertFalse(ROOT.isLive("nowhere.maxSize"));
  }

  @Test
  void keysAndLeafPaths() {
    assertEquals(Set.of("timeoutMs", "host", "password", "pool"), DB.keys());
    assertEquals(Set.of("db.timeoutMs", "db.host", "db.password", "db.pool.maxSize", "admin.token"),
      ROOT.leafPaths());
  }

  @Test
  @DisplayName("liveOnly keeps the live keys in their shape; restartOnlyPart the others")
  void parts() {
    JsonObject config = config("h", 5, 3, "t").put("undeclared", 1);
    assertEquals(new JsonObject().put("db", new JsonObject().put("timeoutMs", 5L)
      .put("pool", new JsonObject().put("maxSize", 3))), ROOT.liveOnly(config));
    assertEquals(new JsonObject().put("db", new JsonObject().put("host", "h").put("password", "pw"))
      .put("admin", new JsonObject().put("token", "t")), ROOT.restartOnlyPart(config));
  }

  @Test
  @DisplayName("keepRestartOnly takes the live keys from the next config and the restart-only ones from the running")
  void keepRestartOnly() {
    JsonObject adopted = ROOT.keepRestartOnly(config("old", 1, 2, "old-token"), config("new", 10, 20, "new-token"));
    assertEquals(config("old", 10, 20, "old-token"), adopted);
    JsonObject fromNothing = ROOT.keepRestartOnly(null, config("new", 10, 20, "t"));
    assertFalse(fromNothing.getJsonObject("db").containsKey("host"), "absent in the running config: absent");
  }

  @Test
  void aKeyDeclaredTwiceIsAnError() {
    assertThrows(IllegalArgumentException.class, () -> Schema.of().live("a").restartOnly("a"));
    assertThrows(IllegalArgumentException.class, () -> Schema.of().live("a", "a"));
    assertThrows(IllegalArgumentException.class, () -> Schema.of().live("a").section("a", POOL));
    assertThrows(IllegalArgumentException.class, () -> Schema.of().live("a.b"));
  }

  @Test
  @DisplayName("a section holding a key its schema does not declare fails, naming the full path and the known keys")
  void unknownKeysAreRejected() {
    JsonSection db = JsonSection.root(new JsonObject().put("db", new JsonObject().put("hots", "x"))).section("db");
    ConfigException e = assertThrows(ConfigException.class, () -> db.onlyKeys(DB));
    assertTrue(e.getMessage().contains("db.hots"), e.getMessage());
    assertTrue(e.getMessage().contains("[host, password, pool, timeoutMs]"), e.getMessage());
  }
}
