package io.sluice.contract.client.impl;

import io.sluice.contract.FailureCode;
import io.sluice.contract.client.SluiceException;
import io.vertx.core.eventbus.ReplyException;

import java.time.Duration;

/**
 * The one mapping from what a request's future failed with to a {@link SluiceException}; the same decisions as the
 * HTTP tier's {@code ApiError}, with failure codes instead of HTTP statuses.
 */
public final class Failures {

  private Failures() {
  }

  /**
   * @param write whether the request changes data: then no answer by the deadline means the outcome is unknown (the
   *              write may have committed), never "nothing written"
   */
  public static SluiceException of(Throwable err, boolean write) {
    if (err instanceof SluiceException known) {
      return known;
    }
    if (!(err instanceof ReplyException reply)) {
      return new SluiceException(FailureCode.INTERNAL, "internal error: " + err, null, err);
    }
    return switch (reply.failureType()) {
      case RECIPIENT_FAILURE -> {
        long seconds = FailureCode.retryAfterOf(reply.getMessage());
        yield new SluiceException(reply.failureCode(), FailureCode.withoutRetryAfter(reply.getMessage()),
          seconds >= 0 ? Duration.ofSeconds(seconds) : null, reply);
      }
      case TIMEOUT -> write
        ? new SluiceException(FailureCode.OUTCOME_UNKNOWN, "the database proxy did not answer by the deadline: the"
          + " write may or may not have happened; retry with the same idempotency key, or read it back", null, reply)
        : new SluiceException(FailureCode.STATEMENT_TIMEOUT, "the database proxy did not answer by the deadline",
          null, reply);
      case NO_HANDLERS -> new SluiceException(FailureCode.DB_UNAVAILABLE, "no database proxy is registered on the event"
        + " bus: nothing ran", null, reply);
      default -> new SluiceException(FailureCode.INTERNAL, "internal error: " + reply.getMessage(), null, reply);
    };
  }

  /** The deadline left too little to send anything: nothing was sent, so nothing was written. */
  public static SluiceException deadlinePassed() {
    return new SluiceException(FailureCode.STATEMENT_TIMEOUT, "the deadline passed before the request was sent:"
      + " nothing was sent", null, null);
  }
}
