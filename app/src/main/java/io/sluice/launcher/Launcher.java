package io.sluice.launcher;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.api.HttpVerticle;
import io.sluice.proxy.DatabaseProxyVerticle;
import io.sluice.proxy.config.DbSettings;
import io.sluice.config.JsonSection;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.db.DatabaseSetup;
import io.sluice.proxy.db.EmbeddedDatabase;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * Runs both tiers in one process: the embedded database when no {@code db.host} is configured, migrations (and demo
 * data for the embedded database) on a worker thread, then the proxy verticle, then the HTTP verticle once the
 * proxy is up. {@link #close()} undeploys in reverse order, letting requests in flight finish.
 */
public final class Launcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Launcher.class);

  private final Vertx vertx;
  private final EmbeddedDatabase embedded;
  private final HttpVerticle http;
  private final String proxyDeployment;
  private final String httpDeployment;
  private ConfigReloader reloader;

  private Launcher(Vertx vertx, EmbeddedDatabase embedded, HttpVerticle http, String proxyDeployment,
                   String httpDeployment) {
    this.vertx = vertx;
    this.embedded = embedded;
    this.http = http;
    this.proxyDeployment = proxyDeployment;
    this.httpDeployment = httpDeployment;
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
    JsonObject effective = config.copy();
    DbSettings db = ProxyConfig.from(effective).db();
    EmbeddedDatabase embedded = null;
    int seedUsers = 0;
    try {
      if (!db.hostConfigured()) {
        EmbeddedSettings settings = EmbeddedSettings.from(JsonSection.root(effective).section("embedded"));
        Path dir = Path.of(settings.dataDir(), "mariadb");
        log.info("No db.host configured: starting the embedded MariaDB in {}", dir.toAbsolutePath());
        EmbeddedDatabase started = EmbeddedDatabase.start(dir, settings.port(), db.database());
        embedded = started;
        db = db.withServer("127.0.0.1", started.port(), started.user(), started.password());
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
      String proxyId = vertx.deployVerticle(new DatabaseProxyVerticle(cacheClock), options).await();
      HttpVerticle http = new HttpVerticle();
      String httpId = vertx.deployVerticle(http, options).await();
      Launcher launcher = new Launcher(vertx, embedded, http, proxyId, httpId);
      long scanPeriodMs = config.getJsonObject("reload").getLong("scanPeriodMs", SluiceConfig.DEFAULT_SCAN_PERIOD_MS);
      if (source != null && scanPeriodMs > 0) {
        launcher.watch(source, config, scanPeriodMs);
      }
      return launcher;
    } catch (RuntimeException e) {
      if (embedded != null) {
        embedded.close();
      }
      throw e;
    }
  }

  /** Runs the config watcher on a context of its own (it must not block, and it needs no verticle). */
  private void watch(ConfigSource source, JsonObject loaded, long scanPeriodMs) {
    io.micrometer.core.instrument.MeterRegistry registry = vertx.isMetricsEnabled()
      ? io.vertx.micrometer.backends.BackendRegistries.getDefaultNow() : null;
    io.vertx.core.Context context = vertx.getOrCreateContext();
    reloader = new ConfigReloader(vertx, source, loaded, scanPeriodMs, registry);
    io.vertx.core.Promise<Void> started = io.vertx.core.Promise.promise();
    context.runOnContext(v -> {
      reloader.start();
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

  @Override
  public void close() {
    log.info("Shutting down: HTTP first, then the database proxy (requests in flight finish first)");
    try {
      if (reloader != null) {
        reloader.stop();
      }
      vertx.undeploy(httpDeployment).otherwiseEmpty().await();
      vertx.undeploy(proxyDeployment).otherwiseEmpty().await();
      vertx.close().await();
    } catch (RuntimeException e) {
      log.warn("Shutdown was not clean: {}", e.toString());
    } finally {
      if (embedded != null) {
        embedded.close();
      }
    }
  }
}
