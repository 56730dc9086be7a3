package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.RowLock;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tick-coalesced point reads on the real database: reads of one kind that arrive together, or while their batch
 * waits for a connection, share one {@code WHERE id IN (…)} statement, and each caller still gets its own answer by
 * its own deadline.
 */
class PointReadsTest {

  private static final long LONG_BUDGET_MS = 20_000;
  private static final long SHORT_BUDGET_MS = 300;
  private static final Duration WITHIN = Duration.ofSeconds(20);

  private Vertx vertx;
  private ProxyClient proxy;
  private ProxyNode node;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx, 30_000);
  }

  @AfterEach
  void tearDown() {
    if (node != null) {
      node.undeploy().await();
    }
    vertx.close().await();
  }

  /** One event loop, {@code maxSize} connections, the users and settings caches off: every read needs the server. */
  private void deploy(int maxSize, long latencyMs) {
    JsonObject config = latencyMs > 0 ? TestConfigs.saturable(maxSize, 100, latencyMs)
      : TestConfigs.singleShard(TestConfigs.proxyConfig());
    JsonObject pool = config.getJsonObject("db").getJsonObject("pool");
    pool.put("maxSize", maxSize).put("maxWaitQueueSize", 100).put("acquireTimeoutMs", 30_000);
    config.getJsonObject("db").put("statementTimeoutMs", 30_000);
    config.put("cache", new JsonObject()
      .put("users", new JsonObject().put("enabled", false))
      .put("settings", new JsonObject().put("enabled", false)));
    node = ProxyNode.deploy(vertx, config, Ticker.systemTicker()).await();
  }

  private JsonObject createUser() {
    return proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "P")
      .put(Fields.EMAIL, "point-" + UUID.randomUUID() + "@example.com"));
  }

  private void putSettings(long userId, JsonObject settings) {
    proxy.call(Action.PUT_SETTINGS, new JsonObject().put(Fields.USER_ID, userId).put(Fields.SETTINGS, settings));
  }

  private JsonObject pointReads() {
    return proxy.stats().getJsonObject("pool").getJsonObject("pointReads");
  }

  private Future<Message<JsonObject>> getUser(long id, long budgetMs) {
    return proxy.request(Action.GET_USER, new JsonObject().put(Fields.USER_ID, id), budgetMs);
  }

  private static int failureCode(Future<Message<JsonObject>> reply) {
    assertTrue(reply.failed(), () -> "expected a failure, got " + reply.result().body());
    return assertInstanceOf(ReplyException.class, reply.cause()).failureCode();
  }

  @Test
  @DisplayName("reads queued behind a busy connection share one statement: each caller gets its own row, a missing id"
    + " is a 404 for its caller only, and a caller with a short deadline is answered by it without cutting the"
    + " others short")
  void coalescedReadsKeepTheirOwnAnswersAndDeadlines() {
    deploy(1, 0);
    List<JsonObject> users = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      users.add(createUser());
    }
    long missing = users.get(users.size() - 1).getLong(Fields.ID) + 1_000_000;
    JsonObject locked = createUser();
    long lockedId = locked.getLong(Fields.ID);
    putSettings(lockedId, new JsonObject().put("v", 0));
    JsonObject before = pointReads();

    List<Future<Message<JsonObject>>> first = new ArrayList<>();
    List<Future<Message<JsonObject>>> later = new ArrayList<>();
    AtomicReference<Future<Message<JsonObject>>> missingRead = new AtomicReference<>();
    AtomicReference<Future<Message<JsonObject>>> shortRead = new AtomicReference<>();
    Future<Message<JsonObject>> blocked;
    try (RowLock lock = RowLock.userSettings(vertx, List.of(lockedId))) {
      // The node's only connection waits on the row lock: every read below queues in admission.
      blocked = proxy.request(Action.PUT_SETTINGS, new JsonObject().put(Fields.USER_ID, lockedId)
        .put(Fields.SETTINGS, new JsonObject().put("v", 1)), LONG_BUDGET_MS);
      Poll.until(WITHIN, "the PUT holds the only connection",
        () -> proxy.stats().getJsonObject("pool").getInteger("inUse") == 1);
      Context sender = vertx.getOrCreateContext();
      Promise<Void> sent = Promise.promise();
      sender.runOnContext(v -> {
        for (JsonObject user : users) {
          first.add(getUser(user.getLong(Fields.ID), LONG_BUDGET_MS));
        }
        first.add(getUser(users.get(0).getLong(Fields.ID), LONG_BUDGET_MS));
        missingRead.set(getUser(missing, LONG_BUDGET_MS));
        shortRead.set(getUser(users.get(1).getLong(Fields.ID), SHORT_BUDGET_MS));
        for (JsonObject user : users.subList(2, 5)) {
          later.add(getUser(user.getLong(Fields.ID), LONG_BUDGET_MS));
        }
        sent.complete();
      });
      sent.future().await();
      // The short read is answered by its own deadline while the connection is still held.
      shortRead.get().otherwiseEmpty().await();
      int shortCode = failureCode(shortRead.get());
      assertTrue(shortCode == FailureCode.POOL_SATURATED || shortCode == FailureCode.STATEMENT_TIMEOUT,
        "the short read: " + shortCode);
      assertTrue(first.stream().noneMatch(Future::isComplete), "no long read answered while the connection is held");
    }
    blocked.await();
    Future.join(new ArrayList<>(first)).otherwiseEmpty().await();
    Future.join(new ArrayList<>(later)).otherwiseEmpty().await();
    missingRead.get().otherwiseEmpty().await();

    for (int i = 0; i < 10; i++) {
      assertTrue(first.get(i).succeeded(), "read " + i + ": " + first.get(i).cause());
      assertEquals(users.get(i), first.get(i).result().body());
    }
    assertEquals(users.get(0), first.get(10).result().body(), "the repeated id gets its row too");
    for (int i = 0; i < later.size(); i++) {
      assertTrue(later.get(i).succeeded(), "later read " + i + ": " + later.get(i).cause());
      assertEquals(users.get(2 + i), later.get(i).result().body());
    }
    assertEquals(FailureCode.NOT_FOUND, failureCode(missingRead.get()));

    JsonObject after = pointReads();
    long statements = after.getLong("statements") - before.getLong("statements");
    long reads = after.getLong("reads") - before.getLong("reads");
    // The 12 reads queued before the short one share one statement; the 3 after it joined the short read's batch,
    // read again when it ran out of time, and share a second.
    assertEquals(15, reads, after.encode());
    assertEquals(2, statements, after.encode());
  }

  @Test
  @DisplayName("a read sent after a write was acknowledged sees the write, while other readers keep batches of the"
    + " same user busy")
  void aReadAfterAnAcknowledgedWriteSeesIt() {
    deploy(2, 0);
    long userId = createUser().getLong(Fields.ID);
    putSettings(userId, new JsonObject().put("v", 0));
    // The readers read this user and three others, so that batches hold several ids (the IN statement).
    List<Long> readIds = new ArrayList<>(List.of(userId));
    for (int i = 0; i < 3; i++) {
      readIds.add(createUser().getLong(Fields.ID));
    }
    JsonObject before = pointReads();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> readerFailure = new AtomicReference<>();
    List<Future<Void>> readers = new ArrayList<>();
    for (int r = 0; r < 4; r++) {
      Context context = vertx.getOrCreateContext();
      Promise<Void> done = Promise.promise();
      long first = r;
      context.runOnContext(v -> readLoop(readIds, first, stop, readerFailure, done));
      readers.add(done.future());
    }
    try {
      for (int i = 1; i <= 40; i++) {
        putSettings(userId, new JsonObject().put("v", i));
        JsonObject read = proxy.call(Action.GET_SETTINGS, new JsonObject().put(Fields.USER_ID, userId));
        assertEquals(i, read.getJsonObject(Fields.SETTINGS).getInteger("v"), "the read after write " + i);
      }
    } finally {
      stop.set(true);
      Future.join(new ArrayList<>(readers)).otherwiseEmpty().await();
    }
    assertNull(readerFailure.get());
    JsonObject after = pointReads();
    assertTrue(after.getLong("reads") > before.getLong("reads"), after.encode());
  }

  private void readLoop(List<Long> ids, long n, AtomicBoolean stop, AtomicReference<Throwable> failure,
                        Promise<Void> done) {
    if (stop.get()) {
      done.complete();
      return;
    }
    long id = ids.get((int) (n % ids.size()));
    proxy.send(Action.GET_SETTINGS, new JsonObject().put(Fields.USER_ID, id)).onComplete(ar -> {
      if (ar.failed()) {
        failure.compareAndSet(null, ar.cause());
      }
      readLoop(ids, n + 1, stop, failure, done);
    });
  }

  @Test
  @DisplayName("a batch whose statement runs out of time (of several ids, or of one id read three times) answers each"
    + " of its callers once, with a 503 or 504, and gives its connection and permit back")
  void aFailedBatchAnswersEachCallerOnce() {
    deploy(1, 2_000);
    // Whether the ids exist does not matter: no statement gets as far as reading them.
    List<Long> ids = List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
    List<Future<Message<JsonObject>>> reads = new ArrayList<>();
    Context sender = vertx.getOrCreateContext();
    Promise<Void> sent = Promise.promise();
    sender.runOnContext(v -> {
      for (long id : ids) {
        reads.add(getUser(id, 500));
      }
      sent.complete();
    });
    sent.future().await();
    // Then one id read three times at once: a batch of one distinct id runs the single-row statement.
    Promise<Void> sentAgain = Promise.promise();
    sender.runOnContext(v -> {
      for (int i = 0; i < 3; i++) {
        reads.add(getUser(9, 500));
      }
      sentAgain.complete();
    });
    sentAgain.future().await();
    Future.join(new ArrayList<>(reads)).otherwiseEmpty().await();
    Map<Integer, Long> codes = new java.util.TreeMap<>();
    for (Future<Message<JsonObject>> read : reads) {
      codes.merge(failureCode(read), 1L, Long::sum);
    }
    assertTrue(codes.keySet().stream().allMatch(code -> code == FailureCode.STATEMENT_TIMEOUT
      || code == FailureCode.POOL_SATURATED), codes.toString());
    Poll.until(WITHIN, "the batch's connection and permit given back", () -> {
      JsonObject pool = proxy.stats().getJsonObject("pool");
      return pool.getInteger("inUse") == 0 && pool.getInteger("waiting") == 0;
    });
  }

  @Test
  @DisplayName("reads of one id that share a statement stopped at its deadline on the server (the table locked by"
    + " another session) are each answered 503 or 504, never a raw database error")
  void aOneIdBatchStoppedOnTheServerIsATimeout() {
    deploy(2, 0);
    long id = createUser().getLong(Fields.ID);
    Pool locker = MySQLBuilder.pool().with(new PoolOptions().setMaxSize(1).setName("test-table-lock"))
      .connectingTo(TestDatabase.settings().toConnectOptions()).using(vertx).build();
    SqlConnection conn = locker.getConnection().await();
    List<Future<Message<JsonObject>>> reads = new ArrayList<>();
    try {
      conn.query("LOCK TABLES users WRITE").execute().await();
      Context sender = vertx.getOrCreateContext();
      Promise<Void> sent = Promise.promise();
      sender.runOnContext(v -> {
        for (int i = 0; i < 3; i++) {
          reads.add(getUser(id, 500));
        }
        sent.complete();
      });
      sent.future().await();
      Future.join(new ArrayList<>(reads)).otherwiseEmpty().await();
    } finally {
      conn.query("UNLOCK TABLES").execute().await();
      conn.close().await();
      locker.close().await();
    }
    for (Future<Message<JsonObject>> read : reads) {
      int code = failureCode(read);
      assertTrue(code == FailureCode.STATEMENT_TIMEOUT || code == FailureCode.POOL_SATURATED, "answered " + code
        + ": " + read.cause().getMessage());
    }
  }
}
