package io.sluice.launcher;

import io.sluice.api.AdminSettings;
import io.sluice.api.AuthSettings;
import io.sluice.api.HttpSettings;
import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.config.Secrets;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.proxy.config.IdempotencySettings;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.config.ProxySettings;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The whole config tree: built-in defaults, overridden by the YAML file, overridden by environment variables.
 *
 * <p>Every key can be overridden by {@code SLUICE_} + its path in upper snake case, one {@code _} between path
 * segments and between camelCase words ({@code db.pool.maxSize} → {@code SLUICE_DB_POOL_MAX_SIZE}). Only keys that
 * exist (in the defaults or the file) can be overridden, and the value is typed like the key it overrides.
 *
 * <p>Each section's keys, defaults, validation and reload behaviour (live or restart-only) are declared once, in its
 * settings type; this class only assembles them ({@link #SCHEMA}, {@link #defaults()}, {@link #validate}).
 */
public final class SluiceConfig {

  public static final String DEFAULT_FILE = "conf/config.yaml";
  public static final String ENV_PREFIX = "SLUICE_";

  /** Variables of the test fixtures, not config keys. */
  private static final String TEST_ENV_PREFIX = "SLUICE_TEST_";
  private static final Logger log = LoggerFactory.getLogger(SluiceConfig.class);

  /** Every section and key, each live or restart-only, as the section's settings type declares it. */
  public static final Schema SCHEMA = ProxyConfig.SCHEMA
    .section("http", HttpSettings.SCHEMA)
    .section("embedded", EmbeddedSettings.SCHEMA)
    .section("log", LogFormat.SCHEMA)
    .section("reload", ReloadSettings.SCHEMA)
    .section("admin", AdminSettings.SCHEMA)
    .section("idempotency", IdempotencySettings.SCHEMA)
    .section("proxy", ProxySettings.SCHEMA)
    .section("cluster", ClusterSettings.SCHEMA)
    .section("auth", AuthSettings.SCHEMA);

  private SluiceConfig() {
  }

  /** Every key with its default value: the single source of the defaults is each section's settings class. */
  public static JsonObject defaults() {
    return ProxyConfig.defaults().toJson()
      .put("http", HttpSettings.defaults().toJson())
      .put("embedded", EmbeddedSettings.defaults().toJson())
      .put("log", LogFormat.defaults())
      .put("reload", ReloadSettings.defaults().toJson())
      .put("admin", AdminSettings.defaults().toJson())
      .put("idempotency", IdempotencySettings.defaults().toJson())
      .put("proxy", ProxySettings.defaults().toJson())
      .put("cluster", ClusterSettings.defaults().toJson())
      .put("auth", AuthSettings.defaults().toJson());
  }

  /**
   * Reads defaults, the file (which must exist unless it is the default path) and the environment, and validates
   * the result whole. Fails with a {@link ConfigException} naming the key when anything is wrong.
   */
  public static Future<JsonObject> load(Vertx vertx, Path file, boolean fileRequired, Map<String, String> env) {
    return load(vertx, new ConfigSource(file, fileRequired, env));
  }

  public static Future<JsonObject> load(Vertx vertx, ConfigSource source) {
    Path file = source.file();
    ConfigRetriever retriever = retriever(vertx, source);
    return retriever.getConfig()
      .map(SluiceConfig::validate)
      .recover(err -> Future.failedFuture(err instanceof ConfigException ? err
        : new ConfigException("cannot read config file " + file + ": " + rootMessage(err))))
      .eventually(retriever::close);
  }

  /**
   * Reads defaults, then the file, then the environment; does not validate (the caller does, to report a bad
   * reload instead of silently skipping it).
   */
  static ConfigRetriever retriever(Vertx vertx, ConfigSource source) {
    ConfigRetrieverOptions options = new ConfigRetrieverOptions()
      .setScanPeriod(-1)
      .addStore(new ConfigStoreOptions().setType("json").setConfig(defaults()));
    if (Files.exists(source.file()) || source.fileRequired()) {
      options.addStore(new ConfigStoreOptions().setType("file").setFormat("yaml").setOptional(false)
        .setConfig(new JsonObject().put("path", source.file().toString())));
    }
    return ConfigRetriever.create(vertx, options)
      .setConfigurationProcessor(json -> applyEnvironment(json, source.env()));
  }

  /** Checks every section with its settings type's own parser; returns the config unchanged. */
  public static JsonObject validate(JsonObject config) {
    JsonSection root = JsonSection.root(config).onlyKeys(SCHEMA);
    ProxyConfig.from(config);
    HttpSettings.from(root.section("http"));
    EmbeddedSettings.from(root.section("embedded"));
    LogFormat.from(root.section("log"));
    ReloadSettings.from(root.section("reload"));
    AdminSettings.from(root.section("admin"));
    IdempotencySettings.from(root.section("idempotency"));
    ProxySettings.from(root.section("proxy"));
    ClusterSettings.from(root.section("cluster"));
    AuthSettings.from(root.section("auth"));
    return config;
  }

  /**
   * Overrides each existing leaf key whose environment variable is set, typed like the key's default. Logs a
   * warning for a {@code SLUICE_} variable that names no key (a typo must not pass unnoticed).
   */
  static JsonObject applyEnvironment(JsonObject config, Map<String, String> env) {
    JsonObject result = config.copy();
    Set<String> used = new TreeSet<>();
    override(result, defaults(), ENV_PREFIX.substring(0, ENV_PREFIX.length() - 1), env, used);
    env.keySet().stream()
      .filter(name -> name.startsWith(ENV_PREFIX) && !name.startsWith(TEST_ENV_PREFIX) && !used.contains(name))
      .sorted()
      .forEach(name -> log.warn("Environment variable {} matches no config key; ignored", name));
    return result;
  }

  private static void override(JsonObject section, JsonObject defaults, String envPrefix, Map<String, String> env,
                               Set<String> names) {
    for (String key : Set.copyOf(section.fieldNames())) {
      Object current = section.getValue(key);
      Object defaultValue = defaults == null ? null : defaults.getValue(key);
      String name = envPrefix + "_" + envName(key);
      if (current instanceof JsonObject child) {
        override(child, defaultValue instanceof JsonObject d ? d : null, name, env, names);
        continue;
      }
      names.add(name);
      String raw = env.get(name);
      if (raw != null) {
        section.put(key, typed(name, raw, defaultValue != null ? defaultValue : current));
      }
    }
  }

  /** {@code maxWaitQueueSize} → {@code MAX_WAIT_QUEUE_SIZE}. */
  static String envName(String key) {
    return key.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
  }

  private static Object typed(String name, String raw, Object like) {
    String value = raw.trim();
    if (like instanceof Boolean) {
      if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
        return Boolean.parseBoolean(value);
      }
      throw new ConfigException("environment variable " + name + " must be true or false");
    }
    if (like instanceof Integer || like instanceof Long) {
      try {
        return Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new ConfigException("environment variable " + name + " must be an integer");
      }
    }
    if (like instanceof Number) {
      try {
        return Double.parseDouble(value);
      } catch (NumberFormatException e) {
        throw new ConfigException("environment variable " + name + " must be a number");
      }
    }
    return raw;
  }

  /**
   * The config with secrets ({@code db.password}, {@code admin.token}, {@code auth.jwt.hmacSecret}) masked, safe to
   * log or show.
   */
  public static JsonObject redacted(JsonObject config) {
    return Secrets.redact(config);
  }

  static String rootMessage(Throwable err) {
    Throwable root = err;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return message == null ? root.getClass().getSimpleName() : message.lines().findFirst().orElse(message);
  }
}
