package io.sluice.proxy.impl;

import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.IntSupplier;
import java.util.function.LongFunction;

/**
 * Tick-coalesced primary-key reads of one kind (the DataLoader pattern): the reads that reach the node in the same
 * event-loop turn, and the reads that arrive while their batch waits in the admission queue, go to the server as one
 * statement, {@code WHERE id IN (…)}, under one admission permit and one connection.
 *
 * <p>The joinable ("open") batch is submitted to admission at the end of the turn that opened it (a task queued
 * behind the messages already delivered to the event loop, never a timer), so nothing waits that would not have
 * waited anyway. It stays open, taking later reads in arrival order up to {@code db.pointReadBatch}, until a
 * connection runs it: then it is sealed and its statement issued.
 *
 * <p>Invariants:
 * <ul>
 *   <li><em>Each read is answered exactly once</em>: by its row (or its own 404) when the statement returns, or by
 *   the batch's failure; both go through {@link Member#answer}, which only the first settles.</li>
 *   <li><em>No read waits past its own deadline</em>: a read joins a batch only if its deadline is no earlier than
 *   the batch's (the batch's is its opener's), and the batch is bounded by that deadline. A read whose deadline is
 *   earlier opens a new batch. When a batch runs out of its deadline, its reads with time left read again.</li>
 *   <li><em>A read that starts after a write was acknowledged sees it</em>: a batch is sealed right before its
 *   statement is sent, so every read in it arrived before the statement was issued.</li>
 * </ul>
 *
 * <p>Threads: any event loop of the node; the open batch is guarded by this object's lock. Each read's answer
 * completes on the context it came from.
 */
final class PointReads {

  /** The largest batch; padded sizes are powers of two, so at most 7 prepared statements per kind. */
  static final int MAX_BATCH = 64;

  /**
   * One kind of point read: its action, its statement for n ids ({@code inList} followed by n placeholders and a
   * closing parenthesis, n a power of two up to {@link #MAX_BATCH}), whose rows carry the id in column {@code id},
   * the reply built from a row, and the 404 of an id without a row.
   */
  record Kind(String action, String inList, BiFunction<Long, Row, JsonObject> reply,
              LongFunction<ProxyFailure> notFound) {

    /** The statement for {@code ids} ids, a power of two from 1 to {@link #MAX_BATCH}. */
    String sql(int ids) {
      return inList + "?" + ", ?".repeat(ids - 1) + ")";
    }
  }

  private final Kind kind;
  /** The statements of {@link #kind} for 1, 2, 4, … 64 ids: at most 7 prepared per connection. */
  private final String[] sqlBySize = new String[Integer.numberOfTrailingZeros(MAX_BATCH) + 1];
  private final PoolExecutor executor;
  private final IntSupplier maxBatch;
  private final ProxyCounters counters;
  private Batch open;

  PointReads(Kind kind, PoolExecutor executor, IntSupplier maxBatch, ProxyCounters counters) {
    this.kind = kind;
    for (int i = 0; i < sqlBySize.length; i++) {
      sqlBySize[i] = kind.sql(1 << i);
    }
    this.executor = executor;
    this.maxBatch = maxBatch;
    this.counters = counters;
  }

  /** The reply of {@code op} (a point read of this kind) by {@code deadline}; fails only with a ProxyFailure. */
  Future<JsonObject> read(Operation op, long deadline, String requestId) {
    Member member = new Member(op, deadline, requestId);
    join(member);
    return member.promise.future();
  }

  private void join(Member member) {
    synchronized (this) {
      if (open != null && open.members.size() < maxBatch.getAsInt() && member.deadline - open.deadline >= 0
        && open.deadline - System.nanoTime() > 0) {
        open.members.add(member);
        return;
      }
    }
    start(new Batch(member.deadline, member.requestId, List.of(member)));
  }

  /**
   * Makes {@code batch} the open one and submits it at the end of this turn (behind the messages the event loop
   * already has). The executor counts it in flight from now until {@link #finish} is done, so that a pool swap's
   * drain waits for it, retries included.
   */
  private void start(Batch batch) {
    executor.enter();
    synchronized (this) {
      open = batch;
    }
    Context context = Vertx.currentContext();
    if (context == null) {
      submit(batch);
    } else {
      context.runOnContext(v -> submit(batch));
    }
  }

  private void submit(Batch batch) {
    Future<JsonObject> ran;
    try {
      ran = executor.run(Operation.read(kind.action(), "batch request_id=" + batch.requestId,
        db -> execute(batch, db)), batch.deadline, batch.requestId);
    } catch (RuntimeException e) {
      ran = Future.failedFuture(Failures.statementFailure(e));
    }
    ran.onComplete(ar -> finish(batch, ar));
  }

