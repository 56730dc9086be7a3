package io.sluice.launcher;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

/**
 * The {@code embedded} section: the MariaDB the launcher starts when {@code db.host} is empty.
 *
 * @param dataDir   where its binaries and data live; data persist across restarts
 * @param port      its port on 127.0.0.1, 0 for a free one
 * @param seedUsers demo users inserted when the database has no user yet
 */
public record EmbeddedSettings(String dataDir, int port, int seedUsers) {

  public static final String DEFAULT_DATA_DIR = "data";
  public static final int DEFAULT_SEED_USERS = 100;

  /** The embedded server is started once, before anything else. */
  public static final Schema SCHEMA = Schema.of().restartOnly("dataDir", "port", "seedUsers");

  public static EmbeddedSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new EmbeddedSettings(
      s.string("dataDir", DEFAULT_DATA_DIR),
      s.integer("port", 0, 0, 65_535),
      s.integer("seedUsers", DEFAULT_SEED_USERS, 0, 10_000_000));
  }

  public static EmbeddedSettings defaults() {
    return from(JsonSection.at("embedded", null));
  }

  public JsonObject toJson() {
    return new JsonObject().put("dataDir", dataDir).put("port", port).put("seedUsers", seedUsers);
  }
}
