package io.sluice.proxy.impl;

import io.vertx.core.Future;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The race between a request's deadline and its completion, decided exactly once.
 *
 * <p>Invariant: a request is answered with a timeout only if it {@link #expire() expired} before it
 * {@link #finish() finished}, and a write commits only if it finished first. So a write answered 504 was rolled
 * back, and a write answered with success was committed.
 *
 * <p>When the deadline passes while a statement runs, the proxy kills it; {@link #killSettled()} lets the request
 * wait for that kill to be done before it sends anything else on the connection (a ROLLBACK must not be the
 * statement the kill interrupts).
 */
final class Attempt {

  private static final int RUNNING = 0;
  private static final int FINISHED = 1;
  private static final int EXPIRED = 2;

  private final AtomicInteger state = new AtomicInteger(RUNNING);
  private volatile Future<Void> kill = Future.succeededFuture();
  private volatile boolean committing;

  /** Claims the outcome for the deadline; false if the work already finished. */
  boolean expire() {
    return state.compareAndSet(RUNNING, EXPIRED);
  }

  /** Claims the outcome for the work (to commit or to reply); false if the deadline already passed. */
  boolean finish() {
    return state.compareAndSet(RUNNING, FINISHED);
  }

  /** As {@link #finish()}, for a write about to send COMMIT: from then on its outcome is only known from the reply. */
  boolean commit() {
    if (finish()) {
      committing = true;
      return true;
    }
    return false;
  }

  /** COMMIT was sent: a deadline passing now cannot roll the write back. */
  boolean committing() {
    return committing;
  }

  boolean expired() {
    return state.get() == EXPIRED;
  }

  void killing(Future<Void> kill) {
    this.kill = kill;
  }

  /** Completes, never fails, once the kill (if any) is done. */
  Future<Void> killSettled() {
    return kill.otherwiseEmpty();
  }

  /** The kill's outcome: failed if one was sent and not confirmed; succeeded if it was confirmed or never sent. */
  Future<Void> kill() {
    return kill;
  }
}
