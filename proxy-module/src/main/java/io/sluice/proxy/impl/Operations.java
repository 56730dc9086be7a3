package io.sluice.proxy.impl;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.config.CachesConfig;
import io.sluice.proxy.impl.Operation.CacheWrite;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLClient;
import io.vertx.mysqlclient.MySQLException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Turns a request into an {@link Operation}: validates the body first (a bad request never touches the pool), then
 * binds the statements of {@link Sql} to the validated values. Each operation also says what it means to the caches
 * of {@link CachesConfig}: the cache and key of a read, what a write updates or invalidates.
 */
final class Operations {

  /** MySQL/MariaDB error codes we map to contract failures. */
  static final int ER_DUP_ENTRY = 1062;
  static final int ER_NO_REFERENCED_ROW = 1452;

  /**
   * Cache key of a notification list: the same user can be read with several filters, and a notification write
   * drops them all through the user's group.
   */
  private record NotificationsKey(long userId, boolean unreadOnly, int limit) implements ReadCache.Grouped {
    @Override
    public Object group() {
      return userId;
    }
  }

  private Operations() {
  }

  static Operation prepare(String action, JsonObject body) {
    if (action == null) {
      throw ProxyFailure.badRequest("missing action header; expected one of " + Action.ALL);
    }
    return switch (action) {
      case Action.CREATE_USER -> createUser(body);
      case Action.GET_USER -> getUser(body);
      case Action.GET_SETTINGS -> getSettings(body);
      case Action.PUT_SETTINGS -> putSettings(body);
      case Action.LIST_NOTIFICATIONS -> listNotifications(body);
      case Action.CREATE_NOTIFICATION -> createNotification(body);
      case Action.MARK_NOTIFICATION_READ -> markRead(body);
      case Action.PING -> Operation.read(action, "-",
        db -> db.prepared(Sql.PING).execute().map(rows -> new JsonObject().put(Fields.DATABASE, "up")));
      default -> throw ProxyFailure.badRequest("unknown action '" + action + "'; expected one of " + Action.ALL);
    };
  }

  private static Operation createUser(JsonObject body) {
    String name = Requests.text(body, Fields.NAME, Fields.MAX_NAME_LENGTH, false).trim();
    String email = Requests.email(body);
    // positiveId: on another node the reply is untrusted input (Node#onRemoteWrite); here it is the new row's id.
    List<CacheWrite> caches = List.of(CacheWrite.put(CachesConfig.USERS,
      reply -> Requests.positiveId(reply, Fields.ID)));
    return Operation.write(Action.CREATE_USER, "new user", caches, db -> db.prepared(Sql.INSERT_USER)
      .execute(Tuple.of(name, email, now()))
      .map(rows -> new JsonObject()
        .put(Fields.ID, rows.property(MySQLClient.LAST_INSERTED_ID))
        .put(Fields.NAME, name)
        .put(Fields.EMAIL, email))
      .recover(err -> isError(err, ER_DUP_ENTRY)
        ? Future.failedFuture(new ProxyFailure(FailureCode.CONFLICT, "email already in use"))
        : Future.failedFuture(err)));
  }

  /** {@code user.get}: point reads of {@code users}. */
  static final PointReads.Kind USERS = new PointReads.Kind(Action.GET_USER, Sql.SELECT_USERS_IN,
    (id, row) -> new JsonObject()
      .put(Fields.ID, row.getLong("id"))
      .put(Fields.NAME, row.getString("name"))
      .put(Fields.EMAIL, row.getString("email")),
    Operations::userNotFound);

  /** {@code settings.get}: point reads of {@code users} joined with their settings (NULL when none). */
  static final PointReads.Kind SETTINGS = new PointReads.Kind(Action.GET_SETTINGS, Sql.SELECT_SETTINGS_IN,
    (id, row) -> new JsonObject().put(Fields.USER_ID, id).put(Fields.SETTINGS, settingsOf(row.getValue("settings"))),
    Operations::userNotFound);

  private static Operation getUser(JsonObject body) {
    long userId = Requests.positiveId(body, Fields.USER_ID);
    return Operation.pointRead(Action.GET_USER, "user_id=" + userId, CachesConfig.USERS, userId, USERS,
      db -> db.prepared(Sql.SELECT_USER)
        .execute(Tuple.of(userId))
        .map(rows -> USERS.reply().apply(userId, single(rows, userId))));
  }

  private static Operation getSettings(JsonObject body) {
    long userId = Requests.positiveId(body, Fields.USER_ID);
    return Operation.pointRead(Action.GET_SETTINGS, "user_id=" + userId, CachesConfig.SETTINGS, userId, SETTINGS,
      db -> db.prepared(Sql.SELECT_SETTINGS)
        .execute(Tuple.of(userId))
        .map(rows -> new JsonObject()
          .put(Fields.USER_ID, userId)
          .put(Fields.SETTINGS, settingsOf(single(rows, userId).getValue(0)))));
  }

  private static Operation putSettings(JsonObject body) {
    long userId = Requests.positiveId(body, Fields.USER_ID);
    String settings = Requests.settings(body);
    List<CacheWrite> caches = List.of(CacheWrite.put(CachesConfig.SETTINGS, (Object) userId));
    return Operation.write(Action.PUT_SETTINGS, "user_id=" + userId, caches,
      db -> db.prepared(Sql.UPSERT_SETTINGS)
        .execute(Tuple.of(userId, settings, now()))
        .map(rows -> new JsonObject().put(Fields.USER_ID, userId).put(Fields.SETTINGS, new JsonObject(settings)))
        .recover(err -> failUnknownUser(err, userId)));
  }

