package io.sluice.contract.client.impl;

import io.sluice.contract.Action;
import io.sluice.contract.CallBudget;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.contract.client.Notification;
import io.sluice.contract.client.SluiceClient;
import io.sluice.contract.client.SluiceClientOptions;
import io.sluice.contract.client.SluiceException;
import io.sluice.contract.client.User;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/** {@link SluiceClient} over the event bus: every method is one {@link #call} with its body and its reply's reading. */
public final class SluiceClientImpl implements SluiceClient {


  private final Vertx vertx;
  private final SluiceClientOptions options;

  /** Use {@link SluiceClient#create}: it copies and checks the options. */
  public SluiceClientImpl(Vertx vertx, SluiceClientOptions options) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.options = options;
  }

  @Override
  public Future<User> createUser(String name, String email, String idempotencyKey, Instant deadline) {
    return call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, name).put(Fields.EMAIL, email), idempotencyKey,
      deadline, User::fromJson);
  }

  @Override
  public Future<User> getUser(long userId, Instant deadline) {
    return call(Action.GET_USER, user(userId), null, deadline, User::fromJson);
  }

  @Override
  public Future<JsonObject> getSettings(long userId, Instant deadline) {
    return call(Action.GET_SETTINGS, user(userId), null, deadline, body -> body.getJsonObject(Fields.SETTINGS));
  }

  @Override
  public Future<JsonObject> putSettings(long userId, JsonObject settings, Instant deadline) {
    return call(Action.PUT_SETTINGS, user(userId).put(Fields.SETTINGS, settings), null, deadline,
      body -> body.getJsonObject(Fields.SETTINGS));
  }

  @Override
  public Future<List<Notification>> listNotifications(long userId, boolean unreadOnly, int limit, Instant deadline) {
    return call(Action.LIST_NOTIFICATIONS, user(userId).put(Fields.UNREAD_ONLY, unreadOnly).put(Fields.LIMIT, limit),
      null, deadline, SluiceClientImpl::notifications);
  }

  @Override
  public Future<Notification> createNotification(long userId, String title, String body, String idempotencyKey,
                                                 Instant deadline) {
    return call(Action.CREATE_NOTIFICATION, user(userId).put(Fields.TITLE, title).put(Fields.BODY, body),
      idempotencyKey, deadline, Notification::fromJson);
  }

  @Override
  public Future<Void> markNotificationRead(long userId, long notificationId, Instant deadline) {
    return call(Action.MARK_NOTIFICATION_READ, user(userId).put(Fields.NOTIFICATION_ID, notificationId), null,
      deadline, body -> null);
  }

  @Override
  public Future<Void> ping(Instant deadline) {
    return call(Action.PING, new JsonObject(), null, deadline, body -> null);
  }

  @Override
  public Future<Void> ready(Instant deadline) {
    return call(Action.READY, new JsonObject(), null, deadline, body -> null);
  }

  @Override
  public Future<JsonObject> stats(Instant deadline) {
    return call(Action.STATS, new JsonObject(), null, deadline, Function.identity());
  }

  /**
   * Sends one request with the headers and send timeout of {@code deadline}; a reply is read by {@code reading}, a
   * failure (of the send, or of the reading) becomes a {@link SluiceException}.
   */
  private <T> Future<T> call(String action, JsonObject body, String idempotencyKey, Instant deadline,
                             Function<JsonObject, T> reading) {
    Objects.requireNonNull(deadline, "deadline");
    DeliveryOptions delivery;
    try {
      delivery = deliveryOptions(action, idempotencyKey, deadline, System.currentTimeMillis(), options);
    } catch (SluiceException e) {
      return Future.failedFuture(e);
    }
    return vertx.eventBus().<JsonObject>request(ProxyContract.ADDRESS, body, delivery)
      .map(Message::body)
      .map(reading)
      .recover(err -> Future.failedFuture(Failures.of(err, Action.WRITES.contains(action))));
  }

  /**
   * The send timeout and headers of one request, from the caller's deadline and the wall clock now ({@link CallBudget}
   * with the options' reply margin).
   *
   * @throws SluiceException {@link Failures#deadlinePassed()} when there is too little time left to send anything
   */
  public static DeliveryOptions deliveryOptions(String action, String idempotencyKey, Instant deadline,
                                                long nowEpochMs, SluiceClientOptions options) {
    Objects.requireNonNull(deadline, "deadline");
    // Compared as instants first: an Instant far away (Instant.MAX, Instant.MIN) has no epoch millisecond.
    Instant now = Instant.ofEpochMilli(nowEpochMs);
    long remainingMs = deadline.isAfter(now.plusMillis(ProxyContract.MAX_TIMEOUT_MS)) ? ProxyContract.MAX_TIMEOUT_MS
      : deadline.isBefore(now) ? -1
      : deadline.toEpochMilli() - nowEpochMs;
    CallBudget budget = CallBudget.of(remainingMs, nowEpochMs, options.getMinReplyMarginMs(),
      options.getMaxReplyMarginMs());
    if (budget.spent()) {
      throw Failures.deadlinePassed();
    }
    DeliveryOptions delivery = budget.deliveryOptions(action);
    if (idempotencyKey != null) {
      delivery.addHeader(ProxyContract.IDEMPOTENCY_KEY_HEADER, idempotencyKey);
    }
    return delivery;
  }

  private static JsonObject user(long userId) {
    return new JsonObject().put(Fields.USER_ID, userId);
  }

  private static List<Notification> notifications(JsonObject body) {
    JsonArray array = body.getJsonArray(Fields.NOTIFICATIONS);
    List<Notification> list = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      list.add(Notification.fromJson(array.getJsonObject(i)));
    }
    return List.copyOf(list);
  }
}
