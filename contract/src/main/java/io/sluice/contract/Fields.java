package io.sluice.contract;

/** Field names of request and reply bodies. */
public final class Fields {

  public static final String ID = "id";
  public static final String USER_ID = "userId";
  public static final String NAME = "name";
  public static final String EMAIL = "email";
  public static final String SETTINGS = "settings";
  public static final String NOTIFICATIONS = "notifications";
  public static final String NOTIFICATION_ID = "notificationId";
  public static final String TITLE = "title";
  public static final String BODY = "body";
  public static final String READ = "read";
  public static final String CREATED_AT = "createdAt";
  public static final String UNREAD_ONLY = "unreadOnly";
  public static final String LIMIT = "limit";
  public static final String DATABASE = "database";

  /** Limits the proxy enforces on requests; callers may check them early to answer faster. */
  public static final int MAX_NAME_LENGTH = 200;
  public static final int MAX_EMAIL_LENGTH = 254;
  public static final int MAX_TITLE_LENGTH = 200;
  public static final int MAX_BODY_LENGTH = 4000;
  public static final int DEFAULT_LIMIT = 20;
  public static final int MAX_LIMIT = 100;
  /** Serialized size limit of a settings object, in bytes of UTF-8 JSON. */
  public static final int MAX_SETTINGS_BYTES = 16 * 1024;

  private Fields() {
  }
}
