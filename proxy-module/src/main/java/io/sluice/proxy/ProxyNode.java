package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.LocalProxy;
import io.sluice.contract.ProxyContract;
import io.sluice.config.JsonSection;
import io.sluice.proxy.config.ProxySettings;
import io.sluice.proxy.impl.Node;
import io.sluice.proxy.impl.ProxyFailure;
import io.sluice.proxy.impl.Requests;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.backends.BackendRegistries;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.IntUnaryOperator;

/**
 * The database proxy of one process: one pool, one admission queue (with a lane per statement class) and one set of
 * caches ({@link Node}), served by {@code proxy.instances} event loops.
 *
 * <p>Why one pool and not one slice per event loop: slices strand connections. A request routed to a slice whose
 * connections are busy (a slow statement, a row lock) waits or is refused while other slices idle, and every slice
 * caches and loads a hot key on its own. One admission for the node keeps one FIFO in arrival order whatever event
 * loop a request came in on, bounds the statements on the server by the node's budget exactly, and lets the lanes
 * keep slow classes of statements from taking every connection. Its critical section is a few comparisons per
 * acquire and release ({@code Admission}); the Vert.x pool is thread-safe and each connection answers on the
 * context that borrowed it.
 *
 * <p>Each event loop is a {@link ProxyVerticle} instance consuming {@link ProxyContract#ADDRESS} (the event bus
 * round-robins). The node's own context owns the admin connection (KILL QUERY, the capacity guard), the readiness
 * probe, the idempotency purge timer, the administrative address {@link ProxyContract#ADMIN_ADDRESS} (a
 * {@code localConsumer}: a peer on a clustered event bus cannot reconfigure this node) and the cross-node cache
 * invalidation consumer ({@link ProxyContract#CACHE_INVALIDATE_ADDRESS}). Read-after-write within the process: a
 * write updates or invalidates the node's caches before it is acknowledged. Across nodes it is eventual, one
 * event-bus hop.
 *
 * <p>The budget is {@code share(db.pool.maxSize)} ({@link #setShare}; identity unless a cluster divides the tier's
 * budget among nodes).
 *
 * <p>Thread-safety: every public method may be called from any thread; reconfigurations run one at a time on the
 * node's context.
 */
public final class ProxyNode {

  private static final Logger log = LoggerFactory.getLogger(ProxyNode.class);

  private final Vertx vertx;
  private final Node core;
  private final Context context;
  private volatile String deployment;
  private MessageConsumer<JsonObject> admin;
  private MessageConsumer<Object> invalidations;
  private Future<Void> undeployed;
  private volatile boolean stopping;

  private ProxyNode(Vertx vertx, Node core) {
    this.vertx = vertx;
    this.core = core;
    this.context = core.context();
  }

  /**
   * Starts the node on a context of its own (the caller's, when called on a Vert.x context), then its event loops'
   * consumers, then the node's own consumers. Fails with one descriptive log line, having closed what it opened.
   *
   * @param config      the deployment config: the {@code db}, {@code cache}, {@code faults}, {@code idempotency}
   *                    and {@code proxy} sections
   * @param cacheTicker the clock of the caches' TTLs; tests pass one they can advance
   */
  public static Future<ProxyNode> deploy(Vertx vertx, JsonObject config, Ticker cacheTicker) {
    return deploy(vertx, config, cacheTicker, IntUnaryOperator.identity());
  }

  /**
   * As {@link #deploy(Vertx, JsonObject, Ticker)}, holding only {@code share} of {@code db.pool.maxSize} from the
   * start: a clustered proxy node's part of the tier's budget (see {@link #setShare}).
   */
  public static Future<ProxyNode> deploy(Vertx vertx, JsonObject config, Ticker cacheTicker,
                                         IntUnaryOperator share) {
    // Invariant of a failed start: what it opened is closed again (the admin pool by Node.start, the consumers and
    // the node's pool by undeploy), so a start that fails leaves no connection behind.
    Context context = vertx.getOrCreateContext();
    int eventLoops;
    try {
      eventLoops = ProxySettings.from(JsonSection.root(config).section("proxy")).resolvedInstances();
    } catch (RuntimeException e) {
      log.error("Database proxy not started: invalid config: {}", e.getMessage());
      return Future.failedFuture(e);
    }
    return Node.call(context, () -> Node.start(vertx, config, cacheTicker,
        vertx.isMetricsEnabled() ? BackendRegistries.getDefaultNow() : null, eventLoops, share))
      .compose(core -> {
        ProxyNode node = new ProxyNode(vertx, core);
        return node.deployConsumers()
          .compose(v -> Node.call(node.context, node::listen))
          .onFailure(err -> log.error("Database proxy not started: {}", err.getMessage()))
          .map(node)
          .recover(err -> node.undeploy().transform(ar -> Future.failedFuture(err)));
      });
  }

  private Future<Void> deployConsumers() {
    return vertx.deployVerticle(() -> new ProxyVerticle(core), new DeploymentOptions()
        .setInstances(core.eventLoops())
        .setThreadingModel(ThreadingModel.EVENT_LOOP))
      .onSuccess(id -> deployment = id)
      .mapEmpty();
  }

  private Future<Void> listen() {
    admin = vertx.eventBus().localConsumer(ProxyContract.ADMIN_ADDRESS, this::handleAdmin);
    invalidations = vertx.eventBus().<Object>consumer(ProxyContract.CACHE_INVALIDATE_ADDRESS,
      message -> core.onRemoteWrite(message::body));
    return Future.all(admin.completion(), invalidations.completion()).mapEmpty();
  }

