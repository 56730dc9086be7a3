package io.sluice.api;

import io.sluice.config.ConfigException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-user access control of the API ({@code auth.jwt.*}): {@code /users/{id}} and everything under it need a bearer
 * JWT whose {@code sub} is that id, or whose {@code scope} holds {@code auth.jwt.adminScope}; {@code POST /users}
 * needs that scope. Health, metrics and {@code /openapi.yaml} stay open; {@code /admin/*} keeps its own token.
 *
 * <p>Invariants:
 * <ul>
 *   <li>Installed only when enabled ({@link #register}): with auth off the router holds no handler of this class,
 *   and a request pays nothing for it.</li>
 *   <li>It runs ahead of the body handler and of the route, so a refused request is answered before its body is
 *   read and before anything is sent to the proxy: it costs no database work.</li>
 *   <li>The verification is synchronous: vertx-auth-jwt checks the signature in the calling thread and returns a
 *   completed future. So the request body is still unread when the body handler runs after it ({@code POST} with
 *   admin scope is tested for it); should verification ever become asynchronous, the request would have to be
 *   paused here first.</li>
 *   <li>Only the signature is left to vertx-auth-jwt; time, issuer and audience are checked here, on the verified
 *   claims, so that each refusal says which check failed without matching the library's messages.</li>
 * </ul>
 *
 * <p>Every refusal is the JSON error body: 401 {@code unauthorized} with {@code WWW-Authenticate: Bearer} (RFC 6750:
 * no token; {@code error="invalid_token"}: a token that is malformed, badly signed, expired, or for another issuer or
 * audience), 403 {@code forbidden} for a valid token that does not grant the route. Neither the token nor the key
 * is ever logged or echoed.
 *
 * <p>One instance per HTTP verticle, used on its event loop only.
 */
final class AccessControl {

  /** Tolerated clock difference with the issuer, in seconds, for {@code exp} and {@code nbf}. */
  static final long CLOCK_SKEW_SECONDS = 30;

  private static final String BEARER = "bearer ";
  private static final Pattern PEM = Pattern.compile(
    "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  /** Three base64url segments: header, claims, signature. */
  private static final Pattern JWS_COMPACT = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");

  private final JWTAuth verifier;
  private final AuthSettings.Jwt settings;
  private final HttpErrors errors;

  private AccessControl(JWTAuth verifier, AuthSettings.Jwt settings, HttpErrors errors) {
    this.verifier = verifier;
    this.settings = settings;
    this.errors = errors;
  }

  /**
   * The verifier of {@code settings}, or null when access control is off. Blocking (reads
   * {@code auth.jwt.publicKeyPath}): call it on a worker, or before deployment.
   *
   * @throws ConfigException when the key file cannot be read or holds no usable public key
   */
  static JWTAuth verifier(Vertx vertx, AuthSettings.Jwt settings) {
    if (!settings.enabled()) {
      return null;
    }
    PubSecKeyOptions key = settings.hmacSecret().isEmpty()
      ? publicKey(Path.of(settings.publicKeyPath()))
      : new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(settings.hmacSecret());
    // exp and nbf are checked in refusal(), with the clock skew; vertx-auth-jwt keeps the signature check.
    return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(key)
      .setJWTOptions(new JWTOptions().setIgnoreExpiration(true)));
  }

  /** Installs the checks ahead of the API routes, when {@code verifier} is not null (access control on). */
  static void register(Router router, JWTAuth verifier, AuthSettings.Jwt settings, HttpErrors errors) {
    if (verifier == null) {
      return;
    }
    AccessControl access = new AccessControl(verifier, settings, errors);
    router.post("/users").handler(access::requireAdmin);
    // One route for /users/{id} and everything under it (settings, notifications), whatever the method.
    router.routeWithRegex("^/users/(?<id>[^/]+)(/.*)?$").handler(access::requireOwnerOrAdmin);
  }

  private void requireAdmin(RoutingContext ctx) {
    check(ctx, this::isAdmin, "creating a user needs the " + settings.adminScope() + " scope");
  }

  private void requireOwnerOrAdmin(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    check(ctx, claims -> id != null && id.equals(subject(claims)) || isAdmin(claims),
      "this token is not for user " + HttpErrors.abbreviate(id) + ": its sub is another user's and it has no "
        + settings.adminScope() + " scope");
  }

  private void check(RoutingContext ctx, Predicate<JsonObject> allowed, String forbidden) {
    List<String> authorization = ctx.request().headers().getAll(HttpHeaders.AUTHORIZATION);
    if (authorization.isEmpty()) {
      refuse(ctx, "Bearer", "a bearer token is required: Authorization: Bearer <JWT>");
      return;
    }
    String header = authorization.get(0);
    if (authorization.size() > 1 || header.length() <= BEARER.length()
      || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      refuse(ctx, "Bearer error=\"invalid_token\"", "the Authorization header must be given once, as Bearer <JWT>");
      return;
    }
    String token = header.substring(BEARER.length()).trim();
    if (!JWS_COMPACT.matcher(token).matches()) {
      refuse(ctx, "Bearer error=\"invalid_token\"", "the bearer token is not a signed JWT");
      return;
    }
    verify(token).onComplete(ar -> {
      if (ar.failed()) {
        refuse(ctx, "Bearer error=\"invalid_token\"", ar.cause().getMessage());
      } else if (!allowed.test(ar.result())) {
        errors.error(ctx, new ApiError(403, ApiError.FORBIDDEN, forbidden));
      } else {
        ctx.next();
      }
    });
  }

  /** The token's verified claims, or a failure whose message is client-safe (it never holds the token). */
  private Future<JsonObject> verify(String token) {
    Future<User> verified;
    try {
      verified = verifier.authenticate(new TokenCredentials(token));
    } catch (RuntimeException e) {
      // vertx-auth-jwt reads exp, iat and nbf with a cast outside its own try: a claim of the wrong type throws.
      verified = Future.failedFuture(e);
    }
    return verified.transform(ar -> {
      if (ar.failed()) {
        return Future.failedFuture(invalid("its signature does not verify with the configured key, or it is not a"
          + " JWT"));
      }
      JsonObject claims = ar.result().attributes().getJsonObject("accessToken");
      String why = claims == null ? "it has no claims" : refusal(claims);
      return why == null ? Future.succeededFuture(claims) : Future.failedFuture(invalid(why));
    });
  }

  /** Why these verified claims are not accepted (time, issuer, audience), or null. */
  private String refusal(JsonObject claims) {
    long now = System.currentTimeMillis() / 1000;
    Object exp = claims.getValue("exp");
    Object nbf = claims.getValue("nbf");
    if (exp != null && !(exp instanceof Number) || nbf != null && !(nbf instanceof Number)) {
      return "its exp or nbf is not a number";
    }
    if (exp != null && now - CLOCK_SKEW_SECONDS >= ((Number) exp).longValue()) {
      return "it has expired";
    }
    if (nbf != null && ((Number) nbf).longValue() > now + CLOCK_SKEW_SECONDS) {
      return "it is not valid yet (nbf)";
    }
    if (!settings.issuer().isEmpty() && !settings.issuer().equals(claims.getValue("iss"))) {
      return "its issuer (iss) is not the accepted one";
    }
    if (!settings.audience().isEmpty() && !contains(claims.getValue("aud"), settings.audience())) {
      return "its audience (aud) does not include this API";
    }
    return null;
  }

  private boolean isAdmin(JsonObject claims) {
    Object scope = claims.getValue("scope");
    if (scope instanceof String scopes) {
      for (String granted : scopes.split(" ")) {
        if (granted.equals(settings.adminScope())) {
          return true;
        }
      }
      return false;
    }
    return contains(scope, settings.adminScope());
  }

  /** A string claim equal to {@code value}, or an array claim with {@code value} among its strings. */
  private static boolean contains(Object claim, String value) {
    if (claim instanceof JsonArray array) {
      return array.getList().contains(value);
    }
    return value.equals(claim);
  }

  /** {@code sub} as a string; issuers that write a user id as a JSON integer are accepted too. */
  private static String subject(JsonObject claims) {
    Object sub = claims.getValue("sub");
    if (sub instanceof String s) {
      return s;
    }
    return sub instanceof Integer || sub instanceof Long ? sub.toString() : null;
  }

  private void refuse(RoutingContext ctx, String challenge, String message) {
    ctx.response().putHeader("WWW-Authenticate", challenge);
    errors.error(ctx, new ApiError(401, ApiError.UNAUTHORIZED, message));
  }

  private static ApiError.Failure invalid(String why) {
    return new ApiError.Failure(new ApiError(401, ApiError.UNAUTHORIZED, "the bearer token is not valid: " + why));
  }

  /**
   * The issuer's public key from a PEM file ({@code BEGIN PUBLIC KEY}, or {@code BEGIN CERTIFICATE}), with the
   * algorithm it implies: RS256 for an RSA key of at least 2048 bits, ES256 for an EC key on P-256. Blocking.
   */
  static PubSecKeyOptions publicKey(Path file) {
    String key = "auth.jwt.publicKeyPath";
    String pem;
    try {
      pem = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException(key + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ": "
        + e.getMessage() + ")");
    }
    Matcher m = PEM.matcher(pem);
    if (!m.find()) {
      throw new ConfigException(key + ": " + file + " holds no PEM block (-----BEGIN PUBLIC KEY-----)");
    }
    String type = m.group(1);
    PublicKey publicKey;
    try {
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      publicKey = switch (type) {
        case "PUBLIC KEY" -> spki(der);
        case "CERTIFICATE" -> CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
        default -> throw new ConfigException(key + ": " + file + " holds a PEM " + type + "; it must hold the"
          + " token issuer's public key (BEGIN PUBLIC KEY) or certificate (BEGIN CERTIFICATE)");
      };
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new ConfigException(key + ": " + file + " holds a PEM " + type + " that does not decode ("
        + e.getMessage() + ")");
    }
    String algorithm;
    if (publicKey instanceof RSAPublicKey rsa) {
      if (rsa.getModulus().bitLength() < 2048) {
        throw new ConfigException(key + ": " + file + " holds a " + rsa.getModulus().bitLength() + "-bit RSA key;"
          + " RS256 needs at least 2048 bits");
      }
      algorithm = "RS256";
    } else if (publicKey instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() == 256) {
      algorithm = "ES256";
    } else {
      throw new ConfigException(key + ": " + file + " holds a " + publicKey.getAlgorithm() + " key; Sluice accepts"
        + " RSA (RS256, at least 2048 bits) or EC P-256 (ES256)");
    }
    return new PubSecKeyOptions().setAlgorithm(algorithm).setBuffer(m.group());
  }

  private static PublicKey spki(byte[] der) throws GeneralSecurityException {
    X509EncodedKeySpec spec = new X509EncodedKeySpec(der);
    try {
      return KeyFactory.getInstance("RSA").generatePublic(spec);
    } catch (GeneralSecurityException e) {
      return KeyFactory.getInstance("EC").generatePublic(spec);
    }
  }
}
