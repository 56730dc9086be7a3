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
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lanes against a real row lock (the unit view with a clock the test moves: {@code impl.LanesTest}). The test
 * holds the {@code user_settings} rows of some users from its own connection; {@code settings.put} of those users
 * then blocks on the server until its deadline. A node of 2 event loops and 8 connections must keep that class of
 * statements to its lane (reads of other users keep being served), shrink the lane to its probe after the first
 * drops, refuse what cannot finish at once ({@code lane_deadline}), answer every request exactly once, and recover
 * when the lock goes.
 */
class LanesRowLockTest {

  private static final Duration WITHIN = Duration.ofSeconds(30);
  private static final int POOL = 8;
  private static final int LOCKED_USERS = 4;
  private static final int READ_USERS = 4;
  private static final int PUTS_PER_WAVE = 12;
  private static final int READS_PER_WAVE = 16;
  /** The first wave's budget: its statements are stopped at this deadline, and their execution times say so. */
  private static final long FIRST_BUDGET_MS = 1_500;
  /** Shorter than what the lane's statements took in the first wave: only the lane's probe may try. */
  private static final long SECOND_BUDGET_MS = 1_000;
  private static final long READ_BUDGET_MS = 1_500;
  private static final String LANE = Action.PUT_SETTINGS;
  private static final String PUTS_ON_SERVER = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?"
    + " AND ID <> CONNECTION_ID() AND ID <> ? AND INFO LIKE '%INSERT INTO user_settings%'";

