package io.sluice.diagnose;

import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Inclusive range of user ids; each request picks one uniformly at random. Bounds are checked on construction. */
public record IdRange(long first, long last) {

  /** The API accepts ids of at most 18 digits; beyond that every request would be a 400, not a diagnosis. */
  public static final long MAX_ID = 999_999_999_999_999_999L;

  private static final Pattern FORMAT = Pattern.compile("(\\d{1,18})(?:-(\\d{1,18}))?");

  public IdRange {
    if (first < 1 || last < first || last > MAX_ID) {
      throw new IllegalArgumentException("ids must satisfy 1 <= first <= last <= " + MAX_ID);
    }
  }

  /** {@code 1-100}, or a single id {@code 7}. */
  public static IdRange parse(String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("expected <first>-<last>, e.g. 1-100");
    }
    long first = Long.parseLong(m.group(1));
    return new IdRange(first, m.group(2) == null ? first : Long.parseLong(m.group(2)));
  }

  /** Uniform in [first, last]; safe from any thread. */
  public long pick() {
    return ThreadLocalRandom.current().nextLong(first, last + 1);
  }

  @Override
  public String toString() {
    return first + "-" + last;
  }
}
