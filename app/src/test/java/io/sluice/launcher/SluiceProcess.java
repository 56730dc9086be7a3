package io.sluice.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * {@code java -jar sluice.jar} in a process of its own, as its users run it, for the integration tests (failsafe,
 * after {@code package}): configured only by {@code SLUICE_*} variables, in a working directory of its own (so no
 * {@code conf/config.yaml} is read), with the embedded MariaDB in {@code <dir>/data} and its output in
 * {@code <dir>/sluice.log}.
 */
final class SluiceProcess implements AutoCloseable {

  /** Liveness bounds, never speed assertions: the first start unpacks MariaDB (about 150 MB) on a busy machine. */
  static final Duration START_BOUND = Duration.ofMinutes(3);
  static final Duration EXIT_BOUND = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(100);

  final Process process;
  final Path dir;
  final String httpHost;
  final int httpPort;

  private SluiceProcess(Process process, Path dir, String httpHost, int httpPort) {
    this.process = process;
    this.dir = dir;
    this.httpHost = httpHost;
    this.httpPort = httpPort;
  }

  /** Starts the jar in a fresh directory under {@code target/}, HTTP on {@code httpPort}, and returns at once. */
  static SluiceProcess start(String name, int httpPort, Map<String, String> env) {
    return start(name, httpPort, env, List.of());
  }

  /**
   * As {@link #start(String, int, Map)}, in a Unix session and process group of its own ({@code setsid}, which
   * execs java in place: the process's pid is its group's id), so that a test can signal the whole group, as
   * {@code kill -- -PGID} or systemd do, without signalling itself.
   */
  static SluiceProcess startInOwnGroup(String name, int httpPort, Map<String, String> env) {
    return start(name, httpPort, env, List.of("setsid"));
  }

  /**
   * As {@link #start(String, int, Map)}, in the network namespace {@code namespace} ({@code ip netns exec}, which
   * execs java in place: the process is the JVM), HTTP on {@code httpHost:httpPort}, an address of that namespace.
   */
  static SluiceProcess startInNamespace(String name, String namespace, String httpHost, int httpPort,
                                        Map<String, String> env) {
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("SLUICE_HTTP_HOST", httpHost);
    return start(name, httpHost, httpPort, all, List.of("ip", "netns", "exec", namespace), null);
  }

  private static SluiceProcess start(String name, int httpPort, Map<String, String> env, List<String> prefix) {
    return start(name, "127.0.0.1", httpPort, env, prefix, null);
  }

  /**
   * As {@link #start(String, int, Map)}, reading {@code yaml} as its {@code conf/config.yaml} (the default path,
   * relative to its working directory), which {@link #writeConfig} changes for the reload to find; keys set in
   * {@code env} override the file and cannot be reloaded.
   */
  static SluiceProcess startWithConfig(String name, int httpPort, Map<String, String> env, String yaml) {
    return start(name, "127.0.0.1", httpPort, env, List.of(), yaml);
  }

  /** Replaces {@code conf/config.yaml} at once (written aside, then moved): a scan never reads half a file. */
  void writeConfig(String yaml) {
    try {
      Path conf = dir.resolve("conf");
      Path next = Files.writeString(conf.resolve("config.yaml.next"), yaml);
      Files.move(next, conf.resolve("config.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends {@code signal} ({@code STOP}, {@code CONT}) to this process alone, as {@code kill -SIGNAL pid} does. */
  void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).redirectErrorStream(true)
      .start();
    String output = new String(kill.getInputStream().readAllBytes());
    if (kill.waitFor() != 0) {
      throw new AssertionError("kill -" + signal + " " + process.pid() + " failed: " + output);
    }
  }

  private static SluiceProcess start(String name, String httpHost, int httpPort, Map<String, String> env,
                                     List<String> prefix, String yaml) {
    try {
      Path target = Path.of("target", "process-it").toAbsolutePath();
      Files.createDirectories(target);
      Path dir = Files.createTempDirectory(target, name + "-");
      if (yaml != null) {
        Files.createDirectories(dir.resolve("conf"));
        Files.writeString(dir.resolve("conf").resolve("config.yaml"), yaml);
      }
      List<String> command = new ArrayList<>(prefix);
      command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        jar().toString()));
      ProcessBuilder builder = new ProcessBuilder(command)
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("sluice.log").toFile());
      builder.environment().keySet().removeIf(key -> key.startsWith("SLUICE_"));
      builder.environment().put("SLUICE_HTTP_HOST", "127.0.0.1");
      builder.environment().put("SLUICE_HTTP_PORT", String.valueOf(httpPort));
      builder.environment().put("SLUICE_EMBEDDED_DATA_DIR", dir.resolve("data").toString());
      builder.environment().put("SLUICE_EMBEDDED_SEED_USERS", "10");
      builder.environment().put("SLUICE_RELOAD_SCAN_PERIOD_MS", "0");
      builder.environment().putAll(env);
      return new SluiceProcess(builder.start(), dir, httpHost, httpPort);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path jar() {
    Path jar = Path.of(System.getProperty("sluice.jar", "target/sluice.jar")).toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: these tests run after package (mvn verify)");
    }
    return jar;
  }

