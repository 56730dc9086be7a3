package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.CacheSettings;
import io.sluice.proxy.testing.FakeTicker;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * {@link ReadCache} alone: no database, no event loop. Each load is a promise the test completes by hand, and the
 * cache's clock moves only when the test advances it, so every interleaving here is exact, not timed.
 */
class ReadCacheTest {

  private static final JsonObject OLD = new JsonObject().put("v", "old");
  private static final JsonObject NEW = new JsonObject().put("v", "new");
  private static final CacheSettings ONE_MINUTE = new CacheSettings(true, 60, 100, 600);

  private final FakeTicker ticker = new FakeTicker();
  private final ReadCache<Long> cache = new ReadCache<>("test", ONE_MINUTE, ticker);

  /**
   * One caller's loader. In the proxy each caller's loader runs the statement under that caller's own deadline;
   * here each keeps the loads it started, for the test to complete.
   */
  private static final class Loader implements Supplier<Future<JsonObject>> {
    final List<Promise<JsonObject>> loads = new ArrayList<>();

    @Override
    public Future<JsonObject> get() {
      Promise<JsonObject> load = Promise.promise();
      loads.add(load);
      return load.future();
    }

    Promise<JsonObject> only() {
      assertEquals(1, loads.size(), "loads started by this caller");
      return loads.get(0);
    }
  }

  private static ReadCache.Result miss(JsonObject value) {
    return new ReadCache.Result(value, ProxyContract.CACHE_MISS, 0);
  }

  private static ProxyFailure statementTimeout() {
    return new ProxyFailure(FailureCode.STATEMENT_TIMEOUT, "statement stopped at the starter's deadline");
  }

  private static ProxyFailure poolFull() {
    return new ProxyFailure(FailureCode.POOL_SATURATED, "the pool's queue is full");
  }

  /** Loads {@code value} for {@code key} through the cache, completing the load at once. */
  private void fill(long key, JsonObject value) {
    Loader loader = new Loader();
    Future<ReadCache.Result> read = cache.get(key, loader);
    loader.only().complete(value);
    assertEquals(miss(value), read.result());
  }

  private long stat(String name) {
    return cache.stats().getLong(name);
  }

  @Test
  @DisplayName("concurrent misses for one key share the first caller's load, and all get its result")
  void concurrentMissesShareOneLoad() {
    Loader starter = new Loader();
    Loader joiner = new Loader();
    Future<ReadCache.Result> first = cache.get(1L, starter);
    Future<ReadCache.Result> second = cache.get(1L, joiner);

    assertEquals(0, joiner.loads.size(), "the second miss joined the load in flight");
    assertFalse(first.isComplete());
    assertFalse(second.isComplete());
    starter.only().complete(OLD);

    assertEquals(miss(OLD), first.result());
    assertEquals(miss(OLD), second.result());
    assertEquals(1, stat("misses"));
    assertEquals(1, stat("coalescedWaits"));
    Loader later = new Loader();
    assertEquals(new ReadCache.Result(OLD, ProxyContract.CACHE_HIT, 0), cache.get(1L, later).result());
    assertEquals(0, later.loads.size(), "a hit does not load");
  }

  @Test
  @DisplayName("misses for different keys do not share a load")
  void otherKeysLoadSeparately() {
    Loader one = new Loader();
    Loader two = new Loader();
    Future<ReadCache.Result> first = cache.get(1L, one);
    Future<ReadCache.Result> second = cache.get(2L, two);
    one.only().complete(OLD);
    two.only().complete(NEW);

    assertEquals(miss(OLD), first.result());
    assertEquals(miss(NEW), second.result());
    assertEquals(0, stat("coalescedWaits"));
  }

  @Test
  @DisplayName("a write-through during a load detaches it: the load's older result is not stored over the write")
  void putDetachesTheLoadInFlight() {
    Loader before = new Loader();
    Future<ReadCache.Result> read = cache.get(1L, before);
    cache.put(1L, NEW);
    before.only().complete(OLD);

    assertEquals(miss(OLD), read.result(), "the read that started before the write gets what it read");
    Loader after = new Loader();
    assertEquals(new ReadCache.Result(NEW, ProxyContract.CACHE_HIT, 0), cache.get(1L, after).result());
    assertEquals(0, after.loads.size());
  }

  @Test
  @DisplayName("an invalidation during a load detaches it: a later read loads anew instead of joining, and the"
    + " detached result is never stored, even when it arrives last")
  void invalidateDetachesTheLoadInFlight() {
    Loader before = new Loader();
    Future<ReadCache.Result> early = cache.get(1L, before);
    cache.invalidate(key -> key == 1L);
    Loader after = new Loader();
    Future<ReadCache.Result> late = cache.get(1L, after);

    assertEquals(1, after.loads.size(), "the read after the write did not join the outdated load");
    assertEquals(0, stat("coalescedWaits"));
    after.only().complete(NEW);
    before.only().complete(OLD);

    assertEquals(miss(OLD), early.result());
    assertEquals(miss(NEW), late.result());
    assertEquals(new ReadCache.Result(NEW, ProxyContract.CACHE_HIT, 0), cache.get(1L, new Loader()).result());
  }

