package io.sluice.diagnose;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Everything one run found, its verdict (the exit code), and its two renderings: text for a person, one JSON object
 * for a script. Nothing here reads a secret: the database target carries a password, and only {@code where()} of it
 * is ever printed.
 *
 * @param plan  what was (or, with {@code --no-load}, would have been) sent; always present for the target
 * @param load  null with {@code --no-load}
 * @param db    null when no {@code --db-host} was given
 * @param admin   null when no {@code --admin-token} was given
 * @param cluster {@code GET /admin/cluster}'s answer; null without {@code --admin-token} or when not clustered
 */
record Report(LoadRun.Plan plan, LoadRun.Result load, Db db, AdminPool admin, double max503RatePercent,
              JsonObject cluster) {

  Report(LoadRun.Plan plan, LoadRun.Result load, Db db, AdminPool admin, double max503RatePercent) {
    this(plan, load, db, admin, max503RatePercent, null);
  }

  static final int EXIT_OK = 0;
  static final int EXIT_CANNOT_RUN = 1;
  static final int EXIT_TOO_MANY_503 = 2;
  /** EX_USAGE of sysexits.h, so a script can tell "you called me wrong" from "the service is in trouble" (2). */
  static final int EXIT_USAGE = 64;

  /** The database part: a snapshot, or the one-line reason there is none. {@code takenAt} says when it was taken. */
  record Db(DbCheck.Target target, String takenAt, DbCheck check, String problem) {
  }

  int exitCode() {
    if (db != null && db.problem() != null) {
      return EXIT_CANNOT_RUN;
    }
    return tooMany503() ? EXIT_TOO_MANY_503 : EXIT_OK;
  }

  private boolean tooMany503() {
    return load != null && load.rate503Percent() > max503RatePercent;
  }

  String verdict() {
    if (exitCode() == EXIT_CANNOT_RUN) {
      return "CANNOT RUN: the database check failed (exit 1)";
    }
    if (load == null) {
      return "OK: no load sent (--no-load) (exit 0)";
    }
    String share = percent(load.rate503Percent()) + " % " + (tooMany503() ? "above" : "within") + " the limit of "
      + percent(max503RatePercent) + " %";
    return tooMany503() ? "FAIL: 503 share " + share + " (exit 2)" : "OK: 503 share " + share + " (exit 0)";
  }

  // ---- JSON ----

  JsonObject json() {
    JsonObject json = new JsonObject().put("target", plan.target().text());
    if (load != null) {
      json.put("scenario", plan.scenario().toString()).put("ids", plan.ids().toString())
        .put("concurrency", plan.concurrency()).put("limit", plan.limit()).put("load", loadJson());
    }
    if (db != null) {
      json.put("database", dbJson());
    }
    if (admin != null) {
      JsonArray slow = new JsonArray();
      slowLanes().forEach(lane -> slow.add(new JsonObject().put("action", lane.action()).put("p90Ms", lane.p90Ms())));
      json.put("adminPool", new JsonObject().put("status", admin.status()).put("body", admin.body())
        .put("note", admin.note()).put("slowLanes", slow));
    }
    if (cluster != null) {
      json.put("adminCluster", cluster);
    }
    return json.put("max503RatePercent", max503RatePercent).put("exitCode", exitCode()).put("verdict", verdict());
  }

  private JsonObject loadJson() {
    ClosedLoop.Result requests = load.requests();
    JsonObject json = new JsonObject().put("durationSeconds", round(requests.elapsedNanos() / 1e9))
      .put("totalRequests", requests.total()).put("throughputPerSecond", round(requests.throughput()))
      .put("statusCounts", counts(requests.counts()))
      .put("rate503Percent", round(load.rate503Percent()));
    ClosedLoop.Latency l = requests.latency();
    if (l != null) {
      json.put("latencyMs", new JsonObject().put("p50", l.p50()).put("p90", l.p90()).put("p99", l.p99())
        .put("p99.9", l.p999()).put("max", l.max()));
    }
    LoadRun.RetryAfter r = load.retryAfter();
    json.put("retryAfterSeconds", new JsonObject().put("min", r.min()).put("max", r.max())
      .put("missing", r.missing()));
    return json.put("firstError", requests.firstError());
  }

  private JsonObject dbJson() {
    JsonObject json = new JsonObject().put("server", db.target().where()).put("takenAt", db.takenAt());
    if (db.problem() != null) {
      return json.put("problem", db.problem());
    }
    DbCheck c = db.check();
    DbCheck.Processlist p = c.processlist();
    JsonObject processlist = new JsonObject().put("connections", p.connections())
      .put("byCommand", counts(p.byCommand())).put("byState", counts(p.byState())).put("byUser", counts(p.byUser()))
      .put("longestRunning", longest(p.longest()));
    return json.put("version", c.version()).put("maxConnections", c.maxConnections())
      .put("threadsConnected", c.threadsConnected()).put("maxUsedConnections", c.maxUsedConnections())
      .put("processlist", processlist);
  }

  /** Keeps the map's order (largest first). */
  private static JsonObject counts(Map<String, Long> counts) {
    JsonObject json = new JsonObject();
    counts.forEach(json::put);
    return json;
  }

  private static JsonObject longest(DbCheck.LongestQuery q) {
    return q == null ? null : new JsonObject().put("id", q.id()).put("seconds", q.seconds()).put("user", q.user())
      .put("command", q.command()).put("state", q.state()).put("sqlStart", q.sqlStart());
  }

  // ---- text ----

  String text() {
    StringBuilder out = new StringBuilder();
    out.append("Sluice diagnose  target ").append(plan.target());
    if (load == null) {
      out.append("  (no load: --no-load)\n");
    } else {
      out.append("  scenario ").append(plan.scenario()).append("  ids ").append(plan.ids()).append("  concurrency ")
        .append(plan.concurrency()).append("  limit ").append(plan.limit()).append('\n');
      loadText(out);
    }
    if (db != null) {
      dbText(out);
    }
    if (admin != null) {
      adminText(out);
    }
    if (cluster != null) {
      out.append("Cluster      ").append(cluster.encodePrettily()).append('\n');
    }
    return out.append("Verdict      ").append(verdict()).toString();
  }

  private void loadText(StringBuilder out) {
    ClosedLoop.Result requests = load.requests();
    out.append("Load\n");
    line(out, "requests", requests.total() + " in " + seconds(requests.elapsedNanos()) + " s = "
      + String.format(Locale.ROOT, "%.1f", requests.throughput()) + " req/s");
    line(out, "status", countsText(requests.counts()));
    ClosedLoop.Latency l = requests.latency();
    line(out, "latency ms", l == null ? "no answers" : String.format(Locale.ROOT,
      "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", l.p50(), l.p90(), l.p99(), l.p999(), l.max()));
    line(out, "503", requests.count("503") + " of " + requests.total() + " = " + percent(load.rate503Percent())
      + " % (limit " + percent(max503RatePercent) + " %), Retry-After " + retryAfter(load.retryAfter()));
    if (requests.firstError() != null) {
      line(out, "no answer", "first failure: " + requests.firstError());
    }
  }

  private void dbText(StringBuilder out) {
    out.append("Database     ").append(db.target().where()).append(", ").append(db.takenAt()).append('\n');
    if (db.problem() != null) {
      line(out, "problem", db.problem());
      return;
    }
    DbCheck c = db.check();
    DbCheck.Processlist p = c.processlist();
    line(out, "server", c.version() + "  max_connections " + c.maxConnections() + "  Threads_connected "
      + c.threadsConnected() + "  Max_used_connections " + c.maxUsedConnections());
    line(out, "processlist", p.connections() + " connections (this check's own left out)");
    line(out, "by command", countsText(p.byCommand()));
    line(out, "by state", countsText(p.byState()));
    line(out, "by user", countsText(p.byUser()));
    DbCheck.LongestQuery q = p.longest();
    line(out, "longest", q == null ? "no statement running" : q.seconds() + " s  id " + q.id() + "  user " + q.user()
      + "  command " + q.command() + "  state " + q.state() + "  sql (first " + DbCheck.SQL_START_LENGTH
      + " chars, literals as ?) " + q.sqlStart());
  }

  /** The pool's figures, then its lanes (printed apart, one line each) and the slow lanes flagged. */
  private void adminText(StringBuilder out) {
    if (admin.body() == null) {
      out.append("Admin pool   ").append(admin.note()).append('\n');
      return;
    }
    JsonObject pool = admin.body().copy();
    pool.remove("lanes");
    out.append("Admin pool   ").append(pool.encodePrettily()).append('\n');
    List<AdminPool.Lane> lanes = admin.lanes();
    if (lanes.isEmpty()) {
      return;
    }
    List<AdminPool.Lane> busy = lanes.stream().filter(AdminPool.Lane::traffic).toList();
    out.append("Lanes        ").append(busy.isEmpty() ? "no traffic since the pool was built" : "with traffic")
      .append('\n');
    for (AdminPool.Lane lane : busy) {
      out.append(String.format(Locale.ROOT,
        "  %-21s limit %d  inFlight %d  waiting %d  p90 %d ms  rejected %d  dropped %d%n", lane.action(),
        lane.limit(), lane.inFlight(), lane.waiting(), lane.p90Ms(), lane.rejected(), lane.dropped()));
    }
    for (AdminPool.Lane lane : slowLanes()) {
      out.append("  slow lane: ").append(lane.action()).append(" (p90 ").append(lane.p90Ms()).append(" ms)\n");
    }
  }

  /** Lanes shrunk to their probe by statements stopped at their deadline (see {@link AdminPool.Lane#slow}). */
  List<AdminPool.Lane> slowLanes() {
    return admin == null ? List.of()
      : admin.lanes().stream().filter(lane -> lane.slow(admin.poolSize())).toList();
  }

  private static void line(StringBuilder out, String label, String value) {
    out.append(String.format(Locale.ROOT, "  %-11s %s%n", label, value));
  }

  private static String countsText(Map<String, Long> counts) {
    return counts.isEmpty() ? "none" : counts.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
      .collect(Collectors.joining("  "));
  }

  private static String retryAfter(LoadRun.RetryAfter r) {
    String seen = r.min() == null ? "none seen" : r.min().equals(r.max()) ? r.min() + " s" : r.min() + ".." + r.max()
      + " s";
    return r.missing() == 0 ? seen : seen + " (" + r.missing() + " 503s without a number)";
  }

  static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.2f", nanos / 1e9);
  }

  static String duration(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
  }

  private static String percent(double value) {
    return String.format(Locale.ROOT, "%.2f", value);
  }

  private static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
