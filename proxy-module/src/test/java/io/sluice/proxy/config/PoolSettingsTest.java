package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code db.pool}: the queueing-delay target's default, range and that it alone needs no new pool. */
class PoolSettingsTest {

  private static PoolSettings pool(JsonObject json) {
    return PoolSettings.from(JsonSection.at("db.pool", json));
  }

  @Test
  @DisplayName("queueDelayTargetMs defaults to 50, accepts 0 (off), refuses a negative value, and round-trips")
  void queueDelayTargetDefaultAndRange() {
    assertEquals(PoolSettings.DEFAULT_QUEUE_DELAY_TARGET_MS, pool(new JsonObject()).queueDelayTargetMs());
    assertEquals(50, PoolSettings.DEFAULT_QUEUE_DELAY_TARGET_MS);
    assertEquals(0, pool(new JsonObject().put("queueDelayTargetMs", 0)).queueDelayTargetMs());
    assertThrows(RuntimeException.class, () -> pool(new JsonObject().put("queueDelayTargetMs", -1)));
    PoolSettings settings = pool(new JsonObject().put("queueDelayTargetMs", 120));
    assertEquals(settings, pool(settings.toJson()));
    assertTrue(settings.describe().contains("queueDelayTargetMs=120"));
  }

  @Test
  @DisplayName("a change of queueDelayTargetMs alone needs no new pool; a change of any other key does")
  void onlyTheDelayTargetAppliesInPlace() {
    PoolSettings running = pool(new JsonObject());
    assertFalse(pool(new JsonObject()).needsNewPool(running));
    assertFalse(pool(new JsonObject().put("queueDelayTargetMs", 0)).needsNewPool(running));
    assertTrue(pool(new JsonObject().put("maxSize", 70)).needsNewPool(running));
    assertTrue(pool(new JsonObject().put("maxSize", 70).put("queueDelayTargetMs", 0)).needsNewPool(running));
    assertTrue(pool(new JsonObject().put("maxWaitQueueSize", 10)).needsNewPool(running));
  }
}
