package io.sluice.netns;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Network namespaces for nodes that can really be cut off: namespace {@code i} (1-based) has two links into the
 * root namespace, each a veth pair whose root end is a port of a bridge there.
 * <ul>
 *   <li>the <em>cluster</em> link, {@link #clusterAddress}, on a /24 of its own that the root namespace has no
 *   address on: Hazelcast and the event bus bind to it, so {@link #cut} (the root end of that veth set down: packets
 *   are dropped silently, no reset, as in a real partition) separates the node from its peers and nothing else;</li>
 *   <li>the <em>management</em> link, {@link #managementAddress}, with {@link #host()} on the root's bridge: HTTP (the
 *   test's probes) and the database (through a relay on {@link #HOST}) stay reachable during a cut.</li>
 * </ul>
 * Names carry this JVM's pid ({@code slp<pid>...}), so parallel runs never collide; {@link #create} first removes
 * what runs whose JVM is gone left behind. Needs root and iproute2: {@link #create} throws {@link Unavailable}
 * otherwise, for a test to skip and for the bench to report the partition as not measured.
 */
public final class NamespaceNetwork implements AutoCloseable {

  /** Thrown when this machine cannot create namespaces (not root, no {@code ip}, EPERM in a container). */
  public static final class Unavailable extends Exception {
    Unavailable(String message) {
      super(message);
    }
  }

  private static final String PREFIX = "slp";
  private static final Pattern OURS = Pattern.compile(PREFIX + "(\\d+)-n\\d+");

  private final String tag;
  private final int subnet;
  private final int nodes;
  private final List<String> created = new ArrayList<>();

  private NamespaceNetwork(int nodes) {
    long pid = ProcessHandle.current().pid();
    this.tag = PREFIX + pid;
    this.subnet = (int) (pid % 250) + 1;
    this.nodes = nodes;
  }

  /** The root namespace's address on the management bridge. */
  public String host() {
    return "10.98." + subnet + ".1";
  }

  public static NamespaceNetwork create(int nodes) throws Unavailable {
    removeOrphans();
    NamespaceNetwork network = new NamespaceNetwork(nodes);
    try {
      network.build();
      return network;
    } catch (Unavailable e) {
      network.close();
      throw e;
    } catch (RuntimeException e) {
      network.close();
      throw e;
    }
  }

  private void build() throws Unavailable {
    try {
      run("ip", "netns", "add", namespace(1));
    } catch (IllegalStateException e) {
      throw new Unavailable("cannot create a network namespace (root and iproute2 needed): " + e.getMessage());
    }
    created.add("netns:" + namespace(1));
    for (String kind : List.of("c", "m")) {
      run("ip", "link", "add", tag + kind, "type", "bridge");
      created.add("link:" + tag + kind);
      run("ip", "link", "set", tag + kind, "up");
    }
    run("ip", "addr", "add", host() + "/24", "dev", tag + "m");
    for (int i = 1; i <= nodes; i++) {
      if (i > 1) {
        run("ip", "netns", "add", namespace(i));
        created.add("netns:" + namespace(i));
      }
      run("ip", "-n", namespace(i), "link", "set", "lo", "up");
      link(i, "c", clusterAddress(i));
      link(i, "m", managementAddress(i));
    }
  }

  /** A veth pair: the root end a port of bridge {@code kind}, the other end in namespace {@code i} with {@code address}. */
  private void link(int i, String kind, String address) {
    String root = tag + kind + i;
    run("ip", "link", "add", root, "type", "veth", "peer", "name", root + "x");
    run("ip", "link", "set", root, "master", tag + kind);
    run("ip", "link", "set", root, "up");
    run("ip", "link", "set", root + "x", "netns", namespace(i));
    run("ip", "-n", namespace(i), "addr", "add", address + "/24", "dev", root + "x");
    run("ip", "-n", namespace(i), "link", "set", root + "x", "up");
  }

  public String namespace(int i) {
    return tag + "-n" + i;
  }

  public String clusterAddress(int i) {
    return "10.97." + subnet + "." + (10 + i);
  }

  public String managementAddress(int i) {
    return "10.98." + subnet + "." + (10 + i);
  }

  /** Cuts node {@code i} off its peers: the root end of its cluster link goes down. */
  public void cut(int i) {
    run("ip", "link", "set", tag + "c" + i, "down");
  }

  public void heal(int i) {
    run("ip", "link", "set", tag + "c" + i, "up");
  }

  /** Deletes the namespaces (which deletes their veths, and so the root ends) and the bridges; never throws. */
  @Override
  public void close() {
    for (int n = created.size() - 1; n >= 0; n--) {
      String thing = created.get(n);
      String[] kind = thing.split(":", 2);
      try {
        if (kind[0].equals("netns")) {
          run("ip", "netns", "del", kind[1]);
        } else {
          run("ip", "link", "del", kind[1]);
        }
      } catch (IllegalStateException e) {
        System.err.println("NamespaceNetwork: could not remove " + thing + ": " + e.getMessage());
      }
    }
    created.clear();
  }

  /** Namespaces and bridges of runs whose JVM is gone (killed before its clean-up). */
  private static void removeOrphans() {
    String list;
    try {
      list = run("ip", "netns", "list");
    } catch (IllegalStateException e) {
      return;
    }
    for (String line : list.split("\n")) {
      Matcher m = OURS.matcher(line.trim().split("\\s+")[0]);
      if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
        runQuietly("ip", "netns", "del", m.group());
        runQuietly("ip", "link", "del", PREFIX + m.group(1) + "c");
        runQuietly("ip", "link", "del", PREFIX + m.group(1) + "m");
      }
    }
  }

  private static void runQuietly(String... command) {
    try {
      run(command);
    } catch (IllegalStateException e) {
      // Already gone.
    }
  }

  /** Runs a command; its output, or IllegalStateException with the output when it fails or cannot start. */
  private static String run(String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes());
      if (process.waitFor() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + output.trim());
      }
      return output;
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", command) + " could not run: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + String.join(" ", command));
    }
  }
}