  private void handleAdmin(Message<JsonObject> message) {
    String action = message.headers().get(ProxyContract.ACTION_HEADER);
    if (!Action.APPLY_CONFIG.equals(action)) {
      message.fail(FailureCode.BAD_REQUEST, ProxyContract.ADMIN_ADDRESS + " serves only " + Action.APPLY_CONFIG);
      return;
    }
    JsonObject body;
    try {
      body = message.body();
    } catch (ClassCastException e) {
      message.fail(FailureCode.BAD_REQUEST, "message body must be a JSON object");
      return;
    }
    core.applyConfig(body).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result());
      } else {
        fail(message, ar.cause(), action, null);
      }
    });
  }

  /**
   * This node called in-process, without the event bus ({@link LocalProxy}): each request is handled on the caller's
   * event loop, like a message to {@link ProxyContract#ADDRESS} but with no copy of the body or the reply and no
   * thread hop. Once {@link #undeploy} started it fails every request with {@code NO_HANDLERS}, as the event bus
   * would.
   *
   * <p>Invariant (each request answered once, by its deadline): the same as the event-bus path's, kept by the node
   * (admission, statement guard); there is no send timeout behind it.
   */
  public LocalProxy local() {
    return (action, body, requestId, budgetMs, deadlineEpochMs, idempotencyKey) -> {
      if (stopping) {
        return Future.failedFuture(new ReplyException(ReplyFailure.NO_HANDLERS, "the database proxy has stopped"));
      }
      String id = Requests.requestId(requestId);
      String key;
      try {
        key = Requests.idempotencyKey(idempotencyKey);
      } catch (ProxyFailure e) {
        return Future.failedFuture(replyException(e, action, id));
      }
      return core.handle(action, body, id, budgetMs, deadlineEpochMs, key).transform(ar -> ar.succeeded()
        ? Future.succeededFuture(localReply(ar.result()))
        : Future.failedFuture(replyException(ar.cause(), action, id)));
    };
  }

  private static LocalProxy.Reply localReply(io.sluice.proxy.impl.Reply reply) {
    return new LocalProxy.Reply(reply.body(), reply.cacheStatus(), reply.shownAgeSeconds(), reply.replayed());
  }

  /** A failure as the caller sees it, over the event bus ({@link #fail}) or in-process: a contract code. */
  private static ReplyException replyException(Throwable cause, String action, String requestId) {
    if (cause instanceof ProxyFailure failure) {
      return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, failure.code(), failure.getMessage());
    }
    log.error("{} failed unexpectedly request_id={}", action, requestId, cause);
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, FailureCode.INTERNAL, "internal error");
  }

  /** The one error-reporting path of the proxy's consumers. */
  static void fail(Message<?> message, Throwable cause, String action, String requestId) {
    ReplyException failure = replyException(cause, action, requestId);
    message.fail(failure.failureCode(), failure.getMessage());
  }

  /**
   * The live reload ({@link Action#APPLY_CONFIG}): the live keys of the {@code db}, {@code cache} and
   * {@code faults} sections over the config in force → {@code {poolSwapped, pool, budget}}. Serialized with every
   * other reconfiguration; validation and the capacity guard come first. All or nothing: a failure (a
   * {@link ProxyFailure} with a contract code) leaves everything as it was.
   */
  public Future<JsonObject> applyConfig(JsonObject liveSections) {
    return Node.call(context, () -> core.applyConfig(liveSections));
  }

  /**
   * Sets this node's budget to {@code share.applyAsInt(db.pool.maxSize)} (clamped to 0..maxSize) through the same
   * live pool swap as a reload (guarded, serialized, 503 while a previous swap drains: try again). A node whose
   * share is 0 answers 503 at once until it grows again.
   */
  public Future<Void> setShare(IntUnaryOperator share) {
    return Node.call(context, () -> core.setShare(share)).mapEmpty();
  }

  /**
   * The {@link Action#STATS} reply: {@code pool} (maxSize is this node's budget; inUse, waiting, open; the counters;
   * {@code eventLoops}), {@code lanes} (per action: limit, inFlight, waiting, p90Ms, executed, dropped, rejected by
   * reason) and {@code caches}.
   */
  public JsonObject stats() {
    return core.stats();
  }

  /** How many event loops consume the proxy address. */
  public int eventLoops() {
    return core.eventLoops();
  }

  /**
   * Stops taking requests on every event loop, drains the requests in flight and closes the pool (bounded as
   * before), then closes the admin connection and the probe. Idempotent; never fails.
   */
  public synchronized Future<Void> undeploy() {
    stopping = true;
    if (undeployed == null) {
      undeployed = Node.call(context, this::unregister)
        .eventually(() -> deployment == null ? Future.succeededFuture()
          : vertx.undeploy(deployment).otherwiseEmpty())
        .eventually(() -> Node.call(context, core::drainAndClose))
        .eventually(() -> Node.call(context, core::close))
        .otherwiseEmpty()
        .onComplete(ar -> log.info("Database proxy stopped, pools closed"));
    }
    return undeployed;
  }

  private Future<Void> unregister() {
    Future<Void> a = admin == null ? Future.succeededFuture() : admin.unregister();
    Future<Void> b = invalidations == null ? Future.succeededFuture() : invalidations.unregister();
    return Future.join(a, b).<Void>mapEmpty().otherwiseEmpty();
  }
}
