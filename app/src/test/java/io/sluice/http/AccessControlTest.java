package io.sluice.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.launcher.SluiceVertx;
import io.sluice.launcher.TestSluice;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End-user access control ({@code auth.jwt}) over real HTTP on the real database: tokens are signed here with
 * vertx-auth-jwt, with the service's HS256 secret (or another one), and once with an ES256 key pair made for the
 * test. Every response is held to openapi.yaml by the test client, 401s and 403s included.
 */
class AccessControlTest {

  private static final String ISSUER = "https://issuer.example";
  private static final String AUDIENCE = "sluice-api";
  private static final String ADMIN_TOKEN = "access-control-test-admin-token";

  private static TestSluice.Running sluice;
  private static Vertx signers;
  private static JWTAuth hs256;
  private static JWTAuth otherSecret;
  private static long alice;
  private static long bob;
  private static String secret;
  /** Every log line of this class's run (INFO and above, as configured): none may hold the secret or a token. */
  private static final List<ILoggingEvent> log = new CopyOnWriteArrayList<>();
  private static AppenderBase<ILoggingEvent> capture;

  @BeforeAll
  static void start() {
    capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        log.add(event);
      }
    };
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    capture.setContext(root.getLoggerContext());
    capture.start();
    root.addAppender(capture);
    secret = randomSecret();
    JsonObject config = TestSluice.config();
    config.getJsonObject("auth").getJsonObject("jwt").put("enabled", true).put("hmacSecret", secret)
      .put("issuer", ISSUER).put("audience", AUDIENCE);
    config.getJsonObject("admin").put("token", ADMIN_TOKEN);
    // No background statement may run during the test that counts the pool's executions.
    config.getJsonObject("idempotency").put("purgeIntervalMs", 86_400_000);
    sluice = TestSluice.start(SluiceVertx.create(), config, Ticker.systemTicker());
    signers = Vertx.vertx();
    hs256 = hmacSigner(secret);
    otherSecret = hmacSigner(randomSecret());
    alice = createUser(adminToken()).bodyAsJsonObject().getLong("id");
    bob = createUser(adminToken()).bodyAsJsonObject().getLong("id");
  }

  @AfterAll
  static void stop() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(capture);
    try {
      sluice.close();
    } finally {
      signers.close().await();
    }
  }

  @Test
  @DisplayName("a token whose sub is the user reaches every route of that user")
  void ownUserReachesEveryRoute() {
    String token = userToken(alice);
    assertEquals(200, send(HttpMethod.GET, "/users/" + alice, token, null).statusCode());
    assertEquals(200, send(HttpMethod.GET, "/users/" + alice + "/settings", token, null).statusCode());
    JsonObject settings = new JsonObject().put("theme", "dark");
    HttpResponse<Buffer> put = send(HttpMethod.PUT, "/users/" + alice + "/settings", token, settings);
    assertEquals(200, put.statusCode(), put.bodyAsString());
    assertEquals(settings, put.bodyAsJsonObject().getJsonObject("settings"));
    HttpResponse<Buffer> created = send(HttpMethod.POST, "/users/" + alice + "/notifications", token,
      new JsonObject().put("title", "Hi").put("body", "there"));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    long nid = created.bodyAsJsonObject().getLong("id");
    assertEquals(200, send(HttpMethod.GET, "/users/" + alice + "/notifications", token, null).statusCode());
    assertEquals(204, send(HttpMethod.POST, "/users/" + alice + "/notifications/" + nid + "/read", token, null)
      .statusCode());
  }

  @Test
  @DisplayName("another user's token gets 403 forbidden on every route, and writes nothing")
  void otherUserIsForbidden() {
    String token = userToken(bob);
    long before = sluice.sql().count("SELECT COUNT(*) FROM notifications WHERE user_id = ?", alice);
    for (HttpResponse<Buffer> response : List.of(
      send(HttpMethod.GET, "/users/" + alice, token, null),
      send(HttpMethod.GET, "/users/" + alice + "/settings", token, null),
      send(HttpMethod.PUT, "/users/" + alice + "/settings", token, new JsonObject().put("theme", "bob's")),
      send(HttpMethod.GET, "/users/" + alice + "/notifications", token, null),
      send(HttpMethod.POST, "/users/" + alice + "/notifications", token,
        new JsonObject().put("title", "from bob").put("body", "")),
      send(HttpMethod.POST, "/users/" + alice + "/notifications/1/read", token, null))) {
      assertError(response, 403, "forbidden");
    }
    assertEquals(before, sluice.sql().count("SELECT COUNT(*) FROM notifications WHERE user_id = ?", alice));
    assertEquals(0, sluice.sql().count("SELECT COUNT(*) FROM user_settings WHERE user_id = ? AND settings LIKE ?",
      alice, "%bob's%"));
  }

  @Test
  @DisplayName("the admin scope, as a space-separated string or a JSON array, reaches any user")
  void adminScopeReachesAnyUser() {
    JsonObject asString = claims("someone-else").put("scope", "openid sluice:admin profile");
    JsonObject asArray = claims("someone-else").put("scope", new JsonArray().add("openid").add("sluice:admin"));
    for (JsonObject claims : List.of(asString, asArray)) {
      String token = hs256.generateToken(claims);
      HttpResponse<Buffer> read = send(HttpMethod.GET, "/users/" + alice, token, null);
      assertEquals(200, read.statusCode(), read.bodyAsString());
      assertEquals(alice, read.bodyAsJsonObject().getLong("id"));
    }
    // A scope that merely contains the admin scope's text is not it.
    String near = hs256.generateToken(claims("x").put("scope", "sluice:admin2 not-sluice:admin"));
    assertError(send(HttpMethod.GET, "/users/" + alice, near, null), 403, "forbidden");
  }

  @Test
  @DisplayName("POST /users needs the admin scope: 401 without a token, 403 with a user's, 201 with an admin's")
  void creatingUsersNeedsTheAdminScope() {
    assertUnauthorized(createUser(null), "Bearer");
    assertError(createUser(userToken(alice)), 403, "forbidden");
    HttpResponse<Buffer> created = createUser(adminToken());
    assertEquals(201, created.statusCode(), created.bodyAsString());
    assertEquals(1, sluice.sql().count("SELECT COUNT(*) FROM users WHERE id = ?",
      created.bodyAsJsonObject().getLong("id")));
  }

  @Test
  @DisplayName("a missing, malformed, wrongly signed, expired, early, or other issuer's or audience's token gets 401")
  void invalidTokensAreUnauthorized() {
    String path = "/users/" + alice;
    assertUnauthorized(send(HttpMethod.GET, path, null, null), "Bearer");
    long now = System.currentTimeMillis() / 1000;
    String good = userToken(alice);
    String[] header = good.split("\\.");
    String unsigned = base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + header[1] + ".";
    String noneWithSignature = base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + header[1] + "." + header[2];
    String tamperedClaims = header[0] + "." + base64Url(claims(Long.toString(bob)).encode()) + "." + header[2];
    List<String> invalid = List.of(
      "not-a-jwt",
      unsigned,
      noneWithSignature,
      tamperedClaims,
      otherSecret.generateToken(claims(Long.toString(alice))),
      hs256.generateToken(claims(Long.toString(alice)).put("exp", now - 3600)),
      hs256.generateToken(claims(Long.toString(alice)).put("exp", "tomorrow")),
      hs256.generateToken(claims(Long.toString(alice)).put("nbf", now + 3600)),
      hs256.generateToken(claims(Long.toString(alice)).put("iss", "https://elsewhere.example")),
      hs256.generateToken(claimsWithout("iss")),
      hs256.generateToken(claims(Long.toString(alice)).put("aud", "another-api")),
      hs256.generateToken(claims(Long.toString(alice)).put("aud", new JsonArray().add("a").add("b"))));
    for (String token : invalid) {
      HttpResponse<Buffer> response = send(HttpMethod.GET, path, token, null);
      assertUnauthorized(response, "Bearer error=\"invalid_token\"");
      assertFalse(response.bodyAsString().contains(token), "the token is never echoed");
    }
    // Audience given as an array that includes this API is accepted.
    String listed = hs256.generateToken(claims(Long.toString(alice)).put("aud", new JsonArray().add("x")
      .add(AUDIENCE)));
    assertEquals(200, send(HttpMethod.GET, path, listed, null).statusCode());
    // Another scheme, or the header twice, is not a bearer token.
    HttpResponse<Buffer> basic = sluice.client().get(path).putHeader("Authorization", "Basic YWxpY2U6cHc=").send()
      .await();
    assertUnauthorized(basic, "Bearer error=\"invalid_token\"");
    HttpResponse<Buffer> twice = sluice.client().get(path)
      .putHeader("Authorization", List.of("Bearer " + good, "Bearer " + good)).send().await();
    assertUnauthorized(twice, "Bearer error=\"invalid_token\"");
  }

  @Test
  @DisplayName("a refused request reaches no proxy: the pool runs no statement for 401s and 403s")
  void refusedRequestsCostNoDatabaseWork() {
    long before = executed();
    String bobs = userToken(bob);
    for (int i = 0; i < 5; i++) {
      assertEquals(401, send(HttpMethod.PUT, "/users/" + alice + "/settings", null,
        new JsonObject().put("n", i)).statusCode());
      assertEquals(403, send(HttpMethod.PUT, "/users/" + alice + "/settings", bobs,
        new JsonObject().put("n", i)).statusCode());
      assertEquals(403, createUser(bobs).statusCode());
    }
    assertEquals(before, executed());
  }

  @Test
  @DisplayName("health, metrics and /openapi.yaml stay open; /admin/* keeps its own token, not a JWT")
  void operationalEndpointsAreUnchanged() {
    for (String open : List.of("/health/live", "/health/ready", "/metrics", "/openapi.yaml")) {
      HttpResponse<Buffer> response = sluice.client().get(open).send().await();
      assertEquals(200, response.statusCode(), open + ": " + response.bodyAsString());
    }
    assertEquals(200, sluice.client().get("/admin/pool").bearerTokenAuthentication(ADMIN_TOKEN).send().await()
      .statusCode());
    assertError(sluice.client().get("/admin/pool").bearerTokenAuthentication(adminToken()).send().await(), 401,
      "unauthorized");
  }

  @Test
  @DisplayName("ES256: a token signed by the key pair whose public key is in auth.jwt.publicKeyPath is accepted")
  void es256PublicKeyFromPemFile(@TempDir Path dir) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair issuerKeys = generator.generateKeyPair();
    KeyPair strangerKeys = generator.generateKeyPair();
    Path publicPem = dir.resolve("issuer.pem");
    Files.writeString(publicPem, pem("PUBLIC KEY", issuerKeys.getPublic().getEncoded()));

    JsonObject config = TestSluice.config();
    config.getJsonObject("auth").getJsonObject("jwt").put("enabled", true).put("publicKeyPath",
      publicPem.toString());
    JWTAuth issuer = ecSigner(issuerKeys);
    JWTAuth stranger = ecSigner(strangerKeys);
    JWTOptions es256 = new JWTOptions().setAlgorithm("ES256").setExpiresInMinutes(10);
    try (TestSluice.Running es = TestSluice.start(config)) {
      String path = "/users/" + alice;
      String own = issuer.generateToken(new JsonObject().put("sub", Long.toString(alice)), es256);
      HttpResponse<Buffer> read = es.client().get(path).bearerTokenAuthentication(own).send().await();
      assertEquals(200, read.statusCode(), read.bodyAsString());
      String other = issuer.generateToken(new JsonObject().put("sub", Long.toString(bob)), es256);
      assertError(es.client().get(path).bearerTokenAuthentication(other).send().await(), 403, "forbidden");
      String forged = stranger.generateToken(new JsonObject().put("sub", Long.toString(alice)), es256);
      assertUnauthorized(es.client().get(path).bearerTokenAuthentication(forged).send().await(),
        "Bearer error=\"invalid_token\"");
      // An HS256 token, whatever its secret, is not accepted by a service configured with a public key.
      assertUnauthorized(es.client().get(path).bearerTokenAuthentication(userToken(alice)).send().await(),
        "Bearer error=\"invalid_token\"");
    }
  }

  @Test
  @DisplayName("the start logs one WARN with auth off and HTTP on a non-loopback address, one with auth on and"
    + " neither issuer nor audience, and none with auth on and an issuer")
  void openApiOnTheNetworkIsWarnedAbout() {
    record Case(boolean enabled, String issuer, String warning) {
    }
    for (Case c : List.of(new Case(false, "", "auth.jwt.enabled is false"),
      new Case(true, "", "auth.jwt.issuer and auth.jwt.audience are both empty"),
      new Case(true, "https://issuer.test", null))) {
      JsonObject config = TestSluice.config();
      config.getJsonObject("http").put("host", "0.0.0.0");
      config.getJsonObject("auth").getJsonObject("jwt").put("enabled", c.enabled()).put("hmacSecret", secret)
        .put("issuer", c.issuer());
      int before = warnings().size();
      try (TestSluice.Running ignored = TestSluice.start(config)) {
        List<String> warned = warnings().subList(before, warnings().size());
        assertEquals(c.warning() == null ? 0 : 1, warned.size(), c + ": " + warned);
        if (c.warning() != null) {
          assertTrue(warned.get(0).startsWith(c.warning()), c + ": " + warned);
        }
      }
    }
  }

  @Test
  @DisplayName("a missing or unusable auth.jwt.publicKeyPath stops the start with a message naming the key")
  void unusableKeyFileStopsTheStart(@TempDir Path dir) throws Exception {
    Path privateKey = dir.resolve("private.pem");
    Files.writeString(privateKey, pem("PRIVATE KEY", new byte[]{1, 2, 3}));
    for (Path file : List.of(dir.resolve("missing.pem"), privateKey)) {
      JsonObject config = TestSluice.config();
      config.getJsonObject("auth").getJsonObject("jwt").put("enabled", true).put("publicKeyPath", file.toString());
      Throwable refused = assertThrows(Throwable.class,
        () -> TestSluice.start(config).close());
      assertTrue(refused.getMessage().startsWith("auth.jwt.publicKeyPath: ") && refused.getMessage()
        .contains(file.getFileName().toString()), refused.toString());
    }
  }

  @Test
  @DisplayName("no log line holds the HMAC secret or a token")
  void secretsAndTokensAreNeverLogged() {
    // Something to log first: refusals and successes.
    send(HttpMethod.GET, "/users/" + alice, userToken(bob), null);
    send(HttpMethod.GET, "/users/" + alice, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", null);
    send(HttpMethod.GET, "/users/" + alice, userToken(alice), null);
    assertFalse(log.isEmpty());
    for (ILoggingEvent event : log) {
      String line = event.getFormattedMessage() + (event.getThrowableProxy() == null ? ""
        : event.getThrowableProxy().getMessage());
      assertFalse(line.contains(secret), "the secret is logged: " + line);
      assertFalse(line.contains("eyJ"), "a token is logged: " + line);
    }
  }

  // --- helpers

  private static List<String> warnings() {
    return log.stream().filter(e -> e.getLevel() == Level.WARN && e.getLoggerName().endsWith(".Launcher"))
      .filter(e -> e.getFormattedMessage().startsWith("auth.jwt."))
      .map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static HttpResponse<Buffer> send(HttpMethod method, String uri, String token, JsonObject body) {
    HttpRequest<Buffer> request = sluice.client().request(method, uri);
    if (token != null) {
      request.bearerTokenAuthentication(token);
    }
    return body == null ? request.send().await() : request.sendJson(body).await();
  }

  private static HttpResponse<Buffer> createUser(String token) {
    return send(HttpMethod.POST, "/users", token, new JsonObject().put("name", "Access")
      .put("email", "access-" + UUID.randomUUID() + "@example.com"));
  }

  /** Claims every valid token here carries: this service's issuer and audience, ten minutes to live. */
  private static JsonObject claims(String sub) {
    return new JsonObject().put("sub", sub).put("iss", ISSUER).put("aud", AUDIENCE)
      .put("exp", System.currentTimeMillis() / 1000 + 600);
  }

  private static JsonObject claimsWithout(String claim) {
    JsonObject claims = claims(Long.toString(alice));
    claims.remove(claim);
    return claims;
  }

  private static String userToken(long id) {
    return hs256.generateToken(claims(Long.toString(id)));
  }

  private static String adminToken() {
    return hs256.generateToken(claims("ops").put("scope", "sluice:admin"));
  }

  private static long executed() {
    HttpResponse<Buffer> pool = sluice.client().get("/admin/pool").bearerTokenAuthentication(ADMIN_TOKEN).send()
      .await();
    assertEquals(200, pool.statusCode(), pool.bodyAsString());
    return pool.bodyAsJsonObject().getLong("executed");
  }

  private static void assertUnauthorized(HttpResponse<Buffer> response, String challenge) {
    assertError(response, 401, "unauthorized");
    assertEquals(challenge, response.getHeader("WWW-Authenticate"));
  }

  private static void assertError(HttpResponse<Buffer> response, int status, String code) {
    assertEquals(status, response.statusCode(), response.bodyAsString());
    assertEquals("application/json", response.getHeader("Content-Type"));
    JsonObject body = response.bodyAsJsonObject();
    assertEquals(code, body.getString("error"));
    assertNotNull(body.getString("message"));
    assertEquals(2, body.size());
  }

  private static String randomSecret() {
    byte[] bytes = new byte[48];
    new SecureRandom().nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** Signs HS256 tokens with {@code secret}; {@code generateToken(claims)} adds only {@code iat}. */
  private static JWTAuth hmacSigner(String secret) {
    return JWTAuth.create(signers, new JWTAuthOptions()
      .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret)));
  }

  private static JWTAuth ecSigner(KeyPair keys) {
    return JWTAuth.create(signers, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm("ES256")
      .setBuffer(pem("PRIVATE KEY", keys.getPrivate().getEncoded()))));
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der)
      + "\n-----END " + type + "-----\n";
  }

  private static String base64Url(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }
}
