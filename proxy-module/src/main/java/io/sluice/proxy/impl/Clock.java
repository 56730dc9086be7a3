package io.sluice.proxy.impl;

import io.vertx.core.Context;
import io.vertx.core.Vertx;

import java.util.concurrent.Executor;

/**
 * The time admission runs on, and where a waiter's future completes. In production {@link System#nanoTime()}, the
 * Vert.x timers of the caller's context, and that context ({@link #of(Vertx)}); tests hand in a clock they move.
 */
interface Clock {
  long nanoTime();

  /** Runs {@code action} once, {@code delayMs} from now, on the caller's context; returns an id to cancel it. */
  long setTimer(long delayMs, Runnable action);

  void cancelTimer(long id);

  /** Where the caller's future is to be completed: its own context. */
  Executor callerExecutor();

  static Clock of(Vertx vertx) {
    return new Clock() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public long setTimer(long delayMs, Runnable action) {
        return vertx.setTimer(delayMs, id -> action.run());
      }

      @Override
      public void cancelTimer(long id) {
        vertx.cancelTimer(id);
      }

      @Override
      public Executor callerExecutor() {
        Context context = vertx.getOrCreateContext();
        return task -> {
          if (Vertx.currentContext() == context) {
            task.run();
          } else {
            context.runOnContext(v -> task.run());
          }
        };
      }
    };
  }
}