  private Vertx vertx;
  private ProxyClient proxy;
  private TestSql sql;
  private ProxyNode node;
  private RowLock lock;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
    sql = new TestSql(vertx);
  }

  @AfterEach
  void tearDown() {
    if (lock != null) {
      lock.close();
    }
    if (node != null) {
      node.undeploy().await();
    }
    sql.close();
    vertx.close().await();
  }

  /** 2 event loops, 8 connections, and no users cache: every read below runs a statement on the pool. */
  private static JsonObject config() {
    JsonObject config = TestConfigs.shards(TestConfigs.proxyConfig(), 2);
    config.getJsonObject("db").getJsonObject("pool").put("maxSize", POOL);
    config.put("cache", new JsonObject().put("users", new JsonObject().put("enabled", false)));
    return config;
  }

  private long newUser() {
    return proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "L")
      .put(Fields.EMAIL, "lock-" + UUID.randomUUID() + "@example.com")).getLong(Fields.ID);
  }

  private Future<Message<JsonObject>> put(long userId, long budgetMs, int round) {
    return proxy.request(Action.PUT_SETTINGS, new JsonObject().put(Fields.USER_ID, userId)
      .put(Fields.SETTINGS, new JsonObject().put("round", round)), budgetMs);
  }

  private Future<Message<JsonObject>> read(long userId) {
    return proxy.request(Action.GET_USER, new JsonObject().put(Fields.USER_ID, userId), READ_BUDGET_MS);
  }

  private JsonObject lane() {
    return proxy.stats().getJsonObject("lanes").getJsonObject(LANE);
  }

  private static long rejectedTotal(JsonObject lane) {
    JsonObject rejected = lane.getJsonObject("rejected");
    return rejected.fieldNames().stream().mapToLong(rejected::getLong).sum();
  }

  /** {@code settings.put} statements of the proxy on the server, running or waiting for the lock. */
  private long putsOnServer() {
    return sql.count(PUTS_ON_SERVER, TestDatabase.settings().user(), lock.connectionId());
  }

  /** A user.get answered with the user: the read lane is served whatever the locked lane does. */
  private static void assertRead(Future<Message<JsonObject>> reply, long userId) {
    reply.otherwiseEmpty().await();
    assertTrue(reply.succeeded(), () -> "read of user " + userId + " failed: " + reply.cause());
    assertEquals(userId, reply.result().body().getLong(Fields.ID));
  }

  /** Exactly one answer, from the proxy, and not a success: the row is locked for the whole wave. */
  private static int failureCode(Future<Message<JsonObject>> reply) {
    reply.otherwiseEmpty().await();
    assertFalse(reply.succeeded(), "a settings.put of a locked row succeeded");
    ReplyException failure = assertInstanceOf(ReplyException.class, reply.cause());
    assertEquals(ReplyFailure.RECIPIENT_FAILURE, failure.failureType(), "answered by the proxy, not timed out");
    assertTrue(Set.of(FailureCode.POOL_SATURATED, FailureCode.STATEMENT_TIMEOUT).contains(failure.failureCode()),
      failure.failureCode() + ": " + failure.getMessage());
    return failure.failureCode();
  }

  private static boolean allComplete(List<Future<Message<JsonObject>>> replies) {
    return replies.stream().allMatch(Future::isComplete);
  }

  @Test
  @DisplayName("settings.put blocked by a row lock stays within its lane: reads of other users are served, the lane"
    + " shrinks to its probe after its first drops and refuses the rest at once, every request gets one answer,"
    + " and the lane recovers when the lock is released")
  void rowLockIsContainedInItsLane() {
    node = ProxyNode.deploy(vertx, config(), Ticker.systemTicker()).await();
    assertEquals(2, node.eventLoops());
    List<Long> locked = new ArrayList<>();
    List<Long> readers = new ArrayList<>();
    for (int i = 0; i < LOCKED_USERS; i++) {
      long id = newUser();
      locked.add(id);
      // The row the lock will hold, created through the proxy (fewer statements than the lane needs to be judged
      // healthy: it cannot borrow beyond its limit in the first wave).
      put(id, FIRST_BUDGET_MS, 0).await();
    }
    for (int i = 0; i < READ_USERS; i++) {
      long id = newUser();
      readers.add(id);
      assertRead(read(id), id);
    }
    JsonObject before = lane();
    int limitBefore = before.getInteger("limit");
    assertTrue(limitBefore < POOL, "the lane's limit is a part of the pool: " + before);
    long accountedBefore = before.getLong("executed") + rejectedTotal(before);
    int putsSent = 0;

    lock = RowLock.userSettings(vertx, locked);

    // Wave 1: more puts than the lane's limit, all blocked by the lock, with reads of other users among them.
    List<Future<Message<JsonObject>>> wave1 = new ArrayList<>();
    List<Future<Message<JsonObject>>> reads = new ArrayList<>();
    for (int i = 0; i < Math.max(PUTS_PER_WAVE, READS_PER_WAVE); i++) {
      if (i < PUTS_PER_WAVE) {
        wave1.add(put(locked.get(i % LOCKED_USERS), FIRST_BUDGET_MS, 1));
        putsSent++;
      }
      if (i < READS_PER_WAVE) {
        reads.add(read(readers.get(i % READ_USERS)));
      }
    }
    long maxInFlight = 0;
    long maxOnServer = 0;
    int samples = 0;
    while (!allComplete(wave1)) {
      maxInFlight = Math.max(maxInFlight, lane().getInteger("inFlight"));
      maxOnServer = Math.max(maxOnServer, putsOnServer());
      long reader = readers.get(samples++ % READ_USERS);
      assertRead(read(reader), reader);
    }
    assertTrue(maxInFlight <= limitBefore, "the lane held " + maxInFlight + " connections, limit " + limitBefore);
    assertTrue(maxOnServer <= limitBefore, maxOnServer + " puts on the server, lane limit " + limitBefore);
    assertTrue(maxOnServer > 0 && samples > 0, "the samples saw the blocked puts");
    for (int i = 0; i < reads.size(); i++) {
      assertRead(reads.get(i), readers.get(i % READ_USERS));
    }
    long timedOut = wave1.stream().filter(reply -> failureCode(reply) == FailureCode.STATEMENT_TIMEOUT).count();
    assertTrue(timedOut >= 1 && timedOut <= limitBefore, "stopped at their deadline: " + timedOut);

    Poll.until(WITHIN, "the first drops shrink the lane to its probe, and its statements end", () -> {
      JsonObject lane = lane();
      return lane.getLong("dropped") >= 2 && lane.getInteger("limit") == 1 && lane.getInteger("inFlight") == 0;
    });
    JsonObject shrunk = lane();
    assertTrue(shrunk.getLong("p90Ms") > SECOND_BUDGET_MS, "the lane's p90 shows the lock: " + shrunk);
    long refusedBefore = refusedAtOnce(shrunk);

    // Wave 2, still locked: one probe runs (and times out); the others would only time out holding a connection, and
    // are refused at once. The reads now go one at a time: a burst of them may borrow every connection for a moment,
    // and a probe arriving then would be refused for its predicted wait instead of running.
    List<Future<Message<JsonObject>>> wave2 = new ArrayList<>();
    for (int i = 0; i < PUTS_PER_WAVE; i++) {
      wave2.add(put(locked.get(i % LOCKED_USERS), SECOND_BUDGET_MS, 2));
      putsSent++;
    }
    maxInFlight = 0;
    maxOnServer = 0;
    samples = 0;
    while (!allComplete(wave2)) {
      maxInFlight = Math.max(maxInFlight, lane().getInteger("inFlight"));
      maxOnServer = Math.max(maxOnServer, putsOnServer());
      long reader = readers.get(samples++ % READ_USERS);
      assertRead(read(reader), reader);
    }
    assertTrue(samples > 0, "the samples ran while the second wave was blocked");
    assertTrue(maxInFlight <= 1, "at limit 1 the lane held " + maxInFlight + " connections");
    // One in flight, and at most one more whose kill the server has not finished.
    assertTrue(maxOnServer <= 2, maxOnServer + " puts on the server at lane limit 1");
    int probes = 0;
    int refusedAtOnce = 0;
    for (Future<Message<JsonObject>> reply : wave2) {
      if (failureCode(reply) == FailureCode.STATEMENT_TIMEOUT) {
        probes++;
      } else {
        // Refused at once, nothing ran: by the lane's median (lane_deadline) once the drops dominate its window,
        // or, while its window still holds the warm-up's fast puts, by the wait predicted behind its probe.
        String message = reply.cause().getMessage();
        assertTrue(message.contains("lane_deadline") || message.contains("predicted wait"), message);
        if (message.contains("lane_deadline")) {
          // Come back in a second: the probe finds out within one deadline whether the lane is fast again; the
          // drain time of its 1.5 s statements would keep a client away after the lock is gone.
          assertEquals(1, FailureCode.retryAfterOf(message), message);
        }
        refusedAtOnce++;
      }
    }
    assertEquals(1, probes, "only the lane's probe ran");
    assertEquals(PUTS_PER_WAVE - 1, refusedAtOnce);
    assertEquals(refusedBefore + refusedAtOnce, refusedAtOnce(lane()), "counted in the lane's stats");

    lock.release();
    Poll.until(WITHIN, "the probe's statement ended", () -> lane().getInteger("inFlight") == 0);
    int[] recovery = {0};
    Poll.until(WITHIN, "the lane grows back past its probe once puts succeed again", () -> {
      long id = locked.get(recovery[0]++ % LOCKED_USERS);
      Future<Message<JsonObject>> reply = put(id, SECOND_BUDGET_MS, 3);
      reply.otherwiseEmpty().await();
      assertTrue(reply.succeeded(), () -> "a put after the lock was released failed: " + reply.cause());
      return lane().getInteger("limit") > 1;
    });
    putsSent += recovery[0];

    int sent = putsSent;
    Poll.until(WITHIN, "every connection and permit back", () -> {
      JsonObject pool = proxy.stats().getJsonObject("pool");
      return pool.getInteger("inUse") == 0 && pool.getInteger("waiting") == 0;
    });
    JsonObject after = lane();
    assertEquals(0, after.getInteger("inFlight"));
    assertEquals(0, after.getInteger("waiting"));
    assertEquals(sent, after.getLong("executed") + rejectedTotal(after) - accountedBefore,
      "every put either ran once or was refused once: " + after);
    assertEquals(0, putsOnServer());
  }

  /** A lane's refusals that came at once, before anything ran: lane_deadline and predicted_wait. */
  private static long refusedAtOnce(JsonObject lane) {
    JsonObject rejected = lane.getJsonObject("rejected");
    return rejected.getLong("lane_deadline") + rejected.getLong("predicted_wait");
  }
}
