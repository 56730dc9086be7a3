package io.sluice.proxy.impl;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's wait queue places ({@code db.pool.maxWaitQueueSize}), shared by its shards' admissions.
 *
 * <p>Why shared: each shard owns a slice of the connections, but the event bus hands requests to the shards in turn
 * whatever their queues hold. A shard that falls behind (its event loop shares a core with busier work) collects
 * the requests in flight, and with the queue cut in fixed slices it refused requests as {@code queue_full} while
 * another shard's slice stood empty. With one count for the node, any shard may queue while the node as a whole
 * has room.
 *
 * <p>Invariant: {@code taken <= limit} whenever a place is taken ({@link #tryTake} is a bounded compare-and-set),
 * and every place taken is given back exactly once, when its waiter leaves the queue (granted, refused on hand-over
 * or failed by its timer: {@link Admission} keeps that). So at most {@code db.pool.maxWaitQueueSize} requests wait
 * in the whole node. A lowered limit takes effect as waiters leave; nobody is evicted. Thread-safe.
 */
final class QueuePlaces {

  private final AtomicInteger taken = new AtomicInteger();
  private volatile int limit;

  QueuePlaces(int limit) {
    this.limit = limit;
  }

  /** Whether no place is free now (a hint: {@link #tryTake} decides). */
  boolean full() {
    return taken.get() >= limit;
  }

  /** Takes a place if one is free. */
  boolean tryTake() {
    while (true) {
      int now = taken.get();
      if (now >= limit) {
        return false;
      }
      if (taken.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  /** Gives back a place taken by {@link #tryTake}. */
  void give() {
    taken.decrementAndGet();
  }

  /** A new {@code db.pool.maxWaitQueueSize}. */
  void limit(int places) {
    this.limit = places;
  }

  int taken() {
    return taken.get();
  }
}
