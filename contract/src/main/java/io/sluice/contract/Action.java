package io.sluice.contract;

import java.util.Set;

/**
 * Action names, sent in the {@link ProxyContract#ACTION_HEADER} header. Request and reply bodies are documented on
 * each constant with the field names of {@link Fields}.
 */
public final class Action {

  /** {@code {name, email}} → {@code {id, name, email}}; 400, 409 when the email is taken. */
  public static final String CREATE_USER = "user.create";

  /** {@code {userId}} → {@code {id, name, email}}; 400, 404. */
  public static final String GET_USER = "user.get";

  /** {@code {userId}} → {@code {userId, settings}} ({@code {}} when none stored); 400, 404. */
  public static final String GET_SETTINGS = "settings.get";

  /** {@code {userId, settings}} → {@code {userId, settings}}, replacing the stored object; 400, 404. */
  public static final String PUT_SETTINGS = "settings.put";

  /**
   * {@code {userId, unreadOnly?, limit?}} → {@code {userId, notifications: [{id, title, body, read, createdAt}]}},
   * newest first; {@code unreadOnly} defaults to false, {@code limit} to 20 (1..100); 400, 404.
   */
  public static final String LIST_NOTIFICATIONS = "notifications.list";

  /** {@code {userId, title, body}} → {@code {id, title, body, read, createdAt}}; 400, 404. */
  public static final String CREATE_NOTIFICATION = "notification.create";

  /** {@code {userId, notificationId}} → {@code {}}; 400, 404 when that notification is not this user's. */
  public static final String MARK_NOTIFICATION_READ = "notification.markRead";

  /**
   * {@code {}} → {@code {database: "up"}} once the database answered a trivial statement through the request pool
   * (admission, queue and all); 502, 503, 504. A saturated pool fails it: use {@link #READY} for readiness.
   */
  public static final String PING = "health.ping";

  /**
   * Readiness: {@code {}} → {@code {database: "up"}} when the database answers a trivial statement on the proxy's
   * own health connection, outside the request pool, so a saturated pool does not fail it; 502 when the database
   * does not answer within a short timeout (about a second). The answer may be up to a second old: probes are
   * shared and cached so that many load balancers asking often do not load the database.
   */
  public static final String READY = "health.ready";

  /**
   * {@code {}} → {@code {pool: {...}, lanes: {<action>: {...}}, caches: {users|settings|notifications: {...}}}}: the
   * proxy node's counters since start ({@code pool.eventLoops}: the event loops serving its one pool), and per
   * statement class its lane (limit, inFlight, waiting, p90Ms, executed, dropped, rejected by reason). Whichever
   * event loop receives it answers for the whole node. Never touches the database.
   */
  public static final String STATS = "proxy.stats";

  /**
   * Admin: {@code {db: {...}?, cache: {...}?, faults: {...}?}}, the live keys of the proxy's config sections (as
   * their settings types declare them) → {@code {poolSwapped, pool}}. Applies them over the current ones, all or
   * nothing; 400 when a value is invalid, the server/credentials would change, or the capacity guard refuses the
   * pool; 503 when it changes the pool while the previous pool is still draining (try again). Applied one at a time,
   * in arrival order, each over the config the previous one left. The launcher's config reload sends it. Served only
   * on {@link ProxyContract#ADMIN_ADDRESS} (local to the process); {@link ProxyContract#ADDRESS} refuses it with 400.
   */
  public static final String APPLY_CONFIG = "proxy.applyConfig";

  /** Every action the proxy serves. */
  public static final Set<String> ALL = Set.of(CREATE_USER, GET_USER, GET_SETTINGS, PUT_SETTINGS,
    LIST_NOTIFICATIONS, CREATE_NOTIFICATION, MARK_NOTIFICATION_READ, PING, READY, STATS, APPLY_CONFIG);

  /**
   * The actions that change data: no answer in time to one of them means "outcome unknown" (retry it with its
   * idempotency key), and a node that executed one tells the others which cache entries it changed.
   */
  public static final Set<String> WRITES = Set.of(CREATE_USER, PUT_SETTINGS, CREATE_NOTIFICATION,
    MARK_NOTIFICATION_READ);

  private Action() {
  }
}
