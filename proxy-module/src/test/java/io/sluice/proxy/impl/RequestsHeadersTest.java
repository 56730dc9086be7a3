package io.sluice.proxy.impl;

import io.sluice.contract.ProxyContract;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The hand-written header checks of {@link Requests} accept exactly what the documented patterns accept. */
class RequestsHeadersTest {

  private static final String ALPHABET = "09aZ._:-/ \n\t+=~é0123456789";

  @Test
  void requestIdCheckMatchesTheContractPattern() {
    Pattern pattern = Pattern.compile(ProxyContract.REQUEST_ID_PATTERN);
    Random random = new Random(11);
    for (int i = 0; i < 20_000; i++) {
      String s = randomString(random, 70);
      assertEquals(pattern.matcher(s).matches(), Requests.isRequestId(s), () -> "'" + s + "'");
    }
    assertEquals(false, Requests.isRequestId(null));
    assertEquals(true, Requests.isRequestId("a".repeat(64)));
    assertEquals(false, Requests.isRequestId("a".repeat(65)));
  }

  @Test
  void budgetHeadersAcceptPositiveDecimalsOnly() {
    Pattern digits = Pattern.compile("[0-9]+");
    Random random = new Random(12);
    for (int i = 0; i < 20_000; i++) {
      String raw = randomString(random, 22);
      String trimmed = raw.trim();
      boolean valid = digits.matcher(trimmed).matches() && !trimmed.replaceFirst("^0+", "").isEmpty();
      if (valid) {
        String significant = trimmed.replaceFirst("^0+", "");
        long expected = significant.length() > 18 ? Long.MAX_VALUE : Long.parseLong(significant);
        assertEquals(expected, Requests.deadlineEpochMs(raw), () -> "'" + raw + "'");
      } else {
        assertThrows(ProxyFailure.class, () -> Requests.deadlineEpochMs(raw), () -> "'" + raw + "'");
      }
    }
    assertEquals(null, Requests.timeoutMs(null));
    assertEquals(5L, Requests.timeoutMs(" 005 "));
    assertEquals(ProxyContract.MAX_TIMEOUT_MS, Requests.timeoutMs("9".repeat(30)));
    assertThrows(ProxyFailure.class, () -> Requests.timeoutMs("000"));
    assertThrows(ProxyFailure.class, () -> Requests.timeoutMs("-5"));
  }

  private static String randomString(Random random, int maxLength) {
    int length = random.nextInt(maxLength + 1);
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return s.toString();
  }
}