  /**
   * The {@code SLUICE_CLUSTER_*} variables of a node: cluster mode on, in {@code cluster}, with {@code role}, its
   * Hazelcast member on {@code host:member}, joining {@code members} (comma-separated {@code host:port}).
   */
  static Map<String, String> clusterEnvironment(String cluster, String role, String host, int member,
                                                String members) {
    return Map.of("SLUICE_CLUSTER_ENABLED", "true", "SLUICE_CLUSTER_NAME", cluster, "SLUICE_CLUSTER_ROLE", role,
      "SLUICE_CLUSTER_HOST", host, "SLUICE_CLUSTER_PORT", String.valueOf(member), "SLUICE_CLUSTER_MEMBERS", members);
  }

  /** Event-bus TLS with a node's key and certificate ({@code pair}, as {@code TestCerts.node} gives them) and the CA. */
  static Map<String, String> clusterTlsEnvironment(Path[] pair, Path caPem) {
    return Map.of("SLUICE_CLUSTER_TLS_ENABLED", "true", "SLUICE_CLUSTER_TLS_KEY_PATH", pair[0].toString(),
      "SLUICE_CLUSTER_TLS_CERT_PATH", pair[1].toString(), "SLUICE_CLUSTER_TLS_CA_PATH", caPem.toString());
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  URI uri(String path) {
    return URI.create("http://" + httpHost + ":" + httpPort + path);
  }

  /**
   * Polls {@code /health/live} until 200 (the HTTP tier is deployed last, so everything is up then; readiness would
   * also wait for a database statement, which injected latency may hold back); fails if the process exits first or
   * {@link #START_BOUND} passes.
   */
  void awaitUp(HttpClient client) {
    HttpRequest live = HttpRequest.newBuilder(uri("/health/live")).timeout(Duration.ofSeconds(5)).build();
    awaitCondition("up", START_BOUND, () -> {
      if (!process.isAlive()) {
        throw new AssertionError("sluice.jar exited with " + process.exitValue() + " before it was up:\n" + log());
      }
      try {
        return client.send(live, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
    });
  }

  /** Waits for the process to exit, up to {@link #EXIT_BOUND}; its exit code, or fails. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(EXIT_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("sluice.jar was still running " + EXIT_BOUND.toSeconds() + " s later:\n" + log());
    }
    return process.exitValue();
  }

  /**
   * Sends {@code signal} ({@code TERM}, {@code KILL}) to every process of this process's group, as
   * {@code kill -SIGNAL -- -PGID} does; only for a process started with {@link #startInOwnGroup}.
   */
  void signalGroup(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, "--", "-" + process.pid()).redirectErrorStream(true)
      .start();
    String output = new String(kill.getInputStream().readAllBytes());
    if (kill.waitFor() != 0) {
      throw new AssertionError("kill -" + signal + " -- -" + process.pid() + " failed: " + output);
    }
  }

  /** The mariadbd processes whose command line names this process's data directory. */
  List<ProcessHandle> databaseProcesses() {
    String data = dir.resolve("data").toString();
    return ProcessHandle.allProcesses()
      .filter(p -> p.info().commandLine().map(line -> line.contains("mariadbd") && line.contains(data)).orElse(false))
      .toList();
  }

  String log() {
    try {
      return Files.readString(dir.resolve("sluice.log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Polls {@code condition} every 100 ms until true; fails after {@code bound}. */
  static void awaitCondition(String what, Duration bound, BooleanSupplier condition) {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not " + what + " within " + bound.toSeconds() + " s");
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting until " + what);
      }
    }
  }

  /** Kills the process and its MariaDB if a test left them running (the tests themselves stop it with SIGTERM). */
  @Override
  public void close() {
    if (process.isAlive()) {
      List<ProcessHandle> children = process.descendants().toList();
      process.destroyForcibly();
      children.forEach(ProcessHandle::destroyForcibly);
    }
    databaseProcesses().forEach(ProcessHandle::destroyForcibly);
  }
}
