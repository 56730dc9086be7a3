package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.proxy.config.CachesConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The proxy's read caches, one {@link ReadCache} per cache declared in {@link CachesConfig}, keyed by name.
 * Operations name their cache ({@link Operation#cacheRead()}, {@link Operation#cacheWrites()}); reconfiguration,
 * metrics and stats go over every cache here without naming any.
 *
 * <p>Invariant: the set of caches is fixed at construction, since every {@link CachesConfig} holds every declared
 * cache; a reload changes their settings in place, never which caches exist. Thread-safe as {@link ReadCache} is:
 * one registry per node, used by every event loop of the node.
 */
final class CacheRegistry {

  private final Map<String, ReadCache<Object>> caches;

  CacheRegistry(CachesConfig config, Ticker ticker) {
    Map<String, ReadCache<Object>> byName = new LinkedHashMap<>();
    config.byName().forEach((name, settings) -> byName.put(name, new ReadCache<>(name, settings, ticker)));
    this.caches = Collections.unmodifiableMap(byName);
  }

  /**
   * The read's reply from its cache, or from {@code loader} (with no cache status) when it names none. Concurrent
   * misses share the first caller's load, and so its deadline; see {@link ReadCache} for what happens when that
   * load runs out of time.
   */
  Future<ReadCache.Result> read(Operation.CacheRead read, Supplier<Future<JsonObject>> loader) {
    if (read == null) {
      return loader.get().map(value -> new ReadCache.Result(value, null, -1));
    }
    ReadCache<Object> cache = caches.get(read.cache());
    if (cache == null) {
      // A bug in an Operation, reported as an internal error rather than thrown at the event-bus consumer.
      return Future.failedFuture(unknown(read.cache()));
    }
    return cache.get(read.key(), loader);
  }

  /** Brings the caches up to date with a committed write; runs before the write is acknowledged. */
  void afterWrite(List<Operation.CacheWrite> writes, JsonObject reply) {
    for (Operation.CacheWrite write : writes) {
      ReadCache<Object> cache = caches.get(write.cache());
      if (cache == null) {
        throw unknown(write.cache());
      }
      if (write instanceof Operation.CacheWrite.Put put) {
        cache.put(put.keyOf().apply(reply), reply);
      } else if (write instanceof Operation.CacheWrite.Invalidate invalidate) {
        cache.invalidateGroup(invalidate.group());
      }
    }
  }

  /**
   * For a write that may have committed, with no reply to put: its invalidations, and the entries under the keys
   * its puts name in the request (a settings write's user); a put whose key only the reply knows changed no entry.
   */
  void invalidateFor(List<Operation.CacheWrite> writes) {
    for (Operation.CacheWrite write : writes) {
      ReadCache<Object> cache = caches.get(write.cache());
      if (cache == null) {
        continue;
      }
      if (write instanceof Operation.CacheWrite.Invalidate invalidate) {
        cache.invalidateGroup(invalidate.group());
      } else if (write instanceof Operation.CacheWrite.Put put && put.requestKey() != null) {
        // The write may have committed: the entry under the key it names may be old now.
        cache.drop(put.requestKey());
      }
    }
  }

  private IllegalStateException unknown(String name) {
    return new IllegalStateException("no cache named '" + name + "'; declared: " + caches.keySet());
  }

  /** Applies each cache's new settings in place (see {@link ReadCache#reconfigure}). */
  void reconfigure(CachesConfig next) {
    caches.forEach((name, cache) -> cache.reconfigure(next.settings(name)));
  }

  /**
   * For a write seen on another proxy node: what to drop (never put) here, every entry it may have changed. A
   * put's key comes from the reply, or for a write with no reply (outcome unknown) from the request when it names
   * one, as {@link #invalidateFor} does here. Resolved before anything is dropped, so that a reply that yields no
   * valid key (a {@link ProxyFailure} from the put's {@code keyOf}) drops nothing.
   */
  List<Drop> dropsFor(List<Operation.CacheWrite> writes, JsonObject reply) {
    List<Drop> drops = new ArrayList<>(writes.size());
    for (Operation.CacheWrite write : writes) {
      ReadCache<Object> cache = caches.get(write.cache());
      if (cache == null) {
        continue;
      }
      if (write instanceof Operation.CacheWrite.Put put && (reply != null || put.requestKey() != null)) {
        drops.add(new Drop(cache, Objects.requireNonNull(reply != null ? put.keyOf().apply(reply) : put.requestKey()),
          null));
      } else if (write instanceof Operation.CacheWrite.Invalidate invalidate) {
        drops.add(new Drop(cache, null, invalidate.group()));
      }
    }
    return drops;
  }

  /** One key, or one group of keys ({@link ReadCache#invalidateGroup}), to drop from one cache; the other is null. */
  record Drop(ReadCache<Object> cache, Object key, Object group) {
    void run() {
      if (key != null) {
        cache.drop(key);
      } else {
        cache.invalidateGroup(group);
      }
    }
  }

  ReadCache<Object> cache(String name) {
    return caches.get(name);
  }

  void bind(ProxyMetrics metrics) {
    caches.values().forEach(cache -> cache.bind(metrics));
  }

  /** {@code {<name>: {enabled, size, hits, ...}}} in declaration order. */
  JsonObject stats() {
    JsonObject json = new JsonObject();
    caches.forEach((name, cache) -> json.put(name, cache.stats()));
    return json;
  }
}
