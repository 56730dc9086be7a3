package io.sluice.launcher;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.sluice.testing.OpenApiCheck;
import io.vertx.core.Vertx;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.util.function.Supplier;

/**
 * Sluice started through the real launcher against the test database, HTTP on a free port, and the one way tests
 * get a client of its HTTP API: {@link #client} holds every response to {@code openapi.yaml}, so no test can forget
 * the check.
 */
public final class TestSluice {

  /**
   * Connections of the test client: more than any test has in flight at once, so requests never queue in the client
   * and the tests meet the service's own limits (its pool and wait queue), not the client's.
   */
  static final int CLIENT_CONNECTIONS = 64;

  private TestSluice() {
  }

  /**
   * The full default config aimed at the test database; callers adjust it before {@link #start}. One proxy shard
   * ({@code proxy.instances: 1}): the HTTP tests count exact outcomes of one pool and one queue. The HTTP tier keeps
   * its default (one instance per processor), so every HTTP test also runs on several HTTP instances.
   */
  public static JsonObject config() {
    JsonObject config = SluiceConfig.defaults();
    config.put("db", TestDatabase.settings().toJson());
    config.getJsonObject("http").put("port", 0).put("host", "127.0.0.1");
    config.getJsonObject("proxy").put("instances", 1);
    return config;
  }

  /** {@link #config()} with {@link TestConfigs#saturable}'s small pool and fixed injected latency. */
  public static JsonObject saturable(int maxSize, int maxWaitQueueSize, long latencyMs) {
    return config().mergeIn(TestConfigs.saturable(maxSize, maxWaitQueueSize, latencyMs), true);
  }

  /** Sluice on {@code config} (see {@link #config()}), on a Vert.x of its own; blocks until it serves. */
  public static Running start(JsonObject config) {
    return start(Vertx.vertx(), config, Ticker.systemTicker());
  }

  /** As {@link #start(JsonObject)}, with the clock of the proxy's caches. */
  public static Running start(JsonObject config, Ticker cacheClock) {
    return start(Vertx.vertx(), config, cacheClock);
  }

  /**
   * As {@link #start(JsonObject)}, on {@code vertx} (e.g. {@link SluiceVertx#create()}, which serves /metrics).
   * The result owns {@code vertx}: it is closed with the service, or at once when the start fails.
   */
  public static Running start(Vertx vertx, JsonObject config, Ticker cacheClock) {
    return launch(vertx, () -> Launcher.start(vertx, SluiceConfig.validate(config), cacheClock, null));
  }

  /** Sluice on the config file behind {@code source}, following its edits as {@link Main} does. */
  public static Running start(ConfigSource source) {
    Vertx vertx = Vertx.vertx();
    return launch(vertx, () -> Launcher.start(vertx, SluiceConfig.load(vertx, source).await(), Ticker.systemTicker(),
      source));
  }

  private static Running launch(Vertx vertx, Supplier<Launcher> start) {
    Launcher launcher;
    try {
      launcher = start.get();
    } catch (Throwable e) {
      // Future.await() rethrows checked causes as they are: catch everything. A failed Launcher.start has closed
      // Vert.x already (a second close is harmless); a config that did not load or validate has not.
      vertx.close().await();
      throw e;
    }
    try {
      return new Running(launcher, client(vertx, launcher.httpPort()));
    } catch (Throwable e) {
      launcher.close();
      throw e;
    }
  }

  /**
   * A client of the HTTP API on {@code 127.0.0.1:port} that holds every response it receives to
   * {@code openapi.yaml} ({@link OpenApiCheck}): a response that does not match fails its request's future.
   */
  public static WebClient client(Vertx vertx, int port) {
    WebClient client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
      .setDefaultPort(port), new PoolOptions().setHttp1MaxSize(CLIENT_CONNECTIONS));
    return OpenApiCheck.validating(vertx, client);
  }

  /**
   * A started Sluice with its checked {@link #client()} and, on first use, a {@link #sql()} reader of the test
   * database. {@link #close()} stops all of it, the service (and its Vert.x) last.
   */
  public static final class Running implements AutoCloseable {

    private final Launcher launcher;
    private final WebClient client;
    // Touched by the test's thread only, like the rest of a test's fixture.
    private TestSql sql;

    private Running(Launcher launcher, WebClient client) {
      this.launcher = launcher;
      this.client = client;
    }

    public Vertx vertx() {
      return launcher.vertx();
    }

    public Launcher launcher() {
      return launcher;
    }

    public int port() {
      return launcher.httpPort();
    }

    /** The HTTP API's client: every response it receives is held to {@code openapi.yaml}. */
    public WebClient client() {
      return client;
    }

    /** Direct reads of the test database, to check what the service stored. */
    public TestSql sql() {
      if (sql == null) {
        sql = new TestSql(vertx());
      }
      return sql;
    }

    @Override
    public void close() {
      try {
        if (sql != null) {
          sql.close();
        }
        client.close();
      } finally {
        launcher.close();
      }
    }
  }
}
