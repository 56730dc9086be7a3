package io.sluice.proxy.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Waiting for a condition in tests: polling with a deadline, never a sleep standing in for synchronization. */
public final class Poll {

  /**
   * Pause between two tries. The deadline is the synchronization; the pause only keeps the poll from spinning a
   * core (and from flooding the event bus or the database with the condition's own requests).
   */
  private static final long PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private Poll() {
  }

  /** Polls {@code condition} until it holds; fails with {@code what} once {@code within} has passed. */
  public static void until(Duration within, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail(what + " (within " + within.toMillis() + " ms)");
      }
      LockSupport.parkNanos(PAUSE_NANOS);
    }
  }
}
