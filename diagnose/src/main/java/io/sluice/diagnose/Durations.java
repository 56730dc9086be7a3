package io.sluice.diagnose;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as the command's options spell them. */
public final class Durations {

  private static final Pattern FORMAT = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

  private Durations() {
  }

  /**
   * {@code 500ms}, {@code 10s}, {@code 1m}, {@code 1h}. Zero is rejected because every use divides by it; anything
   * else that does not parse is an IllegalArgumentException whose message quotes the value.
   */
  public static Duration parse(String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw new IllegalArgumentException("'" + text + "' is not a positive duration like 500ms, 10s, 1m");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }
}
