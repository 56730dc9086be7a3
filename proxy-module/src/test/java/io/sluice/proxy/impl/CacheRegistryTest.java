package io.sluice.proxy.impl;

import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.CachesConfig;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.impl.Operation.CacheRead;
import io.sluice.proxy.impl.Operation.CacheWrite;
import io.sluice.proxy.testing.FakeTicker;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The caches as operations name them: which cache a read or a write reaches, without a database. */
class CacheRegistryTest {

  private record ListKey(long userId, int limit) implements ReadCache.Grouped {
    @Override
    public Object group() {
      return userId;
    }
  }

  private final CacheRegistry caches = new CacheRegistry(ProxyConfig.defaults().cache(), new FakeTicker());

  private static Future<JsonObject> value(String v) {
    return Future.succeededFuture(new JsonObject().put("v", v));
  }

  private static Future<JsonObject> unexpectedLoad() {
    throw new AssertionError("the read should have been a hit");
  }

  @Test
  @DisplayName("stats list every declared cache, in declaration order, and nothing else")
  void statsListEveryDeclaredCache() {
    List<String> declared = CachesConfig.ALL.stream().map(CachesConfig.Declared::name).toList();
    assertEquals(List.of(CachesConfig.USERS, CachesConfig.SETTINGS, CachesConfig.NOTIFICATIONS), declared);
    assertEquals(declared, List.copyOf(caches.stats().fieldNames()));
  }

  @Test
  @DisplayName("a read that names no cache goes to its loader every time and carries no cache status")
  void uncachedRead() {
    assertEquals(new ReadCache.Result(new JsonObject().put("v", "a"), null, -1),
      caches.read(null, () -> value("a")).result());
    assertEquals(new ReadCache.Result(new JsonObject().put("v", "b"), null, -1),
      caches.read(null, () -> value("b")).result());
  }

  @Test
  @DisplayName("a write-through lands in the cache it names, under the key it derives from the reply")
  void putReachesTheNamedCache() {
    JsonObject reply = new JsonObject().put("id", 7L);
    caches.afterWrite(List.of(CacheWrite.put(CachesConfig.USERS, r -> r.getLong("id"))), reply);

    assertEquals(new ReadCache.Result(reply, ProxyContract.CACHE_HIT, 0),
      caches.read(new CacheRead(CachesConfig.USERS, 7L), CacheRegistryTest::unexpectedLoad).result());
    assertEquals(ProxyContract.CACHE_MISS,
      caches.read(new CacheRead(CachesConfig.SETTINGS, 7L), () -> value("s")).result().status(),
      "another cache with the same key is untouched");
  }

  @Test
  @DisplayName("an invalidation drops the keys of its group in its cache only")
  void invalidateDropsMatchingKeys() {
    CacheRead mine = new CacheRead(CachesConfig.NOTIFICATIONS, new ListKey(1, 20));
    CacheRead mineOtherLimit = new CacheRead(CachesConfig.NOTIFICATIONS, new ListKey(1, 5));
    CacheRead theirs = new CacheRead(CachesConfig.NOTIFICATIONS, new ListKey(2, 20));
    CacheRead sameIdOtherCache = new CacheRead(CachesConfig.SETTINGS, 1L);
    for (CacheRead read : List.of(mine, mineOtherLimit, theirs, sameIdOtherCache)) {
      caches.read(read, () -> value("cached"));
    }

    caches.afterWrite(List.of(CacheWrite.invalidate(CachesConfig.NOTIFICATIONS, 1L)), new JsonObject());

    assertEquals(ProxyContract.CACHE_MISS, caches.read(mine, () -> value("fresh")).result().status());
    assertEquals(ProxyContract.CACHE_MISS, caches.read(mineOtherLimit, () -> value("fresh")).result().status());
    assertEquals(ProxyContract.CACHE_HIT, caches.read(theirs, CacheRegistryTest::unexpectedLoad).result().status());
    assertEquals(ProxyContract.CACHE_HIT,
      caches.read(sameIdOtherCache, CacheRegistryTest::unexpectedLoad).result().status());
  }

  @Test
  @DisplayName("a read naming an undeclared cache fails its future (an internal error), it does not throw")
  void undeclaredCacheFailsTheRead() {
    Future<ReadCache.Result> read = caches.read(new CacheRead("nope", 1L), () -> value("x"));
    assertTrue(read.failed());
    assertInstanceOf(IllegalStateException.class, read.cause());
    assertFalse(read.cause().getMessage().isEmpty());
  }
}
