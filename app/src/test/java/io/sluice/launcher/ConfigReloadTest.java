package io.sluice.launcher;

import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.DatabaseProxyVerticle;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ops edit the config file under a running service; the service follows without a restart. */
@ExtendWith(VertxExtension.class)
class ConfigReloadTest {

  private static final String TOKEN = "test-admin-token-42";
  private static final String PASSWORD = "s3cret-pw";

  @TempDir
  Path dir;

  private Path file;
  /** Only the watcher-only tests use these; the service tests each run in a {@link TestSluice.Running}. */
  private Vertx vertx;
  /** The APPLY_CONFIG bodies sent on the event bus, in order, answered or not. */
  private final ConcurrentLinkedQueue<JsonObject> applies = new ConcurrentLinkedQueue<>();

  @AfterEach
  void stop() {
    if (vertx != null) {
      vertx.close().await();
    }
  }

  /**
   * The saturable test config (a pool of {@code maxSize}, 300 ms of injected latency when {@code faults}), caches
   * off, a fast scan and an admin token. The embedded test server runs without authentication, so a password only
   * has to be redacted, not right.
   */
  private static JsonObject config(int maxSize, boolean faults) {
    JsonObject config = TestSluice.saturable(maxSize, PoolSettings.DEFAULT_MAX_WAIT_QUEUE_SIZE, 300);
    config.getJsonObject("faults").getJsonObject("dbLatency").put("enabled", faults);
    JsonObject db = config.getJsonObject("db");
    if (db.getString("password").isEmpty()) {
      db.put("password", PASSWORD);
    }
    for (String cache : new String[]{"users", "settings", "notifications"}) {
      config.getJsonObject("cache").getJsonObject(cache).put("enabled", false);
    }
    config.getJsonObject("reload").put("scanPeriodMs", 100);
    config.getJsonObject("admin").put("token", TOKEN);
    return config;
  }

  /** The config file's text: JSON is YAML. */
  private static String yaml(JsonObject config) {
    return config.encodePrettily();
  }

  private static String yaml(int maxSize, boolean faults) {
    return yaml(config(maxSize, faults));
  }

  /**
   * {@link #yaml(int, boolean)} with lanes off: one lane whose limit starts at the whole pool. With lanes on, a
   * fresh pool lets one action hold only a part of it until its lane has samples ({@code Admission}), and the test
   * that counts statements at once is about the pool, not the lanes.
   */
  private static String oneLane(int maxSize, boolean faults) {
    JsonObject config = config(maxSize, faults);
    config.getJsonObject("db").put("lanes", new JsonObject().put("enabled", false));
    return yaml(config);
  }

  /** Sluice on a config file holding {@code content}, watching it. */
  private TestSluice.Running start(String content) throws IOException {
    file = dir.resolve("config.yaml");
    Files.writeString(file, content);
    return TestSluice.start(new ConfigSource(file, true, Map.of()));
  }

