package io.sluice.proxy.impl;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.function.Supplier;

/** Hops between Vert.x contexts. */
final class Contexts {

  private Contexts() {
  }

  /** Runs {@code work} on {@code target} and completes on the caller's context (or thread, off Vert.x). */
  public static <T> Future<T> call(Context target, Supplier<Future<T>> work) {
    Context caller = Vertx.currentContext();
    Promise<T> result = Promise.promise();
    target.runOnContext(v -> {
      Future<T> done;
      try {
        done = work.get();
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      done.onComplete(ar -> {
        if (caller == null || caller == target) {
          result.handle(ar);
        } else {
          caller.runOnContext(x -> result.handle(ar));
        }
      });
    });
    return result.future();
  }
}
