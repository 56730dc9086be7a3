package io.sluice.proxy.impl;

import io.sluice.proxy.config.CacheSettings;
import io.sluice.proxy.testing.FakeTicker;
import io.sluice.proxy.testing.Poll;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ReadCache} written from two threads, as a node's shards do: a load completed by hand on one thread, a
 * write (another shard's) on a second. Each interleaving is forced with latches (the load is held inside its store,
 * under the key's lock), never by timing, and the invariant checked is the class comment's: once the write
 * returned, the load in flight when it started has not stored its older value.
 */
class ReadCacheRaceTest {

  private static final JsonObject OLD = new JsonObject().put("v", "old");
  private static final JsonObject NEW = new JsonObject().put("v", "new");
  private static final CacheSettings ONE_MINUTE = new CacheSettings(true, 60, 100, 600);
  private static final Duration WITHIN = Duration.ofSeconds(10);

  private final ReadCache<Long> cache = new ReadCache<>("test", ONE_MINUTE, new FakeTicker());

  /** The load is held inside its store (after its detached check) until {@code release}. */
  private final CountDownLatch storing = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);

  private Promise<JsonObject> startLoad(long key) {
    Promise<JsonObject> load = Promise.promise();
    cache.get(key, load::future);
    return load;
  }

  private void holdTheNextStore() {
    holdTheNextStore(cache);
  }

  private void holdTheNextStore(ReadCache<?> held) {
    AtomicBoolean first = new AtomicBoolean(true);
    held.whileStoring = () -> {
      if (first.getAndSet(false)) {
        storing.countDown();
        await(release);
      }
    };
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(WITHIN.toSeconds(), TimeUnit.SECONDS), "latch not reached");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Runs the load's completion on thread A and {@code write} on thread B once A is inside its store. */
  private void raceStoreAgainst(Promise<JsonObject> load, Runnable write) throws InterruptedException {
    raceStoreAgainst(cache, load, write);
  }

  private void raceStoreAgainst(ReadCache<?> held, Promise<JsonObject> load, Runnable write)
    throws InterruptedException {
    holdTheNextStore(held);
    Thread loader = new Thread(() -> load.complete(OLD), "loader");
    loader.start();
    await(storing);
    Thread writer = new Thread(write, "writer");
    writer.start();
    // The writer must wait for the store's lock (or be done): then let the store finish.
    Poll.until(WITHIN, "the writer neither waits for the key's lock nor finished", () -> {
      Thread.State state = writer.getState();
      return state == Thread.State.BLOCKED || state == Thread.State.WAITING || state == Thread.State.TERMINATED;
    });
    release.countDown();
    loader.join();
    writer.join();
  }

  @Test
  @DisplayName("an invalidation from another thread while a load stores its older value leaves no entry")
  void invalidationDuringStoreWins() throws InterruptedException {
    Promise<JsonObject> load = startLoad(1L);
    raceStoreAgainst(load, () -> cache.invalidate(key -> key == 1L));
    assertNull(cache.peek(1L), "the load stored an outdated value after the invalidation returned");
  }

  /** A user's list, grouped by user as the notifications cache keys it. */
  private record ListKey(long userId, int limit) implements ReadCache.Grouped {
    @Override
    public Object group() {
      return userId;
    }
  }

  @Test
  @DisplayName("a group invalidation from another thread while a load of that group stores its older value leaves"
    + " no entry, and no holder in the index")
  void groupInvalidationDuringStoreWins() throws InterruptedException {
    ReadCache<ListKey> lists = new ReadCache<>("lists", ONE_MINUTE, new FakeTicker());
    ListKey key = new ListKey(1, 20);
    Promise<JsonObject> load = Promise.promise();
    lists.get(key, load::future);
    raceStoreAgainst(lists, load, () -> lists.invalidateGroup(1L));
    assertNull(lists.peek(key), "the load stored an outdated value after the invalidation returned");
    assertEquals(0, lists.indexed(1L));
  }

  @Test
  @DisplayName("a put from another thread while a load stores its older value keeps the put's value")
  void putDuringStoreWins() throws InterruptedException {
    Promise<JsonObject> load = startLoad(1L);
    raceStoreAgainst(load, () -> cache.put(1L, NEW));
    assertEquals(NEW, cache.peek(1L));
  }

  @Test
  @DisplayName("a load completed on one thread after a write on another stores nothing")
  void writeBeforeCompletionDetachesTheLoad() throws InterruptedException {
    Promise<JsonObject> invalidated = startLoad(1L);
    Promise<JsonObject> overwritten = startLoad(2L);
    Thread writer = new Thread(() -> {
      cache.invalidate(key -> key == 1L);
      cache.put(2L, NEW);
    }, "writer");
    writer.start();
    writer.join();
    Thread loader = new Thread(() -> {
      invalidated.complete(OLD);
      overwritten.complete(OLD);
    }, "loader");
    loader.start();
    loader.join();
    assertNull(cache.peek(1L));
    assertEquals(NEW, cache.peek(2L));
  }

  @Test
  @DisplayName("a load that stored before the write on another thread is overwritten or removed by it")
  void writeAfterStoreRemovesIt() throws InterruptedException {
    Promise<JsonObject> load = startLoad(1L);
    Thread loader = new Thread(() -> load.complete(OLD), "loader");
    loader.start();
    loader.join();
    assertEquals(OLD, cache.peek(1L));
    Thread writer = new Thread(() -> cache.invalidate(key -> key == 1L), "writer");
    writer.start();
    writer.join();
    assertNull(cache.peek(1L));
    // A read after the write starts a load of its own: nothing was left to join.
    Promise<JsonObject> next = Promise.promise();
    Future<ReadCache.Result> read = cache.get(1L, next::future);
    next.complete(NEW);
    assertEquals(NEW, read.result().value());
  }
}
