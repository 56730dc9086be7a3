package io.sluice.contract.client;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.client.impl.SluiceClientImpl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.List;

/**
 * A typed client of the database proxy ({@link io.sluice.contract.ProxyContract#ADDRESS}), for any event-bus caller:
 * a verticle in a Sluice process, or a process of its own that joined the cluster (see the {@code example-consumer}
 * module). One method per action a caller may send; {@link Action#APPLY_CONFIG} is not one (the proxy serves it only
 * to its own process).
 *
 * <p><b>Deadlines.</b> Every method takes the caller's deadline as an absolute {@link Instant} on the wall clock, the
 * clock of {@link io.sluice.contract.ProxyContract#DEADLINE_HEADER}, so that one deadline can be handed through a
 * chain of calls unchanged. From it the client sets the contract's timeout and deadline headers and the event-bus
 * send timeout, keeping back a reply margin ({@link SluiceClientOptions}) so that the proxy's own answer arrives in
 * time. A deadline already passed, or too close to send anything, fails at once with
 * {@link FailureCode#STATEMENT_TIMEOUT} and sends nothing. Deadlines further than
 * {@link io.sluice.contract.ProxyContract#MAX_TIMEOUT_MS} away count as that.
 *
 * <p><b>Failures.</b> A returned future fails only with a {@link SluiceException} whose {@link SluiceException#code()}
 * is one of {@link FailureCode}, including what the event bus itself decides (no answer by the deadline, no proxy
 * registered): see {@link SluiceException}.
 *
 * <p><b>Idempotency.</b> The two creating writes take an optional idempotency key
 * ({@link io.sluice.contract.ProxyContract#IDEMPOTENCY_KEY_PATTERN}; null for none): retried with the same key after
 * {@link FailureCode#OUTCOME_UNKNOWN}, a write happens at most once and the retry gets the first one's reply.
 *
 * <p>Thread safety: an instance holds no mutable state; share one per {@link Vertx}. Its futures complete on the
 * caller's context, as the event bus's do.
 */
public interface SluiceClient {

  /** A client with the default options. */
  static SluiceClient create(Vertx vertx) {
    return create(vertx, new SluiceClientOptions());
  }

  /** @throws IllegalArgumentException when the options are inconsistent */
  static SluiceClient create(Vertx vertx, SluiceClientOptions options) {
    SluiceClientOptions copy = new SluiceClientOptions(options);
    copy.validate();
    return new SluiceClientImpl(vertx, copy);
  }

  /** {@link Action#CREATE_USER}; {@link FailureCode#CONFLICT} when the email is taken. */
  Future<User> createUser(String name, String email, String idempotencyKey, Instant deadline);

  /** {@link Action#CREATE_USER} without an idempotency key. */
  default Future<User> createUser(String name, String email, Instant deadline) {
    return createUser(name, email, null, deadline);
  }

  /** {@link Action#GET_USER}; {@link FailureCode#NOT_FOUND} when there is no such user. */
  Future<User> getUser(long userId, Instant deadline);

  /** {@link Action#GET_SETTINGS}: the user's settings object, empty when none is stored. */
  Future<JsonObject> getSettings(long userId, Instant deadline);

  /** {@link Action#PUT_SETTINGS}: replaces the user's settings object; the stored object comes back. */
  Future<JsonObject> putSettings(long userId, JsonObject settings, Instant deadline);

  /** {@link Action#LIST_NOTIFICATIONS}, newest first, at most {@code limit} (1 to 100). */
  Future<List<Notification>> listNotifications(long userId, boolean unreadOnly, int limit, Instant deadline);

  /** {@link Action#LIST_NOTIFICATIONS}: the newest {@link Fields#DEFAULT_LIMIT}, read or not. */
  default Future<List<Notification>> listNotifications(long userId, Instant deadline) {
    return listNotifications(userId, false, Fields.DEFAULT_LIMIT, deadline);
  }

  /** {@link Action#CREATE_NOTIFICATION}; {@link FailureCode#NOT_FOUND} when there is no such user. */
  Future<Notification> createNotification(long userId, String title, String body, String idempotencyKey,
                                          Instant deadline);

  /** {@link Action#CREATE_NOTIFICATION} without an idempotency key. */
  default Future<Notification> createNotification(long userId, String title, String body, Instant deadline) {
    return createNotification(userId, title, body, null, deadline);
  }

  /**
   * {@link Action#MARK_NOTIFICATION_READ} (also succeeds when already read); {@link FailureCode#NOT_FOUND} when the
   * notification is not this user's.
   */
  Future<Void> markNotificationRead(long userId, long notificationId, Instant deadline);

  /** {@link Action#PING}: succeeds once the database answered a trivial statement through the request pool. */
  Future<Void> ping(Instant deadline);

  /** {@link Action#READY}: succeeds when the database answers on the proxy's own health connection. */
  Future<Void> ready(Instant deadline);

  /** {@link Action#STATS}: the counters of whichever proxy node answers (shape in {@code docs/event-bus.md}). */
  Future<JsonObject> stats(Instant deadline);
}
