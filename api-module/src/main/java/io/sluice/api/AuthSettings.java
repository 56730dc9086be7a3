package io.sluice.api;

import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.config.Secrets;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The {@code auth} section: end-user access control of the API. Its one subsection, {@code auth.jwt}, says whether
 * the {@code /users} routes need a bearer JWT, and how that token is verified ({@link AccessControl}).
 *
 * <p>Restart-only, every key: the verifier is built, and the public-key file read, when the HTTP verticles start.
 */
public record AuthSettings(Jwt jwt) {

  public static final Schema SCHEMA = Schema.of().section("jwt", Jwt.SCHEMA);

  /**
   * The {@code auth.jwt} section.
   *
   * @param enabled       false (the default): no access control, no handler installed
   * @param hmacSecret    HS256 shared secret, at least {@link #MIN_HMAC_SECRET_BYTES} bytes; never logged or shown
   * @param publicKeyPath PEM file of the issuer's RSA (RS256) or P-256 EC (ES256) public key, or its certificate
   * @param issuer        the {@code iss} a token must carry; empty: not checked
   * @param audience      a value the token's {@code aud} must contain; empty: not checked
   * @param adminScope    the scope that grants every user's data and {@code POST /users}
   */
  public record Jwt(boolean enabled, String hmacSecret, String publicKeyPath, String issuer, String audience,
                    String adminScope) {

    public static final String DEFAULT_ADMIN_SCOPE = "sluice:admin";
    /** RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits. */
    public static final int MIN_HMAC_SECRET_BYTES = 32;

    public static final Schema SCHEMA = Schema.of()
      .restartOnly("enabled", "hmacSecret", "publicKeyPath", "issuer", "audience", "adminScope");

    public static Jwt from(JsonSection s) {
      s.onlyKeys(SCHEMA);
      Jwt jwt = new Jwt(s.bool("enabled", false), s.secret("hmacSecret", ""), s.string("publicKeyPath", ""),
        s.string("issuer", ""), s.string("audience", ""), s.string("adminScope", DEFAULT_ADMIN_SCOPE));
      if (jwt.adminScope.isEmpty() || !jwt.adminScope.matches("\\S+")) {
        throw new ConfigException(s.keyOf("adminScope") + " must be one scope (no spaces), got \""
          + jwt.adminScope + "\"");
      }
      if (!jwt.enabled) {
        return jwt;
      }
      boolean hmac = !jwt.hmacSecret.isEmpty();
      boolean publicKey = !jwt.publicKeyPath.isBlank();
      if (hmac == publicKey) {
        throw new ConfigException(s.keyOf("enabled") + " is true with " + (hmac ? "both " : "neither ")
          + s.keyOf("hmacSecret") + (hmac ? " and " : " nor ") + s.keyOf("publicKeyPath") + ": set exactly one ("
          + "the shared secret for HS256 tokens, or the PEM file of the issuer's public key for RS256/ES256)");
      }
      int bytes = jwt.hmacSecret.getBytes(StandardCharsets.UTF_8).length;
      if (hmac && bytes < MIN_HMAC_SECRET_BYTES) {
        throw new ConfigException(s.keyOf("hmacSecret") + " is " + bytes + " bytes; HS256 needs at least "
          + MIN_HMAC_SECRET_BYTES + " (256 bits), e.g. openssl rand -base64 48");
      }
      return jwt;
    }

    /**
     * Fails with a {@link ConfigException} naming {@code auth.jwt.publicKeyPath} when access control is on with a
     * key file that is missing or holds no usable public key. Blocking (reads the file): the launcher calls it before
     * anything slow starts; the HTTP verticles read the file again, on a worker, when they build their verifier.
     */
    public void requireUsableKey() {
      if (enabled && !publicKeyPath.isBlank()) {
        AccessControl.publicKey(Path.of(publicKeyPath));
      }
    }

    public JsonObject toJson() {
      return new JsonObject().put("enabled", enabled).put("hmacSecret", hmacSecret)
        .put("publicKeyPath", publicKeyPath).put("issuer", issuer).put("audience", audience)
        .put("adminScope", adminScope);
    }

    @Override
    public String toString() {
      return "Jwt" + Secrets.redact(toJson()).encode();
    }
  }

  public static AuthSettings from(JsonObject auth) {
    return from(JsonSection.root(new JsonObject().put("auth", auth == null ? new JsonObject() : auth))
      .section("auth"));
  }

  public static AuthSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new AuthSettings(Jwt.from(s.section("jwt")));
  }

  public static AuthSettings defaults() {
    return from(new JsonObject());
  }

  public JsonObject toJson() {
    return new JsonObject().put("jwt", jwt.toJson());
  }

  @Override
  public String toString() {
    return "AuthSettings" + Secrets.redact(toJson()).encode();
  }
}
