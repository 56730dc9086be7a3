package io.sluice.launcher;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.api.AuthSettings;
import io.sluice.api.HttpSettings;
import io.sluice.api.HttpVerticle;
import io.sluice.contract.LocalProxy;
import io.sluice.proxy.ProxyNode;
import io.sluice.proxy.config.DbSettings;
import io.sluice.config.JsonSection;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.config.ProxySettings;
import io.sluice.proxy.db.DatabaseSetup;
import io.sluice.proxy.db.EmbeddedDatabase;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.PeerTrust;
import io.sluice.launcher.cluster.TierMembership;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntUnaryOperator;

/**
 * Runs the tiers of {@code cluster.role} in one process: for the proxy tier the embedded database when no
 * {@code db.host} is configured, migrations (and demo data for the embedded database) on a worker thread, then the
 * proxy node ({@link ProxyNode}: one pool on {@code proxy.instances} event loops); then the HTTP verticle once the proxy is up,
 * {@code http.instances} times on the one port (Vert.x balances the accepted connections among them). Role {@code all} (the only one without clustering)
 * runs both; {@code api} runs the HTTP tier alone and never touches a database; {@code proxy} runs the proxy tier
 * and an HTTP server with only {@code /health/*}, {@code /metrics} and {@code /admin/*}. On a clustered Vert.x the
 * cluster's membership ({@link TierMembership}) is followed from before the proxy starts.
 *
 * <p>Invariants of the way down:
 * <ul>
 *   <li>Shutdown always ends within {@code http.maxRequestTimeoutMs} + a few seconds, database last: HTTP stops
 *   taking requests and lets those in flight finish, then the proxy closes its pool, then Vert.x closes, and only
 *   then does the embedded database stop. If the first three overrun their bound, the database stops anyway.</li>
 *   <li>Any start failure stops what the start got to, in the same order: {@link #close()} may run before, during or
 *   after {@link #startAll}, from any thread, any number of times; the first call does the work and later calls
 *   wait for it.</li>
 * </ul>
 */
