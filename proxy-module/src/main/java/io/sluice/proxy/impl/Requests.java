package io.sluice.proxy.impl;

import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Validation of what arrives over the event bus: request bodies and the headers. Every failure is a
 * {@link ProxyFailure} with code 400 naming the field or header. Headers are as untrusted as bodies: on a clustered
 * event bus any node may send anything.
 */
public final class Requests {

  private static final Pattern EMAIL = Pattern.compile("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$");
  private static final Pattern IDEMPOTENCY_KEY = Pattern.compile(ProxyContract.IDEMPOTENCY_KEY_PATTERN);

  /** MariaDB refuses JSON nested deeper than 32 levels; MySQL allows 100. Keep to what both accept. */
  static final int MAX_SETTINGS_DEPTH = 32;

  private Requests() {
  }

  /**
   * The {@link ProxyContract#TIMEOUT_HEADER} budget in ms, at most {@link ProxyContract#MAX_TIMEOUT_MS}, or null
   * when absent. A larger value is clamped rather than refused (it only means "as long as you allow"); without the
   * clamp, {@code now + budget} in nanoseconds overflows and the deadline, and the kill at the deadline, are lost.
   */
  public static Long timeoutMs(String raw) {
    Long value = positive(ProxyContract.TIMEOUT_HEADER, raw);
    return value == null ? null : Math.min(value, ProxyContract.MAX_TIMEOUT_MS);
  }

  /**
   * The {@link ProxyContract#DEADLINE_HEADER} (ms since the epoch), or null when absent. Not clamped here: the
   * caller takes the earlier of it and the relative budget, which is clamped.
   */
  public static Long deadlineEpochMs(String raw) {
    return positive(ProxyContract.DEADLINE_HEADER, raw);
  }

  /** A positive decimal integer header, or null when absent; beyond 18 digits it is {@link Long#MAX_VALUE}. */
  private static Long positive(String header, String raw) {
    if (raw == null) {
      return null;
    }
    // Two headers of every request: a scan by hand rather than a regex and a replaceFirst (which compiled a
    // pattern on every call); same rules: digits only after trim, at least one of them non-zero.
    String value = raw.trim();
    int start = 0;
    while (start < value.length() && value.charAt(start) == '0') {
      start++;
    }
    for (int i = start; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        throw ProxyFailure.badRequest(header + " must be a positive integer number of ms");
      }
    }
    int significant = value.length() - start;
    if (significant == 0) {
      throw ProxyFailure.badRequest(header + " must be a positive integer number of ms");
    }
    // More than 18 digits may not even fit a long; it is beyond any clamp either way.
    return significant > 18 ? Long.MAX_VALUE : Long.parseLong(value, start, value.length(), 10);
  }

  /** The {@link ProxyContract#IDEMPOTENCY_KEY_HEADER}, or null when absent; 400 unless it matches the pattern. */
  public static String idempotencyKey(String raw) {
    if (raw == null) {
      return null;
    }
    if (!IDEMPOTENCY_KEY.matcher(raw).matches()) {
      throw ProxyFailure.badRequest(ProxyContract.IDEMPOTENCY_KEY_HEADER + " must be 1 to 255 of A-Z a-z 0-9 . _ : ~"
        + " + / = -");
    }
    return raw;
  }

  /**
   * The {@link ProxyContract#REQUEST_ID_HEADER} as it may be logged: the caller's when it matches
   * {@link ProxyContract#REQUEST_ID_PATTERN}, otherwise (absent, too long, a newline that would forge a log line)
   * a generated one. A correlation id needs uniqueness, not unpredictability: {@link ThreadLocalRandom} is enough.
   */
  public static String requestId(String raw) {
    if (isRequestId(raw)) {
      return raw;
    }
    return "proxy-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
  }

  /** {@code raw} matches {@link ProxyContract#REQUEST_ID_PATTERN}; checked by hand, it is on every request. */
  static boolean isRequestId(String raw) {
    return ProxyContract.isRequestId(raw);
  }

  private static int depth(Object value) {
    int deepest = 0;
    if (value instanceof JsonObject object) {
      for (String key : object.fieldNames()) {
        deepest = Math.max(deepest, depth(object.getValue(key)));
      }
      return deepest + 1;
    }
    if (value instanceof io.vertx.core.json.JsonArray array) {
      for (Object item : array) {
        deepest = Math.max(deepest, depth(item));
      }
      return deepest + 1;
    }
    return 0;
  }

  static long positiveId(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (value instanceof Integer || value instanceof Long) {
      long id = ((Number) value).longValue();
      if (id > 0) {
        return id;
      }
    }
    throw ProxyFailure.badRequest(field + " must be a positive integer");
  }

  static String text(JsonObject body, String field, int maxLength, boolean allowBlank) {
    Object value = body.getValue(field);
    if (!(value instanceof String s)) {
      throw ProxyFailure.badRequest(field + " is required and must be a string");
    }
    if (!allowBlank && s.isBlank()) {
      throw ProxyFailure.badRequest(field + " must not be blank");
    }
    if (s.codePointCount(0, s.length()) > maxLength) {
      throw ProxyFailure.badRequest(field + " must be at most " + maxLength + " characters");
    }
    return s;
  }

  static String email(JsonObject body) {
    String email = text(body, Fields.EMAIL, Fields.MAX_EMAIL_LENGTH, false).trim();
    if (!EMAIL.matcher(email).matches()) {
      throw ProxyFailure.badRequest(Fields.EMAIL + " must be an email address like name@example.com");
    }
    return email;
  }

  static boolean optionalBoolean(JsonObject body, String field, boolean defaultValue) {
    Object value = body.getValue(field);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    throw ProxyFailure.badRequest(field + " must be true or false");
  }

  static int optionalInt(JsonObject body, String field, int defaultValue, int min, int max) {
    Object value = body.getValue(field);
    if (value == null) {
      return defaultValue;
    }
    if ((value instanceof Integer || value instanceof Long) && ((Number) value).longValue() >= min
      && ((Number) value).longValue() <= max) {
      return ((Number) value).intValue();
    }
    throw ProxyFailure.badRequest(field + " must be an integer from " + min + " to " + max);
  }

  /** The settings object, serialized; at most {@link Fields#MAX_SETTINGS_BYTES} bytes. */
  static String settings(JsonObject body) {
    Object value = body.getValue(Fields.SETTINGS);
    if (!(value instanceof JsonObject settings)) {
      throw ProxyFailure.badRequest(Fields.SETTINGS + " is required and must be a JSON object");
    }
    if (depth(settings) > MAX_SETTINGS_DEPTH) {
      throw ProxyFailure.badRequest(Fields.SETTINGS + " must not nest deeper than " + MAX_SETTINGS_DEPTH + " levels");
    }
    String encoded = settings.encode();
    if (encoded.getBytes(StandardCharsets.UTF_8).length > Fields.MAX_SETTINGS_BYTES) {
      throw ProxyFailure.badRequest(Fields.SETTINGS + " must be at most " + Fields.MAX_SETTINGS_BYTES
        + " bytes of JSON");
    }
    return encoded;
  }
}
