package io.sluice.proxy.impl;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The race between a request's statement timeout and its completion, decided exactly once.
 *
 * <p>Invariant: a request is answered with a timeout only if it {@link #expire() expired} before it
 * {@link #finish() finished}, and a write commits only if it finished first. So a write answered 504 was rolled
 * back, and a write answered with success was committed.
 */
final class Attempt {

  private static final int RUNNING = 0;
  private static final int FINISHED = 1;
  private static final int EXPIRED = 2;

  private final AtomicInteger state = new AtomicInteger(RUNNING);

  /** Claims the outcome for the timeout; false if the work already finished. */
  boolean expire() {
    return state.compareAndSet(RUNNING, EXPIRED);
  }

  /** Claims the outcome for the work (to commit or to reply); false if the timeout already fired. */
  boolean finish() {
    return state.compareAndSet(RUNNING, FINISHED);
  }

  boolean expired() {
    return state.get() == EXPIRED;
  }
}
