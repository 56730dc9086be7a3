package io.sluice.proxy.impl;

import io.vertx.core.json.JsonObject;

/**
 * A reply body plus its cache provenance ({@code cacheStatus} null when no cache was involved); {@code replayed}
 * when it is the stored reply of an earlier request with the same idempotency key.
 */
public record Reply(JsonObject body, String cacheStatus, long ageSeconds, boolean replayed) {

  public Reply(JsonObject body, String cacheStatus, long ageSeconds) {
    this(body, cacheStatus, ageSeconds, false);
  }
}
