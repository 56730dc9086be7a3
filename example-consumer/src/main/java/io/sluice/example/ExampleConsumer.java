package io.sluice.example;

import io.sluice.contract.client.Notification;
import io.sluice.contract.client.SluiceClient;
import io.sluice.contract.client.SluiceException;
import io.sluice.contract.client.User;
import io.vertx.core.Vertx;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An event-bus consumer of Sluice in a process of its own: it joins the cluster as a plain node (no HTTP API, no
 * database; {@link ClusterJoin} lists its variables), creates a user, writes a notification with an idempotency key,
 * reads both back through the proxy tier with the contract's typed client, prints them and exits.
 *
 * <p>Exit codes: 0 done; 1 a request failed (the line on stderr names its {@code FailureCode}); 2 the node could not
 * join the cluster. It blocks its main thread on each future ({@code await()}) to read top to bottom; a verticle
 * composes the same futures instead.
 */
public final class ExampleConsumer {

  /**
   * Each request's deadline, generous because the first request also opens the event-bus (TLS) connection to a proxy
   * node. A service would pass on the deadline of the work it is doing.
   */
  private static final Duration STEP = Duration.ofSeconds(10);

  /** Held so that the level sticks (JUL keeps loggers weakly): Hazelcast's INFO lines would bury the output. */
  private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

  private ExampleConsumer() {
  }

  public static void main(String[] args) {
    HAZELCAST_LOG.setLevel(Level.WARNING);
    System.exit(run(System.getenv(), System.out, System.err));
  }

  /** The whole run; returns the exit code rather than exiting, so that it can run inside a test. */
  static int run(Map<String, String> env, PrintStream out, PrintStream err) {
    Vertx vertx;
    try {
      vertx = ClusterJoin.join(env).await();
    } catch (RuntimeException e) {
      err.println("cannot join the cluster \"" + env.getOrDefault("SLUICE_CLUSTER_NAME", "sluice") + "\": "
        + e.getMessage());
      return 2;
    }
    try {
      talkToTheProxy(SluiceClient.create(vertx), out);
      return 0;
    } catch (SluiceException e) {
      err.println("request failed, failure code " + e.code() + ": " + e.getMessage()
        + e.retryAfter().map(after -> " (retry after " + after.toSeconds() + " s)").orElse(""));
      return 1;
    } finally {
      // Leaves the cluster before the process ends (the cluster manager installs no shutdown hook of its own).
      vertx.close().await();
    }
  }

  private static void talkToTheProxy(SluiceClient client, PrintStream out) {
    User user = client.createUser("Example consumer", "example-" + UUID.randomUUID() + "@example.com",
      deadline()).await();
    out.println("created user " + user.id() + " <" + user.email() + ">");

    // One key per notification: if the outcome of a write is unknown (FailureCode.OUTCOME_UNKNOWN), sending it again
    // with the same key writes it at most once. Sent twice here, as such a retry would be: stored once.
    String key = "welcome-" + user.id();
    Notification sent = client.createNotification(user.id(), "Welcome", "Written by the example consumer", key,
      deadline()).await();
    Notification retried = client.createNotification(user.id(), "Welcome", "Written by the example consumer", key,
      deadline()).await();
    out.println("created notification " + sent.id() + "; its retry with the same key got notification "
      + retried.id());

    User read = client.getUser(user.id(), deadline()).await();
    List<Notification> notifications = client.listNotifications(user.id(), deadline()).await();
    out.println("read back user " + read.id() + " " + read.name() + " <" + read.email() + "> with "
      + notifications.size() + " notification(s):");
    for (Notification n : notifications) {
      out.println("  " + n.id() + " at " + n.createdAt() + (n.read() ? "" : " (unread)") + ": " + n.title() + " - "
        + n.body());
    }
  }

  private static Instant deadline() {
    return Instant.now().plus(STEP);
  }
}
