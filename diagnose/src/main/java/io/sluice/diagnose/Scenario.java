package io.sluice.diagnose;

import java.util.Arrays;
import java.util.Locale;

/**
 * Which read the load sends; {@code mixed} cycles through the three reads request by request; {@code live} sends
 * {@code GET /health/live}, the HTTP tier alone (no proxy, no database): the baseline of a read's cost.
 */
public enum Scenario {
  USER, SETTINGS, NOTIFICATIONS, MIXED, LIVE;

  private static final Scenario[] SINGLE = {USER, SETTINGS, NOTIFICATIONS};

  /** The path of request number {@code sequence} (from 1) for user {@code id}. */
  public String path(long id, long sequence) {
    return switch (this) {
      case USER -> "/users/" + id;
      case SETTINGS -> "/users/" + id + "/settings";
      case NOTIFICATIONS -> "/users/" + id + "/notifications";
      case MIXED -> SINGLE[(int) (sequence % SINGLE.length)].path(id, sequence);
      case LIVE -> "/health/live";
    };
  }

  /** The name as printed ({@code user}, {@code mixed} …); anything else is an IllegalArgumentException. */
  public static Scenario parse(String text) {
    return Arrays.stream(values()).filter(s -> s.toString().equals(text)).findFirst()
      .orElseThrow(() -> new IllegalArgumentException("expected one of user, settings, notifications, mixed,"
        + " live"));
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
