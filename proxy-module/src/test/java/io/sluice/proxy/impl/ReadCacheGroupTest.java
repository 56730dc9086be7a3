package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.sluice.proxy.config.CacheSettings;
import io.sluice.proxy.testing.FakeTicker;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * {@link ReadCache}'s group index alone: no database, no event loop, a clock the test moves. The index is checked
 * through what it holds ({@link ReadCache#indexed}) and what an invalidation dropped, never by timing.
 */
class ReadCacheGroupTest {

  /** A user's list under one filter, as the notifications cache keys them. */
  private record ListKey(long userId, int limit) implements ReadCache.Grouped {
    @Override
    public Object group() {
      return userId;
    }
  }

  private static final JsonObject OLD = new JsonObject().put("v", "old");
  private static final JsonObject NEW = new JsonObject().put("v", "new");
  private static final CacheSettings ONE_MINUTE = new CacheSettings(true, 60, 10_000, 600);

  private final FakeTicker ticker = new FakeTicker();
  private final ReadCache<ListKey> cache = new ReadCache<>("test", ONE_MINUTE, ticker);

  private static ReadCache<ListKey> sized(FakeTicker ticker, int maxEntries) {
    return new ReadCache<>("test", new CacheSettings(true, 60, maxEntries, 600), ticker);
  }

  private static void fill(ReadCache<ListKey> cache, ListKey key, JsonObject value) {
    Promise<JsonObject> load = Promise.promise();
    cache.get(key, load::future);
    load.complete(value);
  }

  private static Promise<JsonObject> startLoad(ReadCache<ListKey> cache, ListKey key) {
    Promise<JsonObject> load = Promise.promise();
    cache.get(key, load::future);
    return load;
  }

  private static Future<JsonObject> unexpectedLoad() {
    throw new AssertionError("the read should have been a hit");
  }

  @Test
  @DisplayName("invalidating one user's group drops that user's lists only, and visits only their keys")
  void groupInvalidationTouchesOnlyThatGroup() {
    for (long user = 1; user <= 500; user++) {
      for (int limit : new int[] {5, 20, 100}) {
        fill(cache, new ListKey(user, limit), OLD);
      }
    }
    assertEquals(1500, cache.size());

    assertEquals(3, cache.invalidateGroup(7L), "keys the invalidation visited");

    for (int limit : new int[] {5, 20, 100}) {
      assertNull(cache.peek(new ListKey(7, limit)));
      assertNotNull(cache.peek(new ListKey(8, limit)), "another user's list stays cached");
    }
    assertEquals(1497, cache.size());
    assertEquals(0, cache.indexed(7L));
    assertEquals(3, cache.indexed(8L));
    assertEquals(499, cache.stats().getLong("indexedGroups"));
    assertEquals(1, cache.stats().getLong("groupInvalidations"));
    assertEquals(3, cache.stats().getLong("groupKeysDropped"));
    assertEquals(OLD, cache.get(new ListKey(8, 20), ReadCacheGroupTest::unexpectedLoad).result().value());
  }

  @Test
  @DisplayName("invalidating a group with nothing cached visits nothing")
  void emptyGroupVisitsNothing() {
    fill(cache, new ListKey(1, 20), OLD);
    assertEquals(0, cache.invalidateGroup(2L));
    assertNotNull(cache.peek(new ListKey(1, 20)));
  }

  @Test
  @DisplayName("a load in flight is in its group's index: invalidating the group detaches it, and it stores"
    + " nothing when it completes")
  void loadInFlightIsIndexed() {
    Promise<JsonObject> load = startLoad(cache, new ListKey(1, 20));
    assertEquals(1, cache.indexed(1L), "the load, before its statement returned");

    assertEquals(1, cache.invalidateGroup(1L));
    load.complete(OLD);

    assertNull(cache.peek(new ListKey(1, 20)), "the detached load stored its older value");
    assertEquals(0, cache.indexed(1L), "the completed load left the index");
  }

  @Test
  @DisplayName("a failed load leaves the index: nothing is left for a later invalidation to visit")
  void failedLoadLeavesTheIndex() {
    Promise<JsonObject> load = startLoad(cache, new ListKey(1, 20));
    load.fail(new ProxyFailure(FailureCode.NOT_FOUND, "user 1 not found"));
    assertEquals(0, cache.indexed(1L));
    assertEquals(0, cache.invalidateGroup(1L));
  }

  @Test
  @DisplayName("the index follows Caffeine's expiry: an expired entry leaves its group's index")
  void expiryLeavesTheIndex() {
    fill(cache, new ListKey(1, 20), OLD);
    fill(cache, new ListKey(2, 20), OLD);
    assertEquals(1, cache.indexed(1L));

    ticker.advance(Duration.ofSeconds(60 + 600 + 1));
    cache.cleanUp();

    assertEquals(0, cache.size());
    assertEquals(0, cache.indexed(1L));
    assertEquals(0, cache.stats().getLong("indexedGroups"));
  }

  @Test
  @DisplayName("the index follows Caffeine's size eviction: it holds exactly the entries that are left")
  void sizeEvictionLeavesTheIndex() {
    ReadCache<ListKey> small = sized(ticker, 10);
    for (long user = 1; user <= 100; user++) {
      fill(small, new ListKey(user, 20), OLD);
    }
    small.cleanUp();

    long indexed = 0;
    for (long user = 1; user <= 100; user++) {
      indexed += small.indexed(user);
    }
    assertEquals(small.size(), indexed);
    assertEquals(small.size(), small.stats().getLong("indexedGroups"));
  }

  @Test
  @DisplayName("an entry replaced by a reload (past its TTL) or by a write-through is indexed once, not twice")
  void replacementKeepsOneHolder() {
    ListKey key = new ListKey(1, 20);
    fill(cache, key, OLD);
    ticker.advance(Duration.ofSeconds(61));
    fill(cache, key, NEW);
    assertEquals(NEW, cache.peek(key));
    assertEquals(1, cache.indexed(1L));

    cache.put(key, OLD);
    assertEquals(1, cache.indexed(1L));

    assertEquals(1, cache.invalidateGroup(1L));
    assertNull(cache.peek(key));
  }

  @Test
  @DisplayName("an entry stored past its expiry (Caffeine evicts the old one inside the store) is still indexed")
  void storeOverAnExpiredEntryIsIndexed() {
    ListKey key = new ListKey(1, 20);
    fill(cache, key, OLD);
    ticker.advance(Duration.ofSeconds(60 + 600 + 1));
    fill(cache, key, NEW);
    cache.cleanUp();

    assertEquals(NEW, cache.peek(key));
    assertEquals(1, cache.indexed(1L));
    assertEquals(1, cache.invalidateGroup(1L));
    assertNull(cache.peek(key));
  }

  @Test
  @DisplayName("disabling the cache (the whole-cache scan) empties the index too")
  void disablingEmptiesTheIndex() {
    fill(cache, new ListKey(1, 20), OLD);
    fill(cache, new ListKey(2, 5), OLD);
    cache.reconfigure(new CacheSettings(false, 60, 10_000, 600));
    assertEquals(0, cache.stats().getLong("indexedGroups"));
  }
}
