package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * One validated request, ready to run on a borrowed connection, with what it means to the caches: a read names the
 * cache and key its reply is kept under; a write names what it updates or invalidates. {@link CacheRegistry} acts
 * on that data; nothing switches on the action to find a cache.
 *
 * @param action      the contract action name
 * @param key         what the request is about, for log lines ({@code user_id=42}); never personal data or secrets
 * @param write       writes run in a transaction that is rolled back if the statement timeout passed first
 * @param cacheRead   for cached reads, where the reply is kept; null otherwise (always null for a write)
 * @param cacheWrites for writes, what they do to the caches once committed, in order; empty for reads
 * @param point       for a primary-key read that may share a statement with others of its kind, its id and kind;
 *                    null otherwise. {@code work} is then that read alone.
 * @param work        the statements, run on the borrowed connection (through {@link Db})
 */
record Operation(String action, String key, boolean write, CacheRead cacheRead, List<CacheWrite> cacheWrites,
                 PointRead point, Function<Db, Future<JsonObject>> work) {

  Operation {
    cacheWrites = List.copyOf(cacheWrites);
    if (write && (cacheRead != null || point != null)) {
      throw new IllegalArgumentException(action + ": a write is never answered from a cache");
    }
  }

  /** A read that always goes to the database. */
  static Operation read(String action, String key, Function<Db, Future<JsonObject>> work) {
    return new Operation(action, key, false, null, List.of(), null, work);
  }

  /**
   * A read answered from cache {@code cache} (a name declared in {@link io.sluice.proxy.config.CachesConfig}) under
   * {@code cacheKey}, which needs value equality and must capture every parameter the reply depends on.
   */
  static Operation cachedRead(String action, String key, String cache, Object cacheKey,
                              Function<Db, Future<JsonObject>> work) {
    return new Operation(action, key, false, new CacheRead(cache, cacheKey), List.of(), null, work);
  }

  /**
   * A cached read by primary key {@code id} that {@link PointReads} may answer from one statement with other reads
   * of {@code kind}; {@code work} is the read alone. Its cache key is {@code id}.
   */
  static Operation pointRead(String action, String key, String cache, long id, PointReads.Kind kind,
                             Function<Db, Future<JsonObject>> work) {
    return new Operation(action, key, false, new CacheRead(cache, id), List.of(), new PointRead(id, kind), work);
  }

  static Operation write(String action, String key, List<CacheWrite> cacheWrites,
                         Function<Db, Future<JsonObject>> work) {
    return new Operation(action, key, true, null, cacheWrites, null, work);
  }

  /** The id and kind of a point read. */
  record PointRead(long id, PointReads.Kind kind) {
  }

  /** Where a read's reply is kept. */
  record CacheRead(String cache, Object key) {
    CacheRead {
      Objects.requireNonNull(cache);
      Objects.requireNonNull(key);
    }
  }

  /**
   * What a committed write does to one cache, applied before the write is acknowledged; either kind also detaches
   * the loads in flight for the keys it touches (see {@link ReadCache}).
   */
  sealed interface CacheWrite {
    String cache();

    /**
     * Write-through: stores the write's reply under the key {@code keyOf} derives from it, as the reply of the
     * cached read. Invariant: the write's reply is exactly what that read would return. Use it for a key that only
     * the reply knows (a new row's id): a write of unknown outcome cannot have changed an entry under that key.
     */
    static CacheWrite put(String cache, Function<JsonObject, Object> keyOf) {
      return new Put(cache, keyOf, null);
    }

    /**
     * As {@link #put(String, Function)} for a key the request already names ({@code key}): a write whose outcome
     * is unknown (it may have committed) drops that entry instead, so no read is answered from the old value.
     */
    static CacheWrite put(String cache, Object key) {
      return new Put(cache, reply -> key, key);
    }

    /**
     * Drops the entries whose key is a {@link ReadCache.Grouped} of {@code group} (every cached list of one user),
     * through the cache's group index: the work is that group's entries, never the whole cache.
     */
    static CacheWrite invalidate(String cache, Object group) {
      return new Invalidate(cache, Objects.requireNonNull(group));
    }

    /** @param requestKey the key when the request names it, or null when only the reply knows it */
    record Put(String cache, Function<JsonObject, Object> keyOf, Object requestKey) implements CacheWrite {
    }

    record Invalidate(String cache, Object group) implements CacheWrite {
    }
  }
}
