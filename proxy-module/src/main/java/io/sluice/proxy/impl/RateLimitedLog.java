package io.sluice.proxy.impl;

import org.slf4j.Logger;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Logs at most one warning per interval and counts the rest, so an overload cannot flood the log: the next line
 * that gets through says how many were suppressed.
 */
final class RateLimitedLog {

  private final Logger log;
  private final long intervalNanos;
  private final AtomicLong nextAllowedNanos = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong suppressed = new AtomicLong();

  RateLimitedLog(Logger log, long intervalMs) {
    this.log = log;
    this.intervalNanos = intervalMs * 1_000_000L;
  }

  void warn(String format, Object... args) {
    long now = System.nanoTime();
    long allowedAt = nextAllowedNanos.get();
    if ((allowedAt != Long.MIN_VALUE && now - allowedAt < 0) || !nextAllowedNanos.compareAndSet(allowedAt,
      now + intervalNanos)) {
      suppressed.incrementAndGet();
      return;
    }
    long dropped = suppressed.getAndSet(0);
    if (dropped > 0) {
      log.warn(format + " [{} similar warnings suppressed]", append(args, dropped));
    } else {
      log.warn(format, args);
    }
  }

  private static Object[] append(Object[] args, Object last) {
    Object[] all = java.util.Arrays.copyOf(args, args.length + 1);
    all[args.length] = last;
    return all;
  }
}
