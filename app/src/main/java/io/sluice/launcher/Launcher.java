package io.sluice.launcher;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.api.HttpSettings;
import io.sluice.api.HttpVerticle;
import io.sluice.proxy.ProxyNode;
import io.sluice.proxy.config.DbSettings;
import io.sluice.config.JsonSection;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.db.DatabaseSetup;
import io.sluice.proxy.db.EmbeddedDatabase;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs both tiers in one process: the embedded database when no {@code db.host} is configured, migrations (and demo
 * data for the embedded database) on a worker thread, then the proxy node ({@link ProxyNode}: {@code proxy.instances}
 * shards), then the HTTP verticle once the proxy is up, {@code http.instances} times on the one port (Vert.x
 * balances the accepted connections among them).
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

  private final Vertx vertx;
  private final JsonObject config;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Boolean> closed = new CompletableFuture<>();
  // Written by the starting thread, read by whichever thread closes.
  private volatile EmbeddedDatabase embedded;
  /** The first HTTP instance: the port and the shutdown bound are read from it. */
  private volatile HttpVerticle http;
  private volatile ProxyNode proxy;
  private final List<String> httpDeployments = new CopyOnWriteArrayList<>();
  private volatile ConfigReloader reloader;

  /** A launcher for a validated config (see {@link SluiceConfig#load}) that has started nothing yet. */
  public Launcher(Vertx vertx, JsonObject config) {
    this.vertx = vertx;
    this.config = config;
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
      DbSettings db = ProxyConfig.from(effective).db();
      int seedUsers = 0;
      if (!db.hostConfigured()) {
        EmbeddedSettings settings = EmbeddedSettings.from(JsonSection.root(effective).section("embedded"));
        Path dir = Path.of(settings.dataDir(), "mariadb");
        log.info("No db.host configured: starting the embedded MariaDB in {}", dir.toAbsolutePath());
        EmbeddedDatabase installed = EmbeddedDatabase.install(dir, settings.port(), db.database());
        embedded = installed;
        requireNotClosing();
        installed.start();
        db = db.withServer("127.0.0.1", installed.port(), installed.user(), installed.password());
        effective.put("db", db.toJson());
        seedUsers = settings.seedUsers();
      }
      DbSettings target = db;
      int seed = seedUsers;
      // JDBC and Flyway block: run them on a worker, before any verticle serves traffic.
      vertx.executeBlocking(() -> {
        DatabaseSetup.migrate(target);
        return DatabaseSetup.seedIfEmpty(target, seed);
      }).await();

      DeploymentOptions options = new DeploymentOptions().setConfig(effective)
        .setThreadingModel(ThreadingModel.EVENT_LOOP);
      requireNotClosing();
      proxy = ProxyNode.deploy(vertx, effective, cacheClock).await();
      requireNotClosing();
      deployHttp(effective, options);
      long scanPeriodMs = ReloadSettings.from(JsonSection.root(config).section("reload")).scanPeriodMs();
      if (source != null && scanPeriodMs > 0) {
        requireNotClosing();
        watch(source, config, scanPeriodMs);
      }
    } catch (Throwable e) {
      // Future.await() rethrows checked causes (a BindException) as they are: catch everything.
      close();
      throw e;
    }
  }

  /**
   * {@code http.instances} HTTP verticles in one deployment, sharing the port (port 0: one random port for all of
   * them, see {@link HttpVerticle#HttpVerticle(boolean)}), each on its own event loop.
   */
  private void deployHttp(JsonObject effective, DeploymentOptions options) {
    int instances = HttpSettings.from(effective.getJsonObject("http")).resolvedInstances();
    httpDeployments.add(vertx.deployVerticle(() -> {
      HttpVerticle verticle = new HttpVerticle(instances > 1);
      if (http == null) {
        http = verticle;
      }
      return verticle;
    }, new DeploymentOptions(options).setInstances(instances)).await());
    log.info("HTTP tier: {} instance(s) on port {}", instances, http.actualPort());
  }

  private void requireNotClosing() {
    if (closing.get()) {
      throw new IllegalStateException("shutdown requested while starting");
    }
  }

  /** Runs the config watcher on a context of its own (it must not block, and it needs no verticle). */
  private void watch(ConfigSource source, JsonObject loaded, long scanPeriodMs) {
    io.micrometer.core.instrument.MeterRegistry registry = vertx.isMetricsEnabled()
      ? io.vertx.micrometer.backends.BackendRegistries.getDefaultNow() : null;
    io.vertx.core.Context context = vertx.getOrCreateContext();
    ConfigReloader watcher = new ConfigReloader(vertx, source, loaded, scanPeriodMs, registry);
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

  /** The proxy node (null before it started). */
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