public final class Launcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Launcher.class);

  /** Beyond {@code http.maxRequestTimeoutMs}: closing the pool and Vert.x once the last request is answered. */
  static final long SHUTDOWN_GRACE_MS = 5_000;

  /** Pause before a share the proxy refused (see {@link #applyShare}) is handed over again. */
  static final long SHARE_RETRY_MS = 1_000;

  private final Vertx vertx;
  private final JsonObject config;
  private final HazelcastClusterManager clusterManager;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Boolean> closed = new CompletableFuture<>();
  // Written by the starting thread, read by whichever thread closes.
  private volatile EmbeddedDatabase embedded;
  private volatile HttpVerticle http;
  private volatile ProxyNode proxy;
  private final List<String> httpDeployments = new CopyOnWriteArrayList<>();
  /** This node's share of the proxy tier's budget: all of it unless clustered (see {@link #shareChanged}). */
  private IntUnaryOperator share = IntUnaryOperator.identity();
  private volatile ConfigReloader reloader;
  /** Which members count in the shares and seats; every one unless event-bus TLS is on. */
  private final PeerTrust trust;
  private volatile TierMembership membership;

  /** A launcher for a validated config (see {@link SluiceConfig#load}) that has started nothing yet. */
  public Launcher(Vertx vertx, JsonObject config) {
    this(vertx, config, null);
  }

  /**
   * As {@link #Launcher(Vertx, JsonObject)}, on a clustered {@code vertx} joined through {@code clusterManager}
   * (null when {@code cluster.enabled} is false).
   */
  public Launcher(Vertx vertx, JsonObject config, HazelcastClusterManager clusterManager) {
    this(vertx, config, clusterManager, PeerTrust.everyone());
  }

  /**
   * As {@link #Launcher(Vertx, JsonObject, HazelcastClusterManager)}, with the trust that decides which members count
   * in the shares and seats ({@link SluiceVertx#peerTrust}: the same one that filters the event bus's sends).
   */
  public Launcher(Vertx vertx, JsonObject config, HazelcastClusterManager clusterManager, PeerTrust trust) {
    this.vertx = vertx;
    this.config = config;
    this.clusterManager = clusterManager;
    this.trust = trust;
  }

  /** Starts everything from a validated config (see {@link SluiceConfig#load}); blocks until up or failed. */
  public static Launcher start(Vertx vertx, JsonObject config) {
    return start(vertx, config, Ticker.systemTicker(), null);
  }

  /**
   * As {@link #start(Vertx, JsonObject)}, with the clock of the proxy's caches, and watching {@code source} for
   * config changes when given (and {@code reload.scanPeriodMs} is not 0).
   */
  public static Launcher start(Vertx vertx, JsonObject config, Ticker cacheClock, ConfigSource source) {
    Launcher launcher = new Launcher(vertx, config);
    launcher.startAll(cacheClock, source);
    return launcher;
  }

  /**
   * Starts everything; blocks until up. On any failure, stops what it started (embedded database included) and
   * throws.
   */
  public void startAll(Ticker cacheClock, ConfigSource source) {
    try {
      JsonObject effective = config.copy();
      ClusterSettings cluster = ClusterSettings.from(JsonSection.root(config).section("cluster"));
      // Before anything slow starts (the embedded database takes seconds): a taken port fails the start at once.
      requireFreePort(HttpSettings.from(effective.getJsonObject("http")));
      if (cluster.role().runsApi()) {
        // Likewise a missing or unusable auth.jwt.publicKeyPath (read here on the starting thread, not an event loop).
        AuthSettings.from(effective.getJsonObject("auth")).jwt().requireUsableKey();
      }
      if (cluster.role().runsProxy()) {
        effective.put("db", prepareDatabase(effective).toJson());
      }
      if (clusterManager != null) {
        if (cluster.role().runsProxy()) {
          warnIfAutoInstances(effective);
        }
        requireNotClosing();
        followMembership(cluster, ProxyConfig.from(effective).db().pool().maxSize());
      }
      if (cluster.role().runsProxy()) {
        requireNotClosing();
        deployProxy(effective, cacheClock);
      }
      requireNotClosing();
      deployHttp(effective, new JsonObject().put(HttpVerticle.NODE_API, cluster.role().runsApi())
        .put(HttpVerticle.NODE_PROXY, cluster.role().runsProxy()));
      long scanPeriodMs = ReloadSettings.from(JsonSection.root(config).section("reload")).scanPeriodMs();
      if (source != null && scanPeriodMs > 0) {
        requireNotClosing();
        watch(source, config, scanPeriodMs, cluster.role().runsProxy());
      }
    } catch (Throwable e) {
      // Future.await() rethrows checked causes (a BindException) as they are: catch everything.
      close();
      throw e;
    }
  }

  /**
   * The proxy tier's database: the embedded MariaDB when no {@code db.host} is configured, then migrations (and
   * demo data for the embedded database) on a worker. Returns the settings to connect with.
   */
  private DbSettings prepareDatabase(JsonObject effective) {
    DbSettings db = ProxyConfig.from(effective).db();
    int seedUsers = 0;
    if (!db.hostConfigured()) {
      EmbeddedSettings settings = EmbeddedSettings.from(JsonSection.root(effective).section("embedded"));
      Path dir = Path.of(settings.dataDir(), "mariadb");
      log.info("No db.host configured: starting the embedded MariaDB in {}", dir.toAbsolutePath());
      if (clusterManager != null) {
        log.warn("Cluster mode with the embedded MariaDB: every other proxy node must set db.host (and db.port,"
          + " db.password) to this one, or it starts a database of its own and the tier's data are split");
      }
      EmbeddedDatabase installed = EmbeddedDatabase.install(dir, settings.port(), db.database());
      embedded = installed;
      requireNotClosing();
      installed.start();
      db = db.withServer("127.0.0.1", installed.port(), installed.user(), installed.password());
      seedUsers = settings.seedUsers();
    }
    DbSettings target = db;
    int seed = seedUsers;
    // JDBC and Flyway block: run them on a worker, before any verticle serves traffic.
    vertx.executeBlocking(() -> {
      DatabaseSetup.migrate(target);
      return DatabaseSetup.seedIfEmpty(target, seed);
    }).await();
    return db;
  }

  /**
   * Follows the cluster's membership on a context of its own, from before the proxy is deployed: this node's share
   * of the connection budget is known before its pool exists.
   */
  private void followMembership(ClusterSettings cluster, int budget) {
    io.vertx.core.Context context = vertx.getOrCreateContext();
    TierMembership tier = new TierMembership(vertx, context, clusterManager.getHazelcastInstance(), cluster, budget,
      this::shareChanged, () -> {
        ProxyNode node = proxy;
        return node == null ? null : node.stats();
      }, trust);
    membership = tier;
    io.vertx.core.Promise<Void> started = io.vertx.core.Promise.promise();
    context.runOnContext(v -> {
      tier.start();
      started.complete();
    });
    started.future().await();
  }

  /**
   * The event bus round-robins over nodes weighted by their registrations, and every proxy event loop registers one
   * consumer:
   * proxy nodes with different {@code proxy.instances} take unequal parts of the traffic with equal shares of the
   * budget. With 0 (one event loop per 4 cores), nodes with different core counts differ.
   */
  private static void warnIfAutoInstances(JsonObject effective) {
    ProxySettings settings = ProxySettings.from(JsonSection.root(effective).section("proxy"));
    if (settings.instances() == 0) {
      log.warn("Cluster mode with proxy.instances 0 (one proxy event loop per 4 cores: {} here): the event bus"
        + " spreads requests by consumer count, so set the same proxy.instances on every proxy node",
        settings.resolvedInstances());
    }
  }

  /**
   * The proxy node, holding from the start only this node's share of the budget (all of it unless clustered). A
   * share that changed while it was starting is handed over once it is up.
   */
  private void deployProxy(JsonObject effective, Ticker cacheClock) {
    IntUnaryOperator initial;
    synchronized (this) {
      initial = share;
    }
    ProxyNode node = ProxyNode.deploy(vertx, effective, cacheClock, initial).await();
    synchronized (this) {
      proxy = node;
      if (share != initial) {
        applyShare(node, share);
      }
    }
  }

  /**
   * This node's share of the proxy tier's connection budget, from the cluster's membership ({@link TierMembership}):
   * called on the membership's context at start (before the proxy is deployed) and whenever the proxy nodes that
   * count change. {@code next} maps a budget ({@code db.pool.maxSize}, which reloads change) to this node's part of
   * it; the proxy node resizes its pool through its live pool swap. Shrinking comes here at once; growing only
   * after the membership's grace and its growth gate (the budget bound: every other proxy node has confirmed that it
   * holds no more than its share), and never above the share the gate granted, whatever budget a reload brings.
   */
  private void shareChanged(IntUnaryOperator next) {
    ProxyNode node;
    synchronized (this) {
      share = next;
      node = proxy;
    }
    TierMembership tier = membership;
    int budget = tier == null ? 0 : tier.budget();
    log.info("This proxy node's share of the connection budget: {} of db.pool.maxSize {}", next.applyAsInt(budget),
      budget);
    if (node != null) {
      applyShare(node, next);
    }
  }

  /**
   * Hands {@code next} to the proxy, and tries again every {@link #SHARE_RETRY_MS} while it is refused (a previous
   * pool still draining, the database briefly away) and still the share in force: a shrink that was never applied
   * would leave the tier over its budget. Meanwhile the proxy reports both pools in its {@code held}, so no peer's
   * growth gate passes until the shrink is applied and the old pool has closed.
   */
  private void applyShare(ProxyNode node, IntUnaryOperator next) {
    node.setShare(next).onFailure(err -> {
      log.warn("The new share of the connection budget is not applied yet, trying again in {} ms: {}",
        SHARE_RETRY_MS, err.getMessage());
      vertx.setTimer(SHARE_RETRY_MS, id -> {
        synchronized (this) {
          if (share != next || closing.get()) {
            return;
          }
        }
        applyShare(node, next);
      });
    });
  }

  /**
   * {@code http.instances} HTTP verticles in one deployment, sharing the port (port 0: one random port for all of
   * them, see {@link HttpVerticle#HttpVerticle(boolean)}), each on its own event loop; {@code node} says which
   * routes this node serves (its {@code cluster.role}).
   */
  private void deployHttp(JsonObject effective, JsonObject node) {
    int instances = HttpSettings.from(effective.getJsonObject("http")).resolvedInstances();
    // Unclustered, this process's proxy is the only one: the HTTP tier calls it in-process, on its own event loop,
    // with no message and no copy. Clustered, requests take the event bus to whichever proxy node it picks.
    LocalProxy inProcess = clusterManager == null && proxy != null ? proxy.local() : null;
    httpDeployments.add(vertx.deployVerticle(() -> {
      HttpVerticle verticle = new HttpVerticle(instances > 1, inProcess);
      if (http == null) {
        http = verticle;
      }
      return verticle;
    }, new DeploymentOptions().setConfig(effective.copy().put(HttpVerticle.NODE_KEY, node))
      .setThreadingModel(ThreadingModel.EVENT_LOOP).setInstances(instances)).await());
    log.info("HTTP tier: {} instance(s) on port {}, proxy {}", instances, http.actualPort(),
      inProcess != null ? "in-process" : "over the event bus");
    warnIfOpen(effective, node.getBoolean(HttpVerticle.NODE_API));
  }

  /** One line when the API is served without access control on an address other machines can reach. */
  private void warnIfOpen(JsonObject effective, boolean servesApi) {
    HttpSettings settings = HttpSettings.from(effective.getJsonObject("http"));
    AuthSettings.Jwt jwt = AuthSettings.from(effective.getJsonObject("auth")).jwt();
    if (servesApi && jwt.enabled() && jwt.issuer().isEmpty() && jwt.audience().isEmpty()) {
      // Any token the same key signed is then accepted, also one issued for another service.
      log.warn("auth.jwt.issuer and auth.jwt.audience are both empty: tokens of any issuer and for any audience"
        + " signed with this key are accepted; set at least one (docs/http-api.md#access-control)");
    }
    if (servesApi && !jwt.enabled() && !settings.listensOnLoopbackOnly()) {
      log.warn("auth.jwt.enabled is false and HTTP listens on {}:{}: anyone who reaches it reads and changes every"
        + " user's data. Set auth.jwt.* (docs/http-api.md#access-control) or bind http.host to 127.0.0.1",
        settings.host(), http.actualPort());
    }
  }

  /**
   * Fails at once when {@code http.port} cannot be bound (another process has it, or the host is not this
   * machine's), naming host and port. Port 0 (any free port) is never taken. The HTTP server binds it again later; a
   * process that takes the port in between still fails that bind, after the database started, and is stopped the
   * same way.
   */
  static void requireFreePort(HttpSettings http) {
    if (http.port() == 0) {
      return;
    }
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new java.net.InetSocketAddress(http.host(), http.port()));
    } catch (java.io.IOException e) {
      throw new IllegalStateException("HTTP port " + http.host() + ":" + http.port() + " is not available ("
        + e.getMessage() + "): is another process listening on it? Set http.port (SLUICE_HTTP_PORT)", e);
    }
  }

  private void requireNotClosing() {
    if (closing.get()) {
      throw new IllegalStateException("shutdown requested while starting");
    }
  }

  /** Runs the config watcher on a context of its own (it must not block, and it needs no verticle). */
  private void watch(ConfigSource source, JsonObject loaded, long scanPeriodMs, boolean hasProxy) {
    io.micrometer.core.instrument.MeterRegistry registry = vertx.isMetricsEnabled()
      ? io.vertx.micrometer.backends.BackendRegistries.getDefaultNow() : null;
    io.vertx.core.Context context = vertx.getOrCreateContext();
    ConfigReloader watcher = new ConfigReloader(vertx, source, loaded, scanPeriodMs, registry, hasProxy);
    reloader = watcher;
    io.vertx.core.Promise<Void> started = io.vertx.core.Promise.promise();
    context.runOnContext(v -> {
      watcher.start();
      started.complete();
    });
    started.future().await();
  }

  public int httpPort() {
    return http.actualPort();
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The proxy node (null before it started, and on an {@code api} node). */
  public ProxyNode proxyNode() {
    return proxy;
  }

  @Override
  public void close() {
    shutdown();
  }

  /**
   * Stops everything (see the class comment for the order and the bound) and waits for it.
   *
   * @return true when the drain finished within its bound, false when the database had to be stopped regardless
   */
  public boolean shutdown() {
    if (!closing.compareAndSet(false, true)) {
      return closed.join();
    }
    boolean clean = false;
    try {
      clean = drain();
    } catch (RuntimeException e) {
      log.warn("Shutdown was not clean: {}", e.toString());
    } finally {
      EmbeddedDatabase db = embedded;
      if (db != null) {
        db.close();
      }
      closed.complete(clean);
    }
    return clean;
  }

  /** HTTP, then the proxy, then Vert.x itself, within {@code http.maxRequestTimeoutMs} + {@link #SHUTDOWN_GRACE_MS}. */
  private boolean drain() {
    HttpVerticle verticle = http;
    long maxRequestTimeoutMs = verticle != null ? verticle.maxRequestTimeoutMs()
      : HttpSettings.from(config.getJsonObject("http")).maxRequestTimeoutMs();
    long boundMs = maxRequestTimeoutMs + SHUTDOWN_GRACE_MS;
    log.info("Shutting down: HTTP first (requests in flight finish, up to {} ms), then the database proxy, the "
      + "database last", maxRequestTimeoutMs);
    ConfigReloader watcher = reloader;
    if (watcher != null) {
      watcher.stop();
    }
    TierMembership tier = membership;
    if (tier != null) {
      tier.stop();
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(boundMs);
    try {
      undeployHttp().eventually(() -> proxy == null ? Future.succeededFuture() : proxy.undeploy())
        .await(remainingMs(deadline), TimeUnit.MILLISECONDS);
      // Awaited on its own: chained after the undeploys, its completion would be dispatched to an event loop that
      // Vert.x has just terminated, and never arrive.
      vertx.close().await(remainingMs(deadline), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      log.warn("Shutdown did not finish within {} ms (http.maxRequestTimeoutMs + {} ms): stopping the database "
        + "regardless", boundMs, SHUTDOWN_GRACE_MS);
      return false;
    }
  }

  private static long remainingMs(long deadline) {
    return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
  }

  /** Every HTTP instance at once: each stops accepting and finishes its requests in flight. */
  private Future<Void> undeployHttp() {
    return Future.join(httpDeployments.stream().map(id -> vertx.undeploy(id).otherwiseEmpty()).toList())
      .<Void>mapEmpty().otherwiseEmpty();
  }
}