  /** Seals the batch (no read joins it any more) and returns its reads. */
  private synchronized List<Member> seal(Batch batch) {
    if (open == batch) {
      open = null;
    }
    return batch.members;
  }

  private Future<JsonObject> execute(Batch batch, Db db) {
    List<Member> members = seal(batch);
    LinkedHashSet<Long> ids = new LinkedHashSet<>();
    for (Member m : members) {
      ids.add(m.op.point().id());
    }
    counters.pointReadStatements.increment();
    counters.pointReads.add(members.size());
    if (ids.size() == 1) {
      // One id (the usual case off load): the plain single-row statement, its row answered to every read of that
      // id. A failure (its 404 included) reaches them through finish, mapped to a contract failure by the executor.
      return members.get(0).op.work().apply(db).onSuccess(row -> {
        for (Member m : members) {
          m.answer(Future.succeededFuture(row), m != members.get(0));
        }
      }).map(new JsonObject());
    }
    int size = Integer.highestOneBit(ids.size() - 1) << 1;
    Tuple params = Tuple.tuple();
    long last = 0;
    for (long id : ids) {
      params.addLong(id);
      last = id;
    }
    for (int i = ids.size(); i < size; i++) {
      params.addLong(last);
    }
    return db.prepared(sqlBySize[Integer.numberOfTrailingZeros(size)]).execute(params).map(rows -> {
      answer(members, rows);
      return new JsonObject();
    });
  }

  /** Each read gets its own row, or its own 404 when its id has none. */
  private void answer(List<Member> members, RowSet<Row> rows) {
    Map<Long, Row> byId = new HashMap<>();
    for (Row row : rows) {
      byId.put(row.getLong("id"), row);
    }
    for (Member m : members) {
      long id = m.op.point().id();
      Row row = byId.get(id);
      m.answer(row != null ? Future.succeededFuture(kind.reply().apply(id, row))
        : Future.failedFuture(kind.notFound().apply(id)), false);
    }
  }

  /**
   * After the batch's run: on failure, the reads with more time than the batch had read again, together in one new
   * batch whose deadline is the earliest of theirs (strictly later than this one's, so retries are bounded); every
   * other read not yet answered gets the failure.
   */
  private void finish(Batch batch, AsyncResult<JsonObject> ar) {
    try {
      List<Member> members = seal(batch);
      if (ar.succeeded()) {
        return;
      }
      boolean outOfTime = ReadCache.ranOutOfTime(ar.cause());
      long now = System.nanoTime();
      List<Member> again = new ArrayList<>();
      for (Member m : members) {
        if (outOfTime && m.deadline - batch.deadline > 0 && m.deadline - now > 0 && !m.answered()) {
          again.add(m);
        } else {
          m.answer(Future.failedFuture(ar.cause()), false);
        }
      }
      if (!again.isEmpty()) {
        Member first = again.stream().min((x, y) -> Long.compare(x.deadline - y.deadline, 0)).orElseThrow();
        start(new Batch(first.deadline, first.requestId, again));
      }
    } finally {
      executor.exit();
    }
  }

  private static final class Batch {
    final long deadline;
    final String requestId;
    final List<Member> members;

    Batch(long deadline, String requestId, List<Member> first) {
      this.deadline = deadline;
      this.requestId = requestId;
      this.members = new ArrayList<>(Math.max(8, first.size()));
      this.members.addAll(first);
    }
  }

  /** One read waiting in a batch. */
  private static final class Member {
    final Operation op;
    final long deadline;
    final String requestId;
    final Context context = Vertx.currentContext();
    final Promise<JsonObject> promise = Promise.promise();
    private final AtomicBoolean settled = new AtomicBoolean();

    Member(Operation op, long deadline, String requestId) {
      this.op = op;
      this.deadline = deadline;
      this.requestId = requestId;
    }

    boolean answered() {
      return settled.get();
    }

    /** Settles this read once (later calls do nothing), on its own context; {@code copy} for a shared reply. */
    void answer(AsyncResult<JsonObject> result, boolean copy) {
      if (!settled.compareAndSet(false, true)) {
        return;
      }
      AsyncResult<JsonObject> mine = copy && result.succeeded()
        ? Future.succeededFuture(result.result().copy()) : result;
      if (context == null || context == Vertx.currentContext()) {
        promise.handle(mine);
      } else {
        context.runOnContext(v -> promise.handle(mine));
      }
    }
  }
}