  private static Operation listNotifications(JsonObject body) {
    long userId = Requests.positiveId(body, Fields.USER_ID);
    boolean unreadOnly = Requests.optionalBoolean(body, Fields.UNREAD_ONLY, false);
    int limit = Requests.optionalInt(body, Fields.LIMIT, Fields.DEFAULT_LIMIT, 1, Fields.MAX_LIMIT);
    String sql = unreadOnly ? Sql.SELECT_UNREAD_NOTIFICATIONS : Sql.SELECT_NOTIFICATIONS;
    return Operation.cachedRead(Action.LIST_NOTIFICATIONS, "user_id=" + userId, CachesConfig.NOTIFICATIONS,
      new NotificationsKey(userId, unreadOnly, limit), db -> db.prepared(sql)
      .execute(Tuple.of(userId, limit))
      .compose(rows -> {
        JsonArray list = new JsonArray();
        rows.forEach(row -> list.add(notification(row)));
        JsonObject reply = new JsonObject().put(Fields.USER_ID, userId).put(Fields.NOTIFICATIONS, list);
        // An empty list is either "no notifications" or "no such user": only then pay for a second statement.
        return list.isEmpty() ? requireUser(db, userId).map(reply) : Future.succeededFuture(reply);
      }));
  }

  private static Operation createNotification(JsonObject body) {
    long userId = Requests.positiveId(body, Fields.USER_ID);
    String title = Requests.text(body, Fields.TITLE, Fields.MAX_TITLE_LENGTH, false);
    String text = Requests.text(body, Fields.BODY, Fields.MAX_BODY_LENGTH, true);
    return Operation.write(Action.CREATE_NOTIFICATION, "user_id=" + userId, userNotifications(userId), db -> {
      // Stamped once the connection is held, so "newest first" follows the order of the inserts.
      LocalDateTime createdAt = now();
      return db.prepared(Sql.INSERT_NOTIFICATION)
        .execute(Tuple.of(userId, title, text, createdAt))
        .map(rows -> new JsonObject()
          .put(Fields.ID, rows.property(MySQLClient.LAST_INSERTED_ID))
          .put(Fields.TITLE, title)
          .put(Fields.BODY, text)
          .put(Fields.READ, false)
          .put(Fields.CREATED_AT, iso(createdAt)))
        .recover(err -> failUnknownUser(err, userId));
    });
  }

  private static Operation markRead(JsonObject body) {
    long userId = Requests.positiveId(body, Fields.USER_ID);
    long notificationId = Requests.positiveId(body, Fields.NOTIFICATION_ID);
    return Operation.write(Action.MARK_NOTIFICATION_READ, "user_id=" + userId + " notification_id=" + notificationId,
      userNotifications(userId), db -> db.prepared(Sql.MARK_NOTIFICATION_READ)
      .execute(Tuple.of(notificationId, userId))
      .compose(rows -> rows.rowCount() > 0
        ? Future.succeededFuture(new JsonObject())
        // Nothing changed: already read (fine, the call is idempotent) or not this user's notification.
        : db.prepared(Sql.NOTIFICATION_EXISTS).execute(Tuple.of(notificationId, userId))
          .compose(found -> found.size() > 0
            ? Future.succeededFuture(new JsonObject())
            : Future.failedFuture(ProxyFailure.notFound("notification " + notificationId + " of user " + userId
              + " not found")))));
  }

  /** A notification write changes every cached list of that user, whatever its filter and limit. */
  private static List<CacheWrite> userNotifications(long userId) {
    return List.of(CacheWrite.invalidate(CachesConfig.NOTIFICATIONS, userId));
  }

  private static Future<Void> requireUser(Db db, long userId) {
    return db.prepared(Sql.USER_EXISTS).execute(Tuple.of(userId))
      .compose(rows -> rows.size() > 0 ? Future.succeededFuture() : Future.failedFuture(userNotFound(userId)));
  }

  private static Row single(RowSet<Row> rows, long userId) {
    if (rows.size() == 0) {
      throw userNotFound(userId);
    }
    return rows.iterator().next();
  }

  private static ProxyFailure userNotFound(long userId) {
    return ProxyFailure.notFound("user " + userId + " not found");
  }

  private static <T> Future<T> failUnknownUser(Throwable err, long userId) {
    return Future.failedFuture(isError(err, ER_NO_REFERENCED_ROW) ? userNotFound(userId) : err);
  }

  static boolean isError(Throwable err, int errorCode) {
    return err instanceof MySQLException e && e.getErrorCode() == errorCode;
  }

  private static JsonObject notification(Row row) {
    return new JsonObject()
      .put(Fields.ID, row.getLong("id"))
      .put(Fields.TITLE, row.getString("title"))
      .put(Fields.BODY, row.getString("body"))
      .put(Fields.READ, row.getBoolean("is_read"))
      .put(Fields.CREATED_AT, iso(row.getLocalDateTime("created_at")));
  }

  /** MySQL returns JSON columns decoded, MariaDB (where JSON is LONGTEXT) as text: accept both. */
  private static JsonObject settingsOf(Object value) {
    if (value == null) {
      return new JsonObject();
    }
    if (value instanceof JsonObject json) {
      return json;
    }
    if (value instanceof Buffer buffer) {
      return new JsonObject(buffer);
    }
    return new JsonObject(value.toString());
  }

  /** Timestamps are stored as UTC DATETIME(3) and written by us, so every reply shows the value we stored. */
  private static LocalDateTime now() {
    return LocalDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MILLIS);
  }

  private static String iso(LocalDateTime utc) {
    return utc.toInstant(ZoneOffset.UTC).toString();
  }
}
