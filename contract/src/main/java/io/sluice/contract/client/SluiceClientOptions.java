package io.sluice.contract.client;

import io.sluice.contract.CallBudget;
import io.vertx.core.json.JsonObject;

import java.util.Set;

/**
 * Options of a {@link SluiceClient}. A data object in the Vert.x manner (JSON constructor, copy constructor,
 * {@link #toJson()}, fluent setters). Each setter refuses a value that is wrong on its own; the JSON constructor and
 * {@link SluiceClient#create(io.vertx.core.Vertx, SluiceClientOptions)} also check the pair, so a bad config fails
 * before the first request.
 *
 * <p>The reply margin is the part of a request's remaining time kept back from the proxy for its answer to travel
 * back ({@link CallBudget}): 10 % of the time left, within {@code [minReplyMarginMs, maxReplyMarginMs]}.
 */
public class SluiceClientOptions {

  /** {@link CallBudget#DEFAULT_MIN_REPLY_MARGIN_MS}, as the HTTP tier keeps. */
  public static final long DEFAULT_MIN_REPLY_MARGIN_MS = CallBudget.DEFAULT_MIN_REPLY_MARGIN_MS;

  /** {@link CallBudget#DEFAULT_MAX_REPLY_MARGIN_MS}, as the HTTP tier keeps. */
  public static final long DEFAULT_MAX_REPLY_MARGIN_MS = CallBudget.DEFAULT_MAX_REPLY_MARGIN_MS;

  private static final Set<String> KEYS = Set.of("minReplyMarginMs", "maxReplyMarginMs");

  private long minReplyMarginMs = DEFAULT_MIN_REPLY_MARGIN_MS;
  private long maxReplyMarginMs = DEFAULT_MAX_REPLY_MARGIN_MS;

  public SluiceClientOptions() {
  }

  public SluiceClientOptions(SluiceClientOptions other) {
    this.minReplyMarginMs = other.minReplyMarginMs;
    this.maxReplyMarginMs = other.maxReplyMarginMs;
  }

  /** From {@code {minReplyMarginMs?, maxReplyMarginMs?}}; an unknown key fails, naming the known ones. */
  public SluiceClientOptions(JsonObject json) {
    for (String key : json.fieldNames()) {
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException("unknown SluiceClientOptions key \"" + key + "\"; known: " + KEYS);
      }
    }
    setMinReplyMarginMs(json.getLong("minReplyMarginMs", DEFAULT_MIN_REPLY_MARGIN_MS));
    setMaxReplyMarginMs(json.getLong("maxReplyMarginMs", DEFAULT_MAX_REPLY_MARGIN_MS));
    validate();
  }

  public long getMinReplyMarginMs() {
    return minReplyMarginMs;
  }

  /** At least 0, and at most {@link #getMaxReplyMarginMs()} (checked by {@link SluiceClient#create}). */
  public SluiceClientOptions setMinReplyMarginMs(long minReplyMarginMs) {
    if (minReplyMarginMs < 0) {
      throw new IllegalArgumentException("minReplyMarginMs must be at least 0, got " + minReplyMarginMs);
    }
    this.minReplyMarginMs = minReplyMarginMs;
    return this;
  }

  public long getMaxReplyMarginMs() {
    return maxReplyMarginMs;
  }

  /** At least {@link #getMinReplyMarginMs()} (checked by {@link SluiceClient#create}). */
  public SluiceClientOptions setMaxReplyMarginMs(long maxReplyMarginMs) {
    if (maxReplyMarginMs < 0) {
      throw new IllegalArgumentException("maxReplyMarginMs must be at least 0, got " + maxReplyMarginMs);
    }
    this.maxReplyMarginMs = maxReplyMarginMs;
    return this;
  }

  /** The checks that involve both bounds. */
  void validate() {
    if (minReplyMarginMs > maxReplyMarginMs) {
      throw new IllegalArgumentException("minReplyMarginMs (" + minReplyMarginMs + ") must not exceed"
        + " maxReplyMarginMs (" + maxReplyMarginMs + ")");
    }
  }

  public JsonObject toJson() {
    return new JsonObject().put("minReplyMarginMs", minReplyMarginMs).put("maxReplyMarginMs", maxReplyMarginMs);
  }

  @Override
  public String toString() {
    return toJson().encode();
  }
}
