package io.sluice.bench;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The service as its users run it: {@code java -Xmx<heap> -jar sluice.jar} in a process of its own, configured only
 * by {@code SLUICE_*} environment variables over the built-in defaults (it runs in a directory without
 * {@code conf/config.yaml}, and no {@code SLUICE_*} variable of the caller's environment leaks in). Its output goes to
 * a log file. {@link #close()} stops it the way an operator would: SIGTERM, then waiting for its clean shutdown.
 *
 * <p>The bench's peers ({@code io.sluice.bench.peer}) run the same way ({@link #startPeer}): a JVM of their own with
 * the same {@code -Xmx}, on the bench's class path, ready once {@code /health/ready} answers 200.
 */
final class ServiceProcess implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ServiceProcess.class);

  /** The first start unpacks MariaDB (about 150 MB) and seeds the users; later ones take seconds. */
  static final Duration READY_TIMEOUT = Duration.ofMinutes(5);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(250);
  private static final String CONFIG_LINE = "Config loaded from ";

  private final Process process;
  private final String httpHost;
  private final int httpPort;
  private final Path logFile;
  private final Map<String, String> overrides;

  private final String name;
  /** Set by the first {@link #close()}: the exit is waited for and logged once. */
  private volatile boolean closed;
  /** Set by {@link #terminate()}: the SIGTERM is sent once (a second one would be logged again by the service). */
  private volatile boolean terminated;

  private ServiceProcess(String name, Process process, String httpHost, int httpPort, Path logFile,
                         Map<String, String> overrides) {
    this.name = name;
    this.process = process;
    this.httpHost = httpHost;
    this.httpPort = httpPort;
    this.logFile = logFile;
    this.overrides = overrides;
  }

  /**
   * Starts the jar with {@code overrides} as its only {@code SLUICE_*} variables and waits until
   * {@code /health/ready} answers 200. The HTTP port is chosen here and added to the overrides.
   */
  static ServiceProcess start(Path jar, String heap, Path workDir, Path logFile, Map<String, String> overrides) {
    int port = freePort();
    Map<String, String> env = new LinkedHashMap<>(overrides);
    env.put("SLUICE_HTTP_HOST", "127.0.0.1");
    env.put("SLUICE_HTTP_PORT", String.valueOf(port));
    return launch("the service", List.of(javaBinary(), "-Xmx" + heap, "-jar", jar.toString()), port, workDir,
      logFile, env);
  }

  /**
   * Starts the jar as {@link #start} does, as the cluster node {@code name}, but returns at once: the nodes of a
   * cluster start side by side, and the caller waits for each with {@link #awaitReady()} (an API node is ready only
   * once a proxy node has registered).
   */
  static ServiceProcess startNode(String name, Path jar, String heap, Path workDir, Path logFile,
                                  Map<String, String> overrides) {
    return startNode(name, jar, heap, workDir, logFile, overrides, List.of());
  }

  /** {@link #startNode(String, Path, String, Path, Path, Map)} with {@code args} after the jar ({@code --config f}). */
  static ServiceProcess startNode(String name, Path jar, String heap, Path workDir, Path logFile,
                                  Map<String, String> overrides, List<String> args) {
    int port = freePort();
    Map<String, String> env = new LinkedHashMap<>(overrides);
    env.put("SLUICE_HTTP_HOST", "127.0.0.1");
    env.put("SLUICE_HTTP_PORT", String.valueOf(port));
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx" + heap, "-jar", jar.toString()));
    command.addAll(args);
    return spawn(name, command, LOOPBACK, port, workDir, logFile, env);
  }

  /**
   * {@link #startNode(String, Path, String, Path, Path, Map)} inside the network namespace {@code namespace}:
   * {@code ip netns exec} execs the JVM, so the process (its pid, its SIGTERM) is the JVM's own. HTTP listens on
   * {@code httpHost}, an address of that namespace, on a fixed port: each namespace has ports of its own.
   */
  static ServiceProcess startNodeInNamespace(String name, String namespace, String httpHost, Path jar, String heap,
                                             Path workDir, Path logFile, Map<String, String> overrides) {
    Map<String, String> env = new LinkedHashMap<>(overrides);
    env.put("SLUICE_HTTP_HOST", httpHost);
    env.put("SLUICE_HTTP_PORT", String.valueOf(NAMESPACE_HTTP_PORT));
    List<String> command = List.of("ip", "netns", "exec", namespace, javaBinary(), "-Xmx" + heap, "-jar",
      jar.toString());
    return spawn(name, command, httpHost, NAMESPACE_HTTP_PORT, workDir, logFile, env);
  }

  /** The HTTP port of a node in a namespace of its own ({@link #startNodeInNamespace}). */
  static final int NAMESPACE_HTTP_PORT = 8080;
  private static final String LOOPBACK = "127.0.0.1";

  /**
   * Starts a peer: {@code mainClass} on this JVM's class path with {@code -Xmx<heap>}, {@code args} (which must
   * listen on {@code port}) and {@code env} as its only {@code SLUICE_*} variables; waits for {@code /health/ready}.
   */
  static ServiceProcess startPeer(String name, String mainClass, List<String> args, int port, String heap,
                                  Path workDir, Path logFile, Map<String, String> env) {
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx" + heap, "-cp", absoluteClassPath(),
      mainClass));
    command.addAll(args);
    return launch(name, command, port, workDir, logFile, env);
  }

  /** This JVM's class path with every entry made absolute: the peer runs in another directory. */
  private static String absoluteClassPath() {
    return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
      .filter(entry -> !entry.isEmpty())
      .map(entry -> Path.of(entry).toAbsolutePath().toString())
      .collect(Collectors.joining(File.pathSeparator));
  }

  private static ServiceProcess launch(String name, List<String> command, int port, Path workDir, Path logFile,
                                       Map<String, String> env) {
    ServiceProcess service = spawn(name, command, LOOPBACK, port, workDir, logFile, env);
    try {
      service.awaitReady();
    } catch (RuntimeException e) {
      service.close();
      throw e;
    }
    return service;
  }

  private static ServiceProcess spawn(String name, List<String> command, String host, int port, Path workDir,
                                      Path logFile, Map<String, String> env) {
    if (Files.exists(workDir.resolve("conf/config.yaml"))) {
      throw new IllegalStateException(workDir + "/conf/config.yaml exists: the service would read it; remove it");
    }
    ProcessBuilder builder = new ProcessBuilder(command)
      .directory(workDir.toFile())
      .redirectErrorStream(true)
      .redirectOutput(logFile.toFile());
    builder.environment().keySet().removeIf(key -> key.startsWith("SLUICE_"));
    builder.environment().putAll(env);
    try {
      Files.createDirectories(logFile.getParent());
      ServiceProcess service = new ServiceProcess(name, builder.start(), host, port, logFile, env);
      log.info("Started {} (pid {}), log {}", name, service.process.pid(), logFile);
      return service;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + command.get(command.size() - 1), e);
    }
  }

  /** The same JVM as the bench's: the report names one JVM for both. */
  static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** A port free at this moment on loopback (the usual small race with another process is accepted). */
  /**
   * A port free on loopback now, never one this JVM handed out before: the OS may offer a just-closed port again,
   * and two ports taken one after the other (the embedded database's, then the service's HTTP port) must differ.
   */
  static int freePort() {
    while (true) {
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        if (HANDED_OUT.add(socket.getLocalPort())) {
          return socket.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("no free port on loopback", e);
      }
    }
  }

  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  long pid() {
    return process.pid();
  }

  ProcessHandle handle() {
    return process.toHandle();
  }

  /** Its peak resident set size so far ({@code VmHWM}), in bytes; -1 when unknown. Call it before {@link #close}. */
  long peakRssBytes() {
    return ProcStat.peakRssBytes(process.pid());
  }

  String baseUrl() {
    return "http://" + httpHost + ":" + httpPort;
  }

  /** The variables the service got, with the password masked. */
  Map<String, String> environment() {
    Map<String, String> shown = new LinkedHashMap<>(overrides);
    shown.replaceAll((k, v) -> (k.endsWith("PASSWORD") || k.endsWith("TOKEN")) && !v.isEmpty() ? "******" : v);
    return shown;
  }

  /** The effective config the service logged at start (its password already masked there); null if not found. */
  JsonObject effectiveConfig() {
    try (var lines = Files.lines(logFile)) {
      return lines.filter(line -> line.contains(CONFIG_LINE)).findFirst()
        .map(line -> line.substring(line.indexOf('{', line.indexOf(CONFIG_LINE))))
        .map(JsonObject::new).orElse(null);
    } catch (IOException | DecodeException | StringIndexOutOfBoundsException e) {
      log.warn("Cannot read the effective config from {}: {}", logFile, e.getMessage());
      return null;
    }
  }

  /** {@code GET path} answered 200 with a JSON object: that object; anything else is an IllegalStateException. */
  JsonObject get(String path) {
    return get(path, null);
  }

  /** {@link #get(String)} with {@code Authorization: Bearer <token>} when the token is not null (for /admin/*). */
  JsonObject get(String path, String bearerToken) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl() + path))
      .timeout(Duration.ofSeconds(10)).GET();
    if (bearerToken != null) {
      builder.header("Authorization", "Bearer " + bearerToken);
    }
    HttpRequest request = builder.build();
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(name + " answered GET " + path + " with " + response.statusCode() + ": "
          + response.body());
      }
      return new JsonObject(response.body());
    } catch (IOException | DecodeException e) {
      throw new IllegalStateException(name + ": GET " + path + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during GET " + path + " on " + name);
    }
  }

  /**
   * Polls {@code /health/ready} every 250 ms until it answers 200 (an API node of a cluster answers 503 until a proxy
   * node has registered); fails when the process exits first or after {@link #READY_TIMEOUT}.
   */
  void awaitReady() {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest ready = HttpRequest.newBuilder(URI.create(baseUrl() + "/health/ready"))
      .timeout(Duration.ofSeconds(5)).GET().build();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited with status " + process.exitValue()
          + " before it was ready; last lines of " + logFile + ":\n" + tail(20));
      }
      try {
        if (client.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // Not listening yet.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + name);
      }
      waitForExit(POLL);
    }
    throw new IllegalStateException(name + " was not ready within " + READY_TIMEOUT.toSeconds() + " s; see "
      + logFile);
  }

  /** Waits up to {@code time} for the process to end: the pause between readiness polls, cut short by a crash. */
  private boolean waitForExit(Duration time) {
    try {
      return process.waitFor(time.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !process.isAlive();
    }
  }

  private String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(logFile);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }

  /**
   * SIGTERM, then up to {@link #STOP_TIMEOUT} for the service to finish requests in flight, close its pool and stop
   * its embedded database. Only if that fails: SIGKILL for it and the processes it started (its MariaDB).
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    // Taken before the exit: its MariaDB is orphaned once it has gone.
    List<ProcessHandle> children = process.descendants().toList();
    if (!terminated) {
      process.destroy();
    }
    awaitStopped(children);
  }

  /**
   * SIGTERM only, without waiting: the nodes of a cluster stop side by side. {@link #close()} then waits for the exit
   * (and kills the process only if it overruns {@link #STOP_TIMEOUT}).
   */
  void terminate() {
    if (process.isAlive()) {
      terminated = true;
      process.destroy();
    }
  }

  /** The exit status once the process has ended (143: SIGTERM without a handler of its own), else null. */
  Integer exitStatus() {
    return process.isAlive() ? null : process.exitValue();
  }

  private void awaitStopped(List<ProcessHandle> children) {
    if (!waitForExit(STOP_TIMEOUT)) {
      log.warn("{} (pid {}) did not stop within {} s of SIGTERM; killing it", name, process.pid(),
        STOP_TIMEOUT.toSeconds());
      children.forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      waitForExit(STOP_TIMEOUT);
    } else {
      // 143 = 128 + SIGTERM: how a JVM without a launcher of its own (the peers) ends on SIGTERM.
      log.info("Stopped {} (pid {}), exit status {}{}", name, process.pid(), process.exitValue(),
        process.exitValue() == 143 ? " (SIGTERM)" : "");
    }
  }
}
