package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.proxy.config.CacheSettings;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 *   <li>Writes go through {@link #put}/{@link #drop}/{@link #invalidateGroup} before they are acknowledged, and they
 *   detach any load in flight for the key: a read that started before the write cannot store its older result
 *   afterwards, and a read that starts after the write never joins it.</li>
 * </ul>
 * Caffeine bounds the size and drops entries after TTL + grace; its maintenance runs on the calling thread.
 *
 * <p>Threads: one cache serves every event loop of the node. Reads, loads, {@link #put} and {@link #invalidate} come
 * from any of them, and from the node's cache-invalidation consumer. A miss publishes its load with
 * {@code putIfAbsent} before starting it, its future already made, so concurrent misses on any event loops share one
 * load (a hot key loads once per node), and a caller that joins from another event loop continues on its own
 * ({@link #onCallerContext}). Invariant: <em>once {@link #put} or
 * {@link #invalidate} returned, no load that was in flight when it started can store its (older) result</em>. Kept by
 * the order of both sides: a load stores its entry inside {@code entries.asMap().compute(key, ...)} only if it is
 * not detached, and leaves {@link #loads} only after that; a write marks the loads it finds detached first, then
 * writes or removes the entry (and, for each load it detached, removes that key once more). Both end on the same
 * key's lock, so either the load's compute ran first (the write then overwrites or removes its entry) or it runs
 * after and sees {@code detached}. A load the write does not find in {@link #loads} has already stored its entry,
 * which the write then sees. A load that starts after the write committed reads the new value from the database.
 *
 * <p>Groups: a key that is {@link Grouped} (a notification list: one user, several filters) is indexed under its
 * group, so that {@link #invalidateGroup} drops one user's keys in O(that user's entries and loads), never by
 * scanning the cache; a flood of invalidations cannot cost more than the entries it names. The index
 * ({@link #byGroup}) maps each group to its <em>holders</em>: every {@link Entry} in {@link #entries} and every
 * {@link Load} in flight under a key of the group, each by identity. Invariant: <em>from a load's publication until
 * its stored entry leaves the cache, its key has a holder in the index</em>. Kept by: a load is indexed after it is
 * published and before its statement starts, and unindexed only after it left {@link #loads}; its entry is indexed
 * inside the same {@code compute} that stores it, so before the load is unindexed; an entry is unindexed by the
 * removal listener, which Caffeine calls for every removal (explicit, replaced, expired, size) after it. Holders
 * are removed by identity, so a late removal of an old entry never unindexes the new entry of the same key, in
 * whatever order the two run. The index may briefly hold a holder that already left (harmless: dropping a key
 * with no entry is a no-op); it never lacks one. A load published but not yet indexed when an invalidation takes
 * its snapshot has not started its statement, so it reads what the write committed.
 */
final class ReadCache<K> {

  /** What a read returned and where from. {@code status} is null when the cache is disabled. */
  record Result(JsonObject value, String status, long ageSeconds) {
  }

  /**
   * A key whose entries are dropped together ({@link #invalidateGroup}): {@code group()} needs value equality and
   * must not change.
   */
  interface Grouped {
    Object group();
  }

  /** A class, not a record: the group index tells entries apart by identity. */
  private static final class Entry {
    final JsonObject value;
    final long loadedAtNanos;

    Entry(JsonObject value, long loadedAtNanos) {
      this.value = value;
      this.loadedAtNanos = loadedAtNanos;
    }
  }

  /**
   * A load in flight; {@code detached} once a write made its result outdated. Its future exists before the load is
   * published in {@link #loads}, so a caller on another event loop that finds it can always join it.
   */
  private static final class Load {
    final Promise<JsonObject> promise = Promise.promise();
    volatile boolean detached;
  }

  private final String name;
  private final Ticker ticker;
  private volatile CacheSettings settings;
  private volatile long ttlNanos;
  private volatile long staleLimitNanos;
  private final Cache<K, Entry> entries;
  private final Map<K, Load> loads = new ConcurrentHashMap<>();
  /**
   * Group → its holders (an {@link Entry} or a {@link Load}, by identity) → their key. Each holder map is touched
   * only inside {@code byGroup.compute*} of its group, which serializes it; nothing calls into {@link #entries}
   * or {@link #loads} from there (lock order: a key's lock in {@link #entries}, then a group's here).
   */
  private final Map<Object, Map<Object, K>> byGroup = new ConcurrentHashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder staleServes = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder coalesced = new LongAdder();
  private final LongAdder groupInvalidations = new LongAdder();
  private final LongAdder groupKeysDropped = new LongAdder();

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
      // Every removal, whatever its cause, on the thread that caused it, after it (the executor runs it in place).
      .removalListener((key, entry, cause) -> unindex(key, entry))
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
    Load fresh = new Load();
    Load load = loads.putIfAbsent(key, fresh);
    boolean joined = load != null;
    if (joined) {
      coalesced.increment();
    } else {
      misses.increment();
      load = start(key, fresh, loader);
    }
    return onCallerContext(load.promise.future())
      .map(value -> new Result(value, ProxyContract.CACHE_MISS, 0))
      .recover(err -> joined && ranOutOfTime(err)
        // The shared load ran out of *its starter's* time: this caller has its own deadline, so load again (once;
        // joiners of the same failed load share the new one).
        ? load(key, loader).recover(again -> staleOr(key, again))
        : staleOr(key, err));
  }

  /** A load for {@code key}: the one in flight, or a new one. */
  private Future<Result> load(K key, Supplier<Future<JsonObject>> loader) {
    Load fresh = new Load();
    Load load = loads.putIfAbsent(key, fresh);
    if (load != null) {
      coalesced.increment();
    } else {
      misses.increment();
      load = start(key, fresh, loader);
    }
    return onCallerContext(load.promise.future()).map(value -> new Result(value, ProxyContract.CACHE_MISS, 0));
  }

  /**
   * A load's outcome on the caller's own context: the load completes on its starter's event loop, and a caller that
   * joined it from another event loop carries on on its own.
   */
  private static Future<JsonObject> onCallerContext(Future<JsonObject> shared) {
    Context caller = Vertx.currentContext();
    if (caller == null || shared.isComplete()) {
      return shared;
    }
    Promise<JsonObject> mine = Promise.promise();
    shared.onComplete(ar -> {
      if (Vertx.currentContext() == caller) {
        mine.handle(ar);
      } else {
        caller.runOnContext(v -> mine.handle(ar));
      }
    });
    return mine.future();
  }

  /** A 504, or a 503 that came from the starter's deadline rather than from the pool being full. */
  static boolean ranOutOfTime(Throwable err) {
    return err instanceof ProxyFailure failure && (failure.code() == FailureCode.STATEMENT_TIMEOUT
      || failure.rejection() != null && failure.rejection().ownDeadline());
  }

  /** Runs the load that {@code load} (already published in {@link #loads}) stands for. */
  private Load start(K key, Load load, Supplier<Future<JsonObject>> loader) {
    // Before the statement starts (class comment: groups).
    index(key, load);
    Future<JsonObject> loaded;
    try {
      loaded = loader.get();
    } catch (RuntimeException e) {
      loaded = Future.failedFuture(e);
    }
    loaded.onComplete(ar -> {
      if (ar.succeeded()) {
        store(key, load, ar.result());
      }
      // Only now: a write that no longer finds this load in `loads` must find its entry in `entries` (class comment).
      loads.remove(key, load);
      unindex(key, load);
      load.promise.handle(ar);
    });
    return load;
  }

  /**
   * Stores a load's result unless a write detached the load. The check runs under the key's lock, the same lock
   * the write's put or remove takes, so a detach is never missed between the check and the store.
   */
  private void store(K key, Load load, JsonObject value) {
    if (load.detached) {
      return;
    }
    entries.asMap().compute(key, (k, old) -> {
      if (load.detached) {
        return old;
      }
      Entry entry = new Entry(value, ticker.read());
      index(k, entry);
      whileStoring.run();
      return entry;
    });
  }

  /**
   * Runs inside a store, under the key's lock, after the detached check: a test holds a store there to run a
   * write on another thread at exactly that point. A no-op otherwise.
   */
  volatile Runnable whileStoring = () -> { };

  /** Runs Caffeine's pending maintenance (expiry, size eviction) now: for tests. */
  void cleanUp() {
    entries.cleanUp();
  }

  /** The value of a fresh or stale entry for {@code key}, or null: for tests. */
  JsonObject peek(K key) {
    Entry entry = entries.getIfPresent(key);
    return entry == null ? null : entry.value;
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
      detachKey(key);
      entries.asMap().compute(key, (k, old) -> {
        Entry entry = new Entry(value, ticker.read());
        index(k, entry);
        return entry;
      });
    }
  }

  /** Drops the entry (and any load in flight) of one key, without scanning anything. */
  void drop(K key) {
    detachKey(key);
    entries.invalidate(key);
  }

  /**
   * Drops every entry (and load in flight) whose key is a {@link Grouped} of {@code group}, after a write that
   * changed them: O(that group's entries and loads), whatever the size of the cache. Each key goes through
   * {@link #drop}, so the class comment's invariant holds key by key.
   *
   * @return the keys dropped (for the index's tests and the stats)
   */
  int invalidateGroup(Object group) {
    List<K> keys = groupKeys(group);
    keys.forEach(this::drop);
    groupInvalidations.increment();
    groupKeysDropped.add(keys.size());
    return keys.size();
  }

  /**
   * Drops every entry (and load in flight) whose key matches. Scans the whole cache: for disabling it, not for
   * a write (a write names its keys or its group).
   */
  void invalidate(Predicate<K> affected) {
    List<K> detached = detach(affected);
    entries.asMap().keySet().removeIf(affected);
    // The scan above may pass a key whose load is storing right now on another thread; removing each detached key
    // by itself takes that key's lock after the load's compute (see the class comment).
    detached.forEach(entries::invalidate);
  }

  /** Marks the load in flight for {@code key}, if any, detached and forgets it. */
  private void detachKey(K key) {
    Load load = loads.remove(key);
    if (load != null) {
      load.detached = true;
    }
  }

  private void index(K key, Object holder) {
    if (key instanceof Grouped grouped) {
      byGroup.compute(grouped.group(), (g, holders) -> {
        Map<Object, K> map = holders == null ? new IdentityHashMap<>() : holders;
        map.put(holder, key);
        return map;
      });
    }
  }

  private void unindex(K key, Object holder) {
    if (key instanceof Grouped grouped) {
      byGroup.computeIfPresent(grouped.group(), (g, holders) -> {
        holders.remove(holder);
        return holders.isEmpty() ? null : holders;
      });
    }
  }

  /** The distinct keys that have a holder in {@code group}'s index now. */
  private List<K> groupKeys(Object group) {
    List<K> keys = new ArrayList<>();
    byGroup.computeIfPresent(group, (g, holders) -> {
      new LinkedHashSet<>(holders.values()).forEach(keys::add);
      return holders;
    });
    return keys;
  }

  /** Holders (entries and loads in flight) indexed under {@code group}: for tests. */
  int indexed(Object group) {
    AtomicInteger n = new AtomicInteger();
    byGroup.computeIfPresent(group, (g, holders) -> {
      n.set(holders.size());
      return holders;
    });
    return n.get();
  }

  /** Marks every load in flight for a matching key detached and forgets it; returns their keys. */
  private List<K> detach(Predicate<K> affected) {
    List<K> detached = new ArrayList<>();
    loads.entrySet().removeIf(e -> {
      if (affected.test(e.getKey())) {
        e.getValue().detached = true;
        detached.add(e.getKey());
        return true;
      }
      return false;
    });
    return detached;
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
      .put("coalescedWaits", coalesced.sum())
      .put("groupInvalidations", groupInvalidations.sum())
      .put("groupKeysDropped", groupKeysDropped.sum())
      .put("indexedGroups", byGroup.size());
  }

  long hits() {
    return hits.sum();
  }

  long misses() {
    return misses.sum();
  }

  long staleServes() {
    return staleServes.sum();
  }

  long evictions() {
    return evictions.sum();
  }

  long coalesced() {
    return coalesced.sum();
  }

  long size() {
    return entries.estimatedSize();
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
    metrics.counter("sluice.cache.group.invalidations", "Invalidations of one group's keys (a user's lists)",
      groupInvalidations, LongAdder::sum, "cache", name);
    metrics.counter("sluice.cache.group.keys.dropped", "Keys those invalidations dropped: the work they did",
      groupKeysDropped, LongAdder::sum, "cache", name);
    metrics.gauge("sluice.cache.size", "Entries held", entries, Cache::estimatedSize, "cache", name);
  }
}
