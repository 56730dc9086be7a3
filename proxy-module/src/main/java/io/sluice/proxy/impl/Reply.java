package io.sluice.proxy.impl;

import io.sluice.contract.ProxyContract;
import io.vertx.core.json.JsonObject;

/**
 * A reply body plus its cache provenance ({@code cacheStatus} null when no cache was involved); {@code replayed}
 * when it is the stored reply of an earlier request with the same idempotency key.
 */
public record Reply(JsonObject body, String cacheStatus, long ageSeconds, boolean replayed) {

  public Reply(JsonObject body, String cacheStatus, long ageSeconds) {
    this(body, cacheStatus, ageSeconds, false);
  }

  /** The age callers are shown ({@code Age}): an entry's, for a HIT or STALE answer; -1 for a miss or no cache. */
  public long shownAgeSeconds() {
    return cacheStatus != null && !ProxyContract.CACHE_MISS.equals(cacheStatus) ? ageSeconds : -1;
  }
}
