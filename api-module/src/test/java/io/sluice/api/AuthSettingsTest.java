package io.sluice.api;

import io.sluice.config.ConfigException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code auth.jwt} section: defaults, the one-key rule, the secret's length, and the public-key file. */
class AuthSettingsTest {

  private static final String SECRET = "0123456789abcdef0123456789abcdef-long-enough";

  @TempDir
  Path dir;

  private static AuthSettings.Jwt jwt(JsonObject jwt) {
    return AuthSettings.from(new JsonObject().put("jwt", jwt)).jwt();
  }

  private static String error(JsonObject jwt) {
    return assertThrows(ConfigException.class, () -> jwt(jwt)).getMessage();
  }

  @Test
  @DisplayName("off by default, admin scope sluice:admin, nothing checked")
  void defaults() {
    AuthSettings.Jwt jwt = AuthSettings.defaults().jwt();
    assertFalse(jwt.enabled());
    assertEquals("sluice:admin", jwt.adminScope());
    assertEquals("", jwt.hmacSecret() + jwt.publicKeyPath() + jwt.issuer() + jwt.audience());
  }

  @Test
  @DisplayName("enabled needs exactly one of hmacSecret and publicKeyPath, and says so naming both keys")
  void exactlyOneKey() {
    String neither = error(new JsonObject().put("enabled", true));
    assertTrue(neither.contains("neither auth.jwt.hmacSecret nor auth.jwt.publicKeyPath"), neither);
    String both = error(new JsonObject().put("enabled", true).put("hmacSecret", SECRET).put("publicKeyPath", "k.pem"));
    assertTrue(both.contains("both auth.jwt.hmacSecret and auth.jwt.publicKeyPath"), both);
    assertTrue(jwt(new JsonObject().put("enabled", true).put("hmacSecret", SECRET)).enabled());
    // Off, the keys are not required (a file may carry them ready for the day it is switched on).
    assertFalse(jwt(new JsonObject().put("enabled", false)).enabled());
  }

  @Test
  @DisplayName("an HMAC secret under 32 bytes is refused, and no message or toString shows a secret")
  void shortSecretRefusedAndNeverShown() {
    String shortSecret = "only-31-bytes-of-secret-0123456";
    String message = error(new JsonObject().put("enabled", true).put("hmacSecret", shortSecret));
    assertTrue(message.contains("auth.jwt.hmacSecret is 31 bytes") && message.contains("at least 32"), message);
    assertFalse(message.contains(shortSecret));
    String wrongType = error(new JsonObject().put("hmacSecret", new JsonArray().add(SECRET)));
    assertFalse(wrongType.contains(SECRET), wrongType);
    AuthSettings settings = AuthSettings.from(new JsonObject().put("jwt", new JsonObject().put("enabled", true)
      .put("hmacSecret", SECRET)));
    assertFalse(settings.toString().contains(SECRET), settings.toString());
    assertFalse(settings.jwt().toString().contains(SECRET));
  }

  @Test
  @DisplayName("the admin scope is one scope token")
  void adminScopeIsOneToken() {
    assertTrue(error(new JsonObject().put("adminScope", "a b")).contains("auth.jwt.adminScope"));
    assertTrue(error(new JsonObject().put("adminScope", "")).contains("auth.jwt.adminScope"));
    assertTrue(error(new JsonObject().put("adminScop", "x")).contains("auth.jwt.adminScop"));
  }

  @Test
  @DisplayName("the public key's PEM decides the algorithm: RSA 2048+ is RS256, EC P-256 is ES256; others refused")
  void publicKeyFileDecidesTheAlgorithm() throws Exception {
    assertEquals("RS256", AccessControl.publicKey(write("rsa.pem", "PUBLIC KEY", rsa(2048))).getAlgorithm());
    assertEquals("ES256", AccessControl.publicKey(write("p256.pem", "PUBLIC KEY", ec("secp256r1"))).getAlgorithm());

    assertRefused(write("rsa1024.pem", "PUBLIC KEY", rsa(1024)), "1024-bit RSA key");
    assertRefused(write("p384.pem", "PUBLIC KEY", ec("secp384r1")), "EC key");
    assertRefused(write("private.pem", "PRIVATE KEY", new byte[]{1, 2, 3}), "PEM PRIVATE KEY");
    assertRefused(write("garbage.pem", "PUBLIC KEY", new byte[]{1, 2, 3}), "does not decode");
    Path empty = Files.writeString(dir.resolve("empty.pem"), "no pem here");
    assertRefused(empty, "no PEM block");
    assertRefused(dir.resolve("missing.pem"), "cannot read");
  }

  private void assertRefused(Path file, String why) {
    ConfigException e = assertThrows(ConfigException.class, () -> AccessControl.publicKey(file));
    assertTrue(e.getMessage().startsWith("auth.jwt.publicKeyPath: ") && e.getMessage().contains(why),
      e.getMessage());
  }

  private Path write(String name, String type, byte[] der) throws Exception {
    return Files.writeString(dir.resolve(name), "-----BEGIN " + type + "-----\n"
      + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der) + "\n-----END " + type + "-----\n");
  }

  private static byte[] rsa(int bits) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(bits);
    return generator.generateKeyPair().getPublic().getEncoded();
  }

  private static byte[] ec(String curve) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec(curve));
    return generator.generateKeyPair().getPublic().getEncoded();
  }
}