  private void edit(String content) throws IOException {
    Path tmp = dir.resolve("config.yaml.tmp");
    Files.writeString(tmp, content);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
      java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static JsonObject admin(TestSluice.Running sluice, String path) {
    HttpResponse<Buffer> response = sluice.client().get(path).putHeader("Authorization", "Bearer " + TOKEN).send()
      .await();
    assertEquals(200, response.statusCode(), response.bodyAsString());
    return response.bodyAsJsonObject();
  }

  private static void eventually(String what, BooleanSupplier condition) {
    Poll.until(Duration.ofSeconds(15), what, condition);
  }

  @Test
  @DisplayName("an edited pool size applies within the scan period, and the server's connections follow")
  void poolResizesLive() throws IOException {
    try (TestSluice.Running sluice = start(oneLane(2, false))) {
      assertEquals(2, admin(sluice, "/admin/pool").getInteger("maxSize"));

      edit(oneLane(6, true));
      eventually("maxSize 6 never applied", () -> admin(sluice, "/admin/pool").getInteger("maxSize") == 6);
      // Six slow requests at once: with the new pool all six run on the server together. Notification lists:
      // concurrent point reads of one kind would share one statement.
      List<Future<HttpResponse<Buffer>>> slow = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        slow.add(sluice.client().get("/users/" + (960_000 + i) + "/notifications").send());
      }
      long maxRunning = 0;
      Future<?> all = Future.all(slow);
      while (!all.isComplete()) {
        maxRunning = Math.max(maxRunning, sluice.sql().count(
          "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "'"));
      }
      assertEquals(6, maxRunning, "statements running at once on the server");
      slow.forEach(r -> assertEquals(404, r.result().statusCode()));

      edit(oneLane(3, true));
      eventually("maxSize 3 never applied", () -> admin(sluice, "/admin/pool").getInteger("maxSize") == 3);
      // The old pool drains and closes: the open connections of the request pool come back to the new maxSize.
      eventually("pool did not shrink", () -> admin(sluice, "/admin/pool").getInteger("open") <= 3);
      // And on the server: the new pool (3), the admin connection and this test's own checker, nothing more.
      eventually("the server still holds the old pool's connections", () -> sluice.sql().count(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND <> 'Daemon'",
        TestDatabase.settings().database()) <= 3 + 1 + 1);
      assertEquals(2, admin(sluice, "/admin/config").getJsonObject("reloads").getInteger("applied"));
    }
  }

  @Test
  @DisplayName("pool swaps under steady concurrent load fail no request")
  void swapsUnderLoadFailNothing() throws IOException {
    try (TestSluice.Running sluice = start(yaml(4, false))) {
      AtomicBoolean running = new AtomicBoolean(true);
      ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
      List<Future<Void>> workers = new ArrayList<>();
      for (int w = 0; w < 8; w++) {
        int worker = w;
        workers.add(loop(sluice, worker, running, statuses));
      }
      for (int size : new int[]{7, 3, 5}) {
        edit(yaml(size, false));
        eventually("maxSize " + size + " never applied",
          () -> admin(sluice, "/admin/pool").getInteger("maxSize") == size);
      }
      running.set(false);
      Future.all(workers).await();
      assertTrue(statuses.size() > 8, "the load ran: " + statuses.size());
      List<Integer> failures = statuses.stream().filter(s -> s >= 500).toList();
      assertEquals(List.of(), failures, "requests failed during swaps");
      assertEquals(3, admin(sluice, "/admin/pool").getInteger("swaps"));
    }
  }

  private static Future<Void> loop(TestSluice.Running sluice, int worker, AtomicBoolean running,
    ConcurrentLinkedQueue<Integer> statuses) {
    if (!running.get()) {
      return Future.succeededFuture();
    }
    Future<HttpResponse<Buffer>> request = worker % 2 == 0
      ? sluice.client().get("/users/" + (970_000 + worker)).send()
      : sluice.client().post("/users").sendJson(new JsonObject().put("name", "w")
        .put("email", "swap-" + java.util.UUID.randomUUID() + "@example.com"));
    return request.compose(response -> {
      statuses.add(response.statusCode());
      return loop(sluice, worker, running, statuses);
    });
  }

  @Test
  @DisplayName("an invalid file and a pool over the capacity guard are refused, and the old config stays")
  void invalidChangesAreRefused() throws IOException {
    try (TestSluice.Running sluice = start(yaml(2, false))) {
      edit("db: [this is not: valid yaml\n");
      eventually("bad YAML not counted",
        () -> admin(sluice, "/admin/config").getJsonObject("reloads").getInteger("rejected") == 1);
      assertEquals(2, admin(sluice, "/admin/pool").getInteger("maxSize"));

      JsonObject negative = config(2, false);
      negative.getJsonObject("db").getJsonObject("pool").put("maxSize", -4);
      edit(yaml(negative));
      eventually("negative size not counted",
        () -> admin(sluice, "/admin/config").getJsonObject("reloads").getInteger("rejected") == 2);
      assertTrue(admin(sluice, "/admin/config").getJsonObject("reloads").getString("lastError")
        .contains("db.pool.maxSize"));

      long maxConnections = admin(sluice, "/admin/pool").getJsonObject("server").getLong("maxConnections");
      edit(yaml((int) maxConnections, false));
      eventually("guard refusal not counted",
        () -> admin(sluice, "/admin/config").getJsonObject("reloads").getInteger("rejected") == 3);
      assertTrue(admin(sluice, "/admin/config").getJsonObject("reloads").getString("lastError")
        .contains("max_connections"));
      assertEquals(2, admin(sluice, "/admin/pool").getInteger("maxSize"));
      assertEquals(0, admin(sluice, "/admin/config").getJsonObject("reloads").getInteger("applied"));

      edit(yaml(3, false));
      eventually("a valid change after refusals applies",
        () -> admin(sluice, "/admin/pool").getInteger("maxSize") == 3);
    }
  }

  @Test
  @DisplayName("admin endpoints: 401 without or with a wrong token, 200 with it, secrets redacted")
  void adminEndpointsRequireTheToken() throws IOException {
    try (TestSluice.Running sluice = start(yaml(2, false))) {
      for (String auth : new String[]{null, "Bearer wrong", "Basic " + TOKEN, "Bearer " + TOKEN + "x"}) {
        var request = sluice.client().get("/admin/pool");
        if (auth != null) {
          request.putHeader("Authorization", auth);
        }
        HttpResponse<Buffer> response = request.send().await();
        assertEquals(401, response.statusCode());
        assertEquals("unauthorized", response.bodyAsJsonObject().getString("error"));
        assertFalse(response.bodyAsString().contains(TOKEN));
      }
      JsonObject pool = admin(sluice, "/admin/pool");
      for (String key : new String[]{"maxSize", "maxWaitQueueSize", "acquireTimeoutMs", "inUse", "idle", "waiting",
        "executed", "rejected", "server"}) {
        assertTrue(pool.containsKey(key), "missing " + key + " in " + pool);
      }
      String config = sluice.client().get("/admin/config").putHeader("Authorization", "Bearer " + TOKEN).send()
        .await().bodyAsString();
      assertFalse(config.contains(PASSWORD), "password leaked");
      assertFalse(config.contains(TOKEN), "token leaked");
      assertTrue(config.contains("******"));
    }
  }

  @Test
  @DisplayName("without a configured token the admin endpoints do not exist")
  void noTokenNoAdmin() throws IOException {
    JsonObject noToken = config(2, false);
    noToken.getJsonObject("admin").put("token", "");
    try (TestSluice.Running sluice = start(yaml(noToken))) {
      assertEquals(404, sluice.client().get("/admin/pool").putHeader("Authorization", "Bearer " + TOKEN).send()
        .await().statusCode());
    }
  }

  /**
   * Only the config watcher, on a context of its own as the launcher runs it, and no proxy: the tests below deploy
   * one when they want an answer. Every APPLY_CONFIG it sends is recorded in {@link #applies}.
   */
  private void watchOnly(String content, long applyTimeoutMs) throws IOException {
    file = dir.resolve("config.yaml");
    Files.writeString(file, content);
    vertx = Vertx.vertx();
    vertx.eventBus().addOutboundInterceptor(delivery -> {
      Message<?> message = delivery.message();
      if (ProxyContract.ADMIN_ADDRESS.equals(message.address())
        && Action.APPLY_CONFIG.equals(message.headers().get(ProxyContract.ACTION_HEADER))) {
        applies.add((JsonObject) message.body());
      }
      delivery.next();
    });
    ConfigSource source = new ConfigSource(file, true, Map.of());
    JsonObject loaded = SluiceConfig.load(vertx, source).await();
    ConfigReloader reloader = new ConfigReloader(vertx, source, loaded, 100, applyTimeoutMs, null);
    Promise<Void> started = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> {
      reloader.start();
      started.complete();
    });
    started.future().await();
  }

  private void deployProxy(String content) {
    JsonObject config = SluiceConfig.validate(new JsonObject(content));
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
  }

  /** {@code reloads} of the watcher's status, asked over the event bus as the admin endpoint does. */
  private JsonObject reloads() {
    return vertx.eventBus().<JsonObject>request(ProxyContract.CONFIG_STATUS_ADDRESS, new JsonObject(),
      new DeliveryOptions().setSendTimeout(10_000)).await().body().getJsonObject("reloads");
  }

  private static int sentMaxSize(JsonObject apply) {
    return apply.getJsonObject("db").getJsonObject("pool").getInteger("maxSize");
  }

  @Test
  @DisplayName("a change sent while no proxy is registered is deferred, not rejected, and applies once one is")
  void changeWithoutProxyIsDeferredThenApplied() throws IOException {
    watchOnly(yaml(2, false), ConfigReloader.APPLY_TIMEOUT_MS);
    edit(yaml(3, false));
    // Each try fails at once with NO_HANDLERS; a second one shows the change was kept for the next scan.
    eventually("the change was not tried again after finding no proxy", () -> applies.size() >= 2);
    JsonObject reloads = reloads();
    assertEquals(0, reloads.getInteger("rejected"), reloads.encode());
    assertEquals(0, reloads.getInteger("applied"));

    deployProxy(yaml(2, false));
    eventually("the change never applied once the proxy was there", () -> reloads().getInteger("applied") == 1);
    assertEquals(3, new ProxyClient(vertx).stats().getJsonObject("pool").getInteger("maxSize"));
    assertEquals(0, reloads().getInteger("rejected"));
  }

  @Test
  @DisplayName("an apply not answered in time is deferred, sent again even once the file is back, then confirmed")
  void unansweredApplyIsDeferredAndSentAgain() throws IOException {
    // A consumer that never answers stands for a proxy too slow to answer within the (shortened) send timeout.
    watchOnly(yaml(2, false), 200);
    MessageConsumer<JsonObject> silent = vertx.eventBus().consumer(ProxyContract.ADMIN_ADDRESS, message -> { });
    silent.completion().await();
    edit(yaml(3, false));
    eventually("the change was not sent again after its apply timed out", () -> applies.size() >= 2);
    assertTrue(applies.stream().allMatch(apply -> sentMaxSize(apply) == 3), applies.toString());
    assertEquals(0, reloads().getInteger("rejected"));

    // The file goes back to the config in force; a slow proxy may have taken the change all the same, so the
    // watcher keeps sending what is in force until a proxy answers.
    edit(yaml(2, false));
    eventually("the config in force was not sent again", () -> sentMaxSize(last(applies)) == 2);
    silent.unregister().await();
    deployProxy(yaml(2, false));
    AtomicReference<JsonObject> reloads = new AtomicReference<>();
    edit(yaml(4, false));
    eventually("a later change never applied", () -> {
      reloads.set(reloads());
      return reloads.get().getInteger("applied") == 1;
    });
    assertEquals(0, reloads.get().getInteger("rejected"));
    assertEquals(4, new ProxyClient(vertx).stats().getJsonObject("pool").getInteger("maxSize"));
  }

  private static JsonObject last(ConcurrentLinkedQueue<JsonObject> queue) {
    List<JsonObject> copy = List.copyOf(queue);
    return copy.get(copy.size() - 1);
  }
}
