package io.sluice.diagnose;

/** A condition that stops the command before it can report anything useful; exit code 1, message on one line. */
final class CannotRun extends RuntimeException {

  CannotRun(String message) {
    super(message, null, false, false);
  }
}
