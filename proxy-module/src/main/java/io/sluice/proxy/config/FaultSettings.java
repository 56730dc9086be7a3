package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.config.ConfigException;

import io.vertx.core.json.JsonObject;

/**
 * Fault injection for rehearsing the incident ({@code faults.dbLatency}): when enabled, the proxy keeps each borrowed
 * connection busy on the server for x ms, x uniform in [minMs, maxMs], before its statement. The wait is a
 * {@code GET_LOCK} on a lock the node holds while injection is on, so that a deadline's {@code KILL QUERY} ends it
 * at once, as it would a real slow statement.
 */
public record FaultSettings(boolean dbLatencyEnabled, long minMs, long maxMs) {

  /**
   * The comment every injected statement carries right after its {@code DO}: a processlist query finds them with
   * {@code INFO LIKE 'DO <mark>%'} ({@link #PROCESSLIST_PATTERN}), which does not match that query itself.
   */
  public static final String STATEMENT_MARK = "/* injected latency */";

  /** The LIKE pattern of the injected statements in {@code information_schema.PROCESSLIST.INFO}. */
  public static final String PROCESSLIST_PATTERN = "DO " + STATEMENT_MARK + "%";

  public static final long DEFAULT_MIN_MS = 400;
  public static final long DEFAULT_MAX_MS = 1000;

  /** All live: the next borrowed connection sees the new latency. */
  public static final Schema SCHEMA = Schema.of().section("dbLatency", Schema.of().live("enabled", "minMs", "maxMs"));

  public static FaultSettings from(JsonSection faults) {
    faults.onlyKeys(SCHEMA);
    JsonSection s = faults.section("dbLatency").onlyKeys(SCHEMA.subsection("dbLatency"));
    long min = s.longValue("minMs", DEFAULT_MIN_MS, 0, 600_000);
    long max = s.longValue("maxMs", DEFAULT_MAX_MS, 0, 600_000);
    if (max < min) {
      throw new ConfigException(s.keyOf("maxMs") + " must be at least " + s.keyOf("minMs") + " (" + min + "), got "
        + max);
    }
    return new FaultSettings(s.bool("enabled", false), min, max);
  }

  public JsonObject toJson() {
    return new JsonObject().put("dbLatency",
      new JsonObject().put("enabled", dbLatencyEnabled).put("minMs", minMs).put("maxMs", maxMs));
  }
}
