package io.sluice.launcher;

import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.launcher.cluster.PeerTrust;
import io.sluice.launcher.cluster.SluiceClusterManager;
import io.vertx.core.Vertx;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import sun.misc.Signal;

/**
 * {@code java -jar sluice.jar [--config conf/config.yaml]}: loads the config, starts Sluice, and stops it cleanly on
 * SIGTERM / Ctrl-C. Any start failure exits 1 within seconds, having stopped what it started.
 */
public final class Main {

  static {
    // Route Vert.x's and Netty's internal logging through SLF4J, like ours.
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    // Hazelcast's too (cluster mode): set before its first class loads, which logs before any config is read.
    System.setProperty("hazelcast.logging.type", "slf4j");
  }

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {
  }

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("diagnose")) {
      // The CLI is its own jar so that picocli and HdrHistogram do not ship inside the service.
      System.err.println("diagnose is its own jar now: java -jar diagnose/target/sluice-diagnose.jar "
        + String.join(" ", java.util.Arrays.copyOfRange(args, 1, args.length)));
      System.exit(2);
      return;
    }
    Path file = Path.of(SluiceConfig.DEFAULT_FILE);
    boolean explicit = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-c", "--config" -> {
          if (i + 1 >= args.length) {
            usage("--config needs a file path");
          }
          file = Path.of(args[++i]);
          explicit = true;
        }
        case "-h", "--help" -> {
          System.out.println(USAGE);
          return;
        }
        default -> usage("unknown argument: " + args[i]);
      }
    }

    Vertx vertx = SluiceVertx.create();
    JsonObject config;
    ConfigSource source;
    try {
      source = new ConfigSource(file, explicit, System.getenv());
      config = SluiceConfig.load(vertx, source).await();
      LogFormat.apply(LogFormat.from(io.sluice.config.JsonSection.root(config).section("log")));
      log.info("Config loaded from {}{}: {}", file, java.nio.file.Files.exists(file) ? "" : " (absent: defaults)",
        SluiceConfig.redacted(config).encode());
    } catch (Throwable e) {
      // Future.await() rethrows checked causes as they are; and Vert.x threads are not daemons: without the exit a
      // failed start would leave the JVM running.
      log.error("Sluice did not start: {}", describe(e));
      try {
        vertx.close().await(Launcher.SHUTDOWN_GRACE_MS, TimeUnit.MILLISECONDS);
      } catch (Throwable ignored) {
        // Exiting anyway.
      }
      System.exit(1);
      return;
    }
    ClusterSettings cluster = ClusterSettings.from(io.sluice.config.JsonSection.root(config).section("cluster"));
    HazelcastClusterManager manager = null;
    PeerTrust trust = PeerTrust.everyone();
    if (cluster.enabled()) {
      // The cluster settings decide how Vert.x is built: the config is read first, on a Vert.x that is then closed.
      try {
        vertx.close().await(Launcher.SHUTDOWN_GRACE_MS, TimeUnit.MILLISECONDS);
        log.info("Joining cluster {} as {} on {}:{} (members: {})", cluster.name(), cluster.role().label(),
          cluster.host(), cluster.port(), cluster.members().isEmpty() ? "this node only" : cluster.members());
        // On this thread, before any event loop: the member joins Hazelcast's cluster here, Vert.x's just below.
        manager = SluiceClusterManager.start(HazelcastSetup.hazelcastConfig(cluster));
        // Issue 21: sends go only to members this trust counts (proxy nodes that proved the cluster's certificate).
        trust = SluiceVertx.peerTrust(cluster, manager);
        vertx = SluiceVertx.createClustered(cluster, manager, trust).await();
      } catch (Throwable e) {
        log.error("Sluice did not start: cannot join cluster {} on {}:{}: {}", cluster.name(), cluster.host(),
          cluster.port(), describe(e));
        System.exit(1);
        return;
      }
    }
    Launcher launcher = new Launcher(vertx, config, manager, trust);
    stopOnTermination(launcher);
    try {
      launcher.startAll(com.github.benmanes.caffeine.cache.Ticker.systemTicker(), source);
    } catch (Throwable e) {
      // startAll has stopped what it started (the embedded database included) before throwing.
      if (e instanceof Error) {
        log.error("Sluice did not start", e);
      } else {
        log.error("Sluice did not start: {}", describe(e));
      }
      System.exit(1);
      return;
    }
    log.info("Sluice is up ({}): http://localhost:{}/health/ready", cluster.enabled()
      ? "cluster " + cluster.name() + ", role " + cluster.role().label() : "one process", launcher.httpPort());
  }

  /**
   * SIGTERM and SIGINT (Ctrl-C) drain and stop everything, database last (see {@link Launcher}), then exit 0 (1 when
   * the drain overran its bound). Handled here rather than left to shutdown hooks, which the JVM starts all at once
   * and then exits 143. The hook stays for every other way out (System.exit elsewhere, SIGHUP); after a signal it
   * finds the launcher closed and returns at once.
   */
  private static void stopOnTermination(Launcher launcher) {
    for (String name : List.of("TERM", "INT")) {
      try {
        Signal.handle(new Signal(name), signal -> {
          Thread stopping = new Thread(() -> {
            log.info("SIG{} received", name);
            System.exit(launcher.shutdown() ? 0 : 1);
          }, "sluice-shutdown-" + name);
          stopping.start();
        });
      } catch (IllegalArgumentException e) {
        log.debug("SIG{} is reserved by the JVM here (-Xrs?); the shutdown hook alone stops Sluice", name);
      }
    }
    Runtime.getRuntime().addShutdownHook(new Thread(launcher::close, "sluice-shutdown-hook"));
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return e instanceof RuntimeException && message != null ? message : e.toString();
  }

  private static final String USAGE = """
    Usage: java -jar sluice.jar [--config <file>]
    The diagnose CLI (load + database checks) is java -jar sluice-diagnose.jar [options].
      --config, -c   YAML config file (default: conf/config.yaml; built-in defaults when that is absent)
      --help, -h     this help
    Every key can also be set by an environment variable: SLUICE_ + its path in upper snake case,
    e.g. SLUICE_HTTP_PORT=9090, SLUICE_DB_POOL_MAX_SIZE=30.""";

  private static void usage(String problem) {
    System.err.println(problem);
    System.err.println(USAGE);
    System.exit(2);
  }
}
