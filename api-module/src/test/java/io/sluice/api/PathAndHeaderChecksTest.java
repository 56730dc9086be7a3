package io.sluice.api;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hand-written checks of path ids and X-Request-Id accept exactly what their patterns describe. */
class PathAndHeaderChecksTest {

  private static final String ALPHABET = "0123456789aZ._:-/ %é";

  @Test
  void idCheckMatchesItsPattern() {
    Pattern id = Pattern.compile("[1-9][0-9]{0,17}");
    Random random = new Random(21);
    for (int i = 0; i < 20_000; i++) {
      String s = randomString(random, 21, "0123456789x-");
      assertEquals(id.matcher(s).matches(), HttpVerticle.isId(s), () -> "'" + s + "'");
    }
    assertEquals(false, HttpVerticle.isId(null));
    assertEquals(true, HttpVerticle.isId("9".repeat(18)));
    assertEquals(false, HttpVerticle.isId("9".repeat(19)));
  }

  @Test
  void requestIdCheckMatchesItsPattern() {
    Pattern requestId = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
    Random random = new Random(22);
    for (int i = 0; i < 20_000; i++) {
      String s = randomString(random, 70, ALPHABET);
      assertEquals(requestId.matcher(s).matches(), HttpVerticle.isRequestId(s), () -> "'" + s + "'");
    }
    assertEquals(false, HttpVerticle.isRequestId(null));
  }

  private static String randomString(Random random, int maxLength, String alphabet) {
    int length = random.nextInt(maxLength + 1);
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return s.toString();
  }
}