  @Test
  @DisplayName("a joiner whose shared load ran out of the starter's deadline loads again under its own;"
    + " joiners of the failed load share that second load")
  void joinerLoadsAgainWhenTheStartersDeadlinePassed() {
    Loader hasty = new Loader();
    Loader patient = new Loader();
    Loader alsoPatient = new Loader();
    Future<ReadCache.Result> starter = cache.get(1L, hasty);
    Future<ReadCache.Result> joiner = cache.get(1L, patient);
    Future<ReadCache.Result> otherJoiner = cache.get(1L, alsoPatient);
    ProxyFailure timeout = statementTimeout();
    hasty.only().fail(timeout);

    assertSame(timeout, starter.cause(), "the starter's own deadline passed: it fails");
    assertFalse(joiner.isComplete());
    assertFalse(otherJoiner.isComplete());
    Promise<JsonObject> again = patient.only();
    assertEquals(0, alsoPatient.loads.size(), "the second joiner shares the first joiner's new load");
    again.complete(NEW);

    assertEquals(miss(NEW), joiner.result());
    assertEquals(miss(NEW), otherJoiner.result());
    assertEquals(2, stat("misses"));
    assertEquals(3, stat("coalescedWaits"));
    assertEquals(new ReadCache.Result(NEW, ProxyContract.CACHE_HIT, 0), cache.get(1L, new Loader()).result());
  }

  @Test
  @DisplayName("a joiner does not load again when the pool refused the shared load: that is not about deadlines")
  void joinerSharesAPoolRejection() {
    Loader starter = new Loader();
    Loader joiner = new Loader();
    Future<ReadCache.Result> first = cache.get(1L, starter);
    Future<ReadCache.Result> second = cache.get(1L, joiner);
    ProxyFailure full = poolFull();
    starter.only().fail(full);

    assertSame(full, first.cause());
    assertSame(full, second.cause());
    assertEquals(0, joiner.loads.size());
  }

  @Test
  @DisplayName("an entry is fresh until its TTL on the cache's clock, then loaded again")
  void freshUntilTtl() {
    fill(1L, OLD);
    ticker.advance(Duration.ofSeconds(59));
    assertEquals(new ReadCache.Result(OLD, ProxyContract.CACHE_HIT, 59), cache.get(1L, new Loader()).result());

    ticker.advance(Duration.ofSeconds(1));
    Loader expired = new Loader();
    Future<ReadCache.Result> read = cache.get(1L, expired);
    expired.only().complete(NEW);
    assertEquals(miss(NEW), read.result());
  }

  @Test
  @DisplayName("when the pool refuses a read, an entry past its TTL but within the grace answers STALE with its"
    + " age; past the grace, or for any other failure, the failure stands")
  void staleIfSaturated() {
    fill(1L, OLD);
    ticker.advance(Duration.ofSeconds(400));
    Loader refused = new Loader();
    Future<ReadCache.Result> stale = cache.get(1L, refused);
    refused.only().fail(poolFull());
    assertEquals(new ReadCache.Result(OLD, ProxyContract.CACHE_STALE, 400), stale.result());
    assertEquals(1, stat("staleServes"));

    Loader timedOut = new Loader();
    Future<ReadCache.Result> notStale = cache.get(1L, timedOut);
    ProxyFailure timeout = statementTimeout();
    timedOut.only().fail(timeout);
    assertSame(timeout, notStale.cause(), "only a pool rejection is answered from a stale entry");

    ticker.advance(Duration.ofSeconds(260));
    Loader tooLate = new Loader();
    Future<ReadCache.Result> gone = cache.get(1L, tooLate);
    ProxyFailure full = poolFull();
    tooLate.only().fail(full);
    assertSame(full, gone.cause(), "60 s TTL + 600 s grace have passed");
  }

  @Test
  @DisplayName("a reload keeps the entries and applies the new TTL; disabling the cache drops them and reads"
    + " bypass it")
  void reconfigure() {
    fill(1L, OLD);
    cache.reconfigure(new CacheSettings(true, 10, 100, 600));
    ticker.advance(Duration.ofSeconds(9));
    assertEquals(new ReadCache.Result(OLD, ProxyContract.CACHE_HIT, 9), cache.get(1L, new Loader()).result());
    ticker.advance(Duration.ofSeconds(1));
    Loader expired = new Loader();
    cache.get(1L, expired);
    assertEquals(1, expired.loads.size(), "the new 10 s TTL applies to an entry loaded before the reload");
    expired.only().complete(OLD);

    cache.reconfigure(new CacheSettings(false, 10, 100, 600));
    assertEquals(0, stat("size"));
    Loader bypass = new Loader();
    Future<ReadCache.Result> read = cache.get(1L, bypass);
    bypass.only().complete(NEW);
    assertEquals(new ReadCache.Result(NEW, null, -1), read.result(), "no cache status when the cache is off");
  }
}
