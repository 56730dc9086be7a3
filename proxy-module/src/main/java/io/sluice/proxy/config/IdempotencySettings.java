package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

/**
 * The {@code idempotency} section: how long the proxy keeps idempotency keys and how it purges them.
 *
 * @param ttlHours         a key is honoured (replayed, or refused for a different request) this long after its
 *                         write committed; after that the same key runs as new
 * @param purgeIntervalMs  how often expired keys are deleted
 * @param purgeBatchSize   rows per DELETE: small batches keep each statement short and its locks brief
 */
public record IdempotencySettings(long ttlHours, long purgeIntervalMs, int purgeBatchSize) {

  public static final long DEFAULT_TTL_HOURS = 24;
  public static final long DEFAULT_PURGE_INTERVAL_MS = 60_000;
  public static final int DEFAULT_PURGE_BATCH_SIZE = 500;

  /** Restart-only: read once when the proxy starts. */
  public static final Schema SCHEMA = Schema.of().restartOnly("ttlHours", "purgeIntervalMs", "purgeBatchSize");

  public static IdempotencySettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new IdempotencySettings(
      s.longValue("ttlHours", DEFAULT_TTL_HOURS, 1, 24L * 365),
      s.longValue("purgeIntervalMs", DEFAULT_PURGE_INTERVAL_MS, 1000, 86_400_000),
      s.integer("purgeBatchSize", DEFAULT_PURGE_BATCH_SIZE, 1, 10_000));
  }

  public static IdempotencySettings defaults() {
    return from(JsonSection.root(new JsonObject()));
  }

  public JsonObject toJson() {
    return new JsonObject().put("ttlHours", ttlHours).put("purgeIntervalMs", purgeIntervalMs)
      .put("purgeBatchSize", purgeBatchSize);
  }
}
