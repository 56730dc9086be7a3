package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.proxy.config.CacheSettings;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A read-through cache of one kind of reply, shared by every caller of the proxy.
 *
 * <ul>
 *   <li>Fresh (younger than the TTL): answered without touching the pool.</li>
 *   <li>Coalescing: concurrent misses for one key share one load, so they cost one statement.</li>
 *   <li>Stale-if-saturated: entries are kept {@code staleGraceSeconds} past their TTL; when the pool rejects a read
 *   (it would fail 503) such an entry answers instead.</li>
 *   <li>Writes go through {@link #put}/{@link #invalidate} before they are acknowledged, and they detach any load in
 *   flight for the key: a read that started before the write cannot store its older result afterwards, and a read
 *   that starts after the write never joins it.</li>
 * </ul>
 * Caffeine bounds the size and drops entries after TTL + grace; its maintenance runs on the calling thread.
 */
final class ReadCache<K> {

  /** What a read returned and where from. {@code status} is null when the cache is disabled. */
  record Result(JsonObject value, String status, long ageSeconds) {
  }

  private record Entry(JsonObject value, long loadedAtNanos) {
  }

  /** A load in flight; {@code detached} once a write made its result outdated. */
  private static final class Load {
    Future<JsonObject> future;
    volatile boolean detached;
  }

  private final String name;
  private final Ticker ticker;
  private volatile CacheSettings settings;
  private volatile long ttlNanos;
  private volatile long staleLimitNanos;
  private final Cache<K, Entry> entries;
  private final Map<K, Load> loads = new ConcurrentHashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder staleServes = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder coalesced = new LongAdder();

  ReadCache(String name, CacheSettings settings, Ticker ticker) {
    this.name = name;
    this.settings = settings;
    this.ticker = ticker;
    this.ttlNanos = TimeUnit.SECONDS.toNanos(settings.ttlSeconds());
    this.staleLimitNanos = TimeUnit.SECONDS.toNanos(settings.ttlSeconds() + settings.staleGraceSeconds());
    this.entries = Caffeine.newBuilder()
      .maximumSize(settings.maxEntries())
      .expireAfterWrite(Duration.ofNanos(Math.max(staleLimitNanos, 1)))
      .ticker(ticker)
      .executor(Runnable::run)
      .<K, Entry>evictionListener((key, entry, cause) -> evictions.increment())
      .build();
  }

  Future<Result> get(K key, Supplier<Future<JsonObject>> loader) {
    if (!settings.enabled()) {
      return loader.get().map(value -> new Result(value, null, -1));
    }
    long now = ticker.read();
    Entry entry = entries.getIfPresent(key);
    if (entry != null && now - entry.loadedAtNanos < ttlNanos) {
      hits.increment();
      return Future.succeededFuture(new Result(entry.value, ProxyContract.CACHE_HIT, ageSeconds(entry, now)));
    }
    Load load = loads.get(key);
    boolean joined = load != null;
    if (joined) {
      coalesced.increment();
    } else {
      misses.increment();
      load = startLoad(key, loader);
    }
    return load.future
      .map(value -> new Result(value, ProxyContract.CACHE_MISS, 0))
      .recover(err -> joined && ranOutOfTime(err)
        // The shared load ran out of *its starter's* time: this caller has its own deadline, so load again (once;
        // joiners of the same failed load share the new one).
        ? load(key, loader).recover(again -> staleOr(key, again))
        : staleOr(key, err));
  }

  /** A load for {@code key}: the one in flight, or a new one. */
  private Future<Result> load(K key, Supplier<Future<JsonObject>> loader) {
    Load load = loads.get(key);
    if (load != null) {
      coalesced.increment();
    } else {
      misses.increment();
      load = startLoad(key, loader);
    }
    return load.future.map(value -> new Result(value, ProxyContract.CACHE_MISS, 0));
  }

  /** A 504, or a 503 that came from the starter's deadline rather than from the pool being full. */
  private static boolean ranOutOfTime(Throwable err) {
    return err instanceof ProxyFailure failure && (failure.code() == FailureCode.STATEMENT_TIMEOUT
      || failure.rejection() != null && failure.rejection().ownDeadline());
  }

  private Load startLoad(K key, Supplier<Future<JsonObject>> loader) {
    Load load = new Load();
    loads.put(key, load);
    load.future = loader.get().andThen(ar -> {
      loads.remove(key, load);
      if (ar.succeeded() && !load.detached) {
        entries.put(key, new Entry(ar.result(), ticker.read()));
      }
    });
    return load;
  }

  private Future<Result> staleOr(K key, Throwable err) {
    if (err instanceof ProxyFailure failure && failure.code() == FailureCode.POOL_SATURATED) {
      long now = ticker.read();
      Entry entry = entries.getIfPresent(key);
      if (entry != null && now - entry.loadedAtNanos < staleLimitNanos) {
        staleServes.increment();
        return Future.succeededFuture(new Result(entry.value, ProxyContract.CACHE_STALE, ageSeconds(entry, now)));
      }
    }
    return Future.failedFuture(err);
  }

  /**
   * Applies new settings in place, keeping the entries (a reload must not empty the cache and stampede the pool).
   * Disabling the cache drops them.
   */
  void reconfigure(CacheSettings next) {
    this.ttlNanos = TimeUnit.SECONDS.toNanos(next.ttlSeconds());
    this.staleLimitNanos = TimeUnit.SECONDS.toNanos(next.ttlSeconds() + next.staleGraceSeconds());
    this.settings = next;
    entries.policy().expireAfterWrite().ifPresent(p -> p.setExpiresAfter(Duration.ofNanos(Math.max(staleLimitNanos,
      1))));
    entries.policy().eviction().ifPresent(p -> p.setMaximum(next.maxEntries()));
    if (!next.enabled()) {
      invalidate(key -> true);
    }
  }

  /** Stores the value a write just committed. */
  void put(K key, JsonObject value) {
    if (settings.enabled()) {
      detach(key::equals);
      entries.put(key, new Entry(value, ticker.read()));
    }
  }

  /** Drops every entry (and load in flight) whose key matches, after a write that changed them. */
  void invalidate(Predicate<K> affected) {
    detach(affected);
    entries.asMap().keySet().removeIf(affected);
  }

  private void detach(Predicate<K> affected) {
    loads.entrySet().removeIf(e -> {
      if (affected.test(e.getKey())) {
        e.getValue().detached = true;
        return true;
      }
      return false;
    });
  }

  private static long ageSeconds(Entry entry, long now) {
    return TimeUnit.NANOSECONDS.toSeconds(now - entry.loadedAtNanos);
  }

  JsonObject stats() {
    return new JsonObject()
      .put("enabled", settings.enabled())
      .put("size", entries.estimatedSize())
      .put("hits", hits.sum())
      .put("misses", misses.sum())
      .put("staleServes", staleServes.sum())
      .put("evictions", evictions.sum())
      .put("coalescedWaits", coalesced.sum());
  }

  void bind(ProxyMetrics metrics) {
    metrics.counter("sluice.cache.hits", "Reads answered by a fresh entry", hits, LongAdder::sum, "cache", name);
    metrics.counter("sluice.cache.misses", "Reads that went to the database", misses, LongAdder::sum, "cache", name);
    metrics.counter("sluice.cache.stale.serves", "Reads answered by an expired entry because the pool was saturated",
      staleServes, LongAdder::sum, "cache", name);
    metrics.counter("sluice.cache.evictions", "Entries evicted (size or age)", evictions, LongAdder::sum, "cache",
      name);
    metrics.counter("sluice.cache.coalesced.waits", "Misses that joined a load in flight for the same key", coalesced,
      LongAdder::sum, "cache", name);
    metrics.gauge("sluice.cache.size", "Entries held", entries, Cache::estimatedSize, "cache", name);
  }
}
