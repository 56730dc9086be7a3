package io.sluice.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * TLS of every connection to the database ({@code db.tls}): the proxy's request and admin pools (Vert.x, mapped by
 * {@code DbSettings.toConnectOptions}), Flyway and the demo-data seeding, and the diagnose command's check connection
 * (both JDBC, MariaDB Connector/J, mapped by {@link #jdbcParameters}). One record for all of them, so that no client
 * of the database is left in clear text when the others are not.
 *
 * <p>Why it matters beyond the data: against MySQL 8's {@code caching_sha2_password}, a client that is not on TLS
 * and has no copy of the server's RSA key asks the server for it (JDBC's {@code allowPublicKeyRetrieval}); whoever
 * sits between the two can hand over a key of their own and read the password. TLS with a verified certificate
 * closes that.
 *
 * @param mode   how much TLS to demand
 * @param caPath PEM file of the CA that signed the server's certificate; empty when none is given. Required by the
 *               verifying modes, ignored by the others.
 */
public record DbTls(Mode mode, String caPath) {

  public static final Mode DEFAULT_MODE = Mode.DISABLED;
  public static final String DEFAULT_CA_PATH = "";

  /** A change needs a restart: the pools' connect options are built once, at start. */
  public static final Schema SCHEMA = Schema.of().restartOnly("mode", "caPath");

  public static final DbTls DISABLED = new DbTls(Mode.DISABLED, "");

  /** The modes, named as in the config; each knows its MariaDB Connector/J {@code sslMode}. */
  public enum Mode {
    /** Clear text. */
    DISABLED("disabled", "disable"),
    /** Encrypted, the server's certificate not checked: protects against a listener, not a man in the middle. */
    REQUIRED("required", "trust"),
    /** Encrypted, the server's certificate signed by the CA of {@code caPath}; its host name not checked. */
    VERIFY_CA("verify-ca", "verify-ca"),
    /** As {@link #VERIFY_CA}, and the certificate names the host connected to ({@code db.host}). */
    VERIFY_FULL("verify-full", "verify-full");

    private final String key;
    private final String jdbc;

    Mode(String key, String jdbc) {
      this.key = key;
      this.jdbc = jdbc;
    }

    /** The config value. */
    public String key() {
      return key;
    }

    /** Whether the server's certificate is checked against {@code caPath}. */
    public boolean verifies() {
      return this == VERIFY_CA || this == VERIFY_FULL;
    }

    static String known() {
      return Stream.of(values()).map(Mode::key).collect(Collectors.joining(" | "));
    }
  }

  public DbTls {
    caPath = caPath == null ? "" : caPath.trim();
  }

  public static DbTls from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return of(s.string("mode", DEFAULT_MODE.key()), s.string("caPath", DEFAULT_CA_PATH), s.keyOf("mode"),
      s.keyOf("caPath"));
  }

  /**
   * Validates a mode and a CA path given under the names {@code modeKey} and {@code caKey} (config keys, or a
   * command's options). Does not look at the file: see {@link #requireCaFile()}.
   */
  public static DbTls of(String mode, String caPath, String modeKey, String caKey) {
    String value = mode == null ? "" : mode.trim().toLowerCase(Locale.ROOT);
    Mode parsed = Stream.of(Mode.values()).filter(m -> m.key().equals(value)).findFirst()
      .orElseThrow(() -> new ConfigException(modeKey + " must be one of " + Mode.known() + ", got \"" + mode + "\""));
    DbTls tls = new DbTls(parsed, caPath);
    if (parsed.verifies() && tls.caPath().isEmpty()) {
      throw new ConfigException(modeKey + "=" + parsed.key() + " checks the server's certificate against a CA: set "
        + caKey + " to the PEM file of that CA (or use " + modeKey + "=required to encrypt without checking)");
    }
    if (tls.caPath().contains("&")) {
      // Connector/J splits its URL parameters at '&' and decodes nothing: such a path cannot reach it intact.
      throw new ConfigException(caKey + " must not contain '&', got \"" + tls.caPath() + "\"");
    }
    return tls;
  }

  /**
   * Fails with a message naming {@code db.tls.caPath} when the verifying modes cannot read the CA file. Blocking
   * (file I/O): call it at start, off the event loop.
   */
  public void requireCaFile() {
    if (mode.verifies() && !Files.isReadable(Path.of(caPath))) {
      throw new IllegalStateException("db.tls.caPath " + caPath + " does not exist or is not readable (db.tls.mode="
        + mode.key() + " needs the PEM file of the CA that signed the database server's certificate)");
    }
  }

  /**
   * The MariaDB Connector/J URL parameters, joined by {@code &}, without the leading {@code ?}: {@code sslMode}
   * always, {@code serverSslCert} when the mode verifies, {@code allowPublicKeyRetrieval=true} only when asked for
   * (see the class comment for its risk; over TLS the password is sent encrypted and no key is needed).
   */
  public String jdbcParameters(boolean allowPublicKeyRetrieval) {
    StringBuilder parameters = new StringBuilder("sslMode=").append(mode.jdbc);
    if (mode.verifies()) {
      parameters.append("&serverSslCert=").append(caPath);
    }
    if (allowPublicKeyRetrieval) {
      parameters.append("&allowPublicKeyRetrieval=true");
    }
    return parameters.toString();
  }

  /**
   * Whether {@code failure} (or a cause of it) is the TLS layer refusing: a handshake or certificate failure, as
   * opposed to a refused connection or wrong credentials. Lets start errors say which setting to look at.
   */
  public static boolean isTlsFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException || t instanceof java.security.cert.CertificateException) {
        return true;
      }
    }
    return false;
  }

  /** {@code mode=…, caPath=…} for messages; the CA path is public, no secret is involved. */
  public String describe() {
    return "db.tls.mode=" + mode.key() + (mode.verifies() ? ", db.tls.caPath=" + caPath : "");
  }
}
