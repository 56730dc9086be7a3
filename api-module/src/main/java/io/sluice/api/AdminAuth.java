package io.sluice.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Bearer-token check for the admin endpoints. Both tokens are hashed first so the comparison is over equal-length
 * digests, and {@link MessageDigest#isEqual} compares them in constant time: neither the token's content nor its
 * length leaks through timing.
 */
final class AdminAuth {

  private static final String BEARER = "Bearer ";

  private final byte[] expected;

  AdminAuth(String token) {
    this.expected = token == null || token.isEmpty() ? null : digest(token);
  }

  /** False when no token is configured: the admin endpoints then do not exist. */
  boolean enabled() {
    return expected != null;
  }

  boolean allows(String authorization) {
    if (expected == null || authorization == null || !authorization.startsWith(BEARER)) {
      return false;
    }
    return MessageDigest.isEqual(expected, digest(authorization.substring(BEARER.length()).trim()));
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }
}
