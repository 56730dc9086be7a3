package io.sluice.diagnose;

/**
 * A condition that stops a run before it can report anything useful: an unreachable target, a database that refuses
 * the connection. The message is one line, fit to print as it is, and names no secret; the command exits 1 on it.
 */
public final class CannotRun extends RuntimeException {

  CannotRun(String message) {
    super(message, null, false, false);
  }
}
