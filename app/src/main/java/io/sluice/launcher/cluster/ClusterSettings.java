package io.sluice.launcher.cluster;

import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The {@code cluster} section: whether this process joins a clustered event bus (Hazelcast), and as which tier.
 *
 * <p>Every key is restart-only: the cluster is joined once, before anything else starts.
 *
 * @param enabled                 false: one process with both tiers, exactly as without this section
 * @param role                    which tiers this process runs ({@link Role})
 * @param name                    Hazelcast cluster name: processes join only a cluster of the same name
 * @param host                    address the Hazelcast member and the event bus bind and advertise
 * @param port                    Hazelcast member port (no auto-increment: a taken port fails the start)
 * @param members                 {@code host:port} of the members to join (TCP-IP); empty: this member only
 * @param eventBusPort            event-bus port; 0 picks a free one (it is advertised through Hazelcast)
 * @param heartbeatTimeoutSeconds Hazelcast's {@code hazelcast.max.no.heartbeat.seconds}: a member silent this long
 *                                (frozen, partitioned) is removed from the cluster
 * @param shareGraceMs            how long a departed proxy node still counts in the connection budget before the
 *                                survivors' shares grow; at least the heartbeat timeout (see {@link ShareGovernor})
 * @param tls                     event-bus TLS with mutual authentication
 */
public record ClusterSettings(boolean enabled, Role role, String name, String host, int port, List<String> members,
                              int eventBusPort, int heartbeatTimeoutSeconds, long shareGraceMs, Tls tls) {

  public static final String DEFAULT_NAME = "sluice";
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 5701;
  /**
   * Hazelcast's own default is 60 s. While a frozen node is still a member, requests routed to it wait for their
   * deadline; 15 s bounds that window, and is still far above any GC pause this service should see.
   */
  public static final int DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 15;
  /** The heartbeat timeout plus 5 s: a departed node's connections are counted until then. */
  public static final long DEFAULT_SHARE_GRACE_MS = 20_000;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern MEMBER = Pattern.compile("([^\\s:,]+|\\[[0-9A-Fa-f:.]+]):([0-9]{1,5})");

  public static final Schema SCHEMA = Schema.of()
    .restartOnly("enabled", "role", "name", "host", "port", "members", "eventBusPort", "heartbeatTimeoutSeconds",
      "shareGraceMs")
    .section("tls", Tls.SCHEMA);

  /** Which tiers a process runs. */
  public enum Role {
    /** Both tiers (the only role without clustering). */
    ALL,
    /** The HTTP tier only: no database connection, no migrations, no embedded database. */
    API,
    /** The proxy tier, plus {@code /health/*}, {@code /metrics} and {@code /admin/*} on {@code http.port}. */
    PROXY;

    public boolean runsApi() {
      return this != PROXY;
    }

    public boolean runsProxy() {
      return this != API;
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Role parse(JsonSection s, String key, String value) {
      for (Role role : values()) {
        if (role.label().equals(value.trim().toLowerCase(Locale.ROOT))) {
          return role;
        }
      }
      throw new ConfigException(s.keyOf(key) + " must be all, api or proxy, got \"" + value + "\"");
    }
  }

  /**
   * The {@code cluster.tls} section: PEM files of this node's key and certificate, and of the CA that signed every
   * node's certificate. Hostname verification is off on the event bus, so trust means "signed by this CA": use a CA
   * for this cluster only.
   */
  public record Tls(boolean enabled, String keyPath, String certPath, String caPath) {

    public static final Schema SCHEMA = Schema.of().restartOnly("enabled", "keyPath", "certPath", "caPath");

    public static Tls from(JsonSection s) {
      s.onlyKeys(SCHEMA);
      Tls tls = new Tls(s.bool("enabled", false), s.string("keyPath", ""), s.string("certPath", ""),
        s.string("caPath", ""));
      if (tls.enabled) {
        for (String key : List.of("keyPath", "certPath", "caPath")) {
          if (s.string(key, "").isBlank()) {
            throw new ConfigException(s.keyOf(key) + " must name a PEM file when " + s.keyOf("enabled") + " is true");
          }
        }
      }
      return tls;
    }

    public JsonObject toJson() {
      return new JsonObject().put("enabled", enabled).put("keyPath", keyPath).put("certPath", certPath)
        .put("caPath", caPath);
    }
  }

  public static ClusterSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    boolean enabled = s.bool("enabled", false);
    Role role = Role.parse(s, "role", s.string("role", Role.ALL.label()));
    if (!enabled && role != Role.ALL) {
      throw new ConfigException(s.keyOf("role") + " " + role.label() + " needs " + s.keyOf("enabled")
        + " true: without the cluster, the other tier is unreachable");
    }
    String name = s.string("name", DEFAULT_NAME);
    if (!NAME.matcher(name).matches()) {
      throw new ConfigException(s.keyOf("name") + " must be 1 to 64 of A-Z a-z 0-9 . _ -, got \"" + name + "\"");
    }
    String host = s.string("host", DEFAULT_HOST).trim();
    if (host.isEmpty()) {
      throw new ConfigException(s.keyOf("host") + " must be an address of this machine, got \"\"");
    }
    int heartbeat = s.integer("heartbeatTimeoutSeconds", DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, 5, 600);
    long grace = s.longValue("shareGraceMs", DEFAULT_SHARE_GRACE_MS, 0, 3_600_000);
    if (grace < heartbeat * 1000L) {
      throw new ConfigException(s.keyOf("shareGraceMs") + " (" + grace + ") must be at least "
        + s.keyOf("heartbeatTimeoutSeconds") + " (" + heartbeat + " s): a node that stopped answering may hold its"
        + " connections until the cluster removes it");
    }
    return new ClusterSettings(enabled, role, name, host,
      s.integer("port", DEFAULT_PORT, 1, 65_535),
      members(s, s.string("members", "")),
      s.integer("eventBusPort", 0, 0, 65_535),
      heartbeat, grace, Tls.from(s.section("tls")));
  }

  private static List<String> members(JsonSection s, String raw) {
    List<String> members = new ArrayList<>();
    for (String entry : raw.split(",")) {
      String member = entry.trim();
      if (member.isEmpty()) {
        continue;
      }
      var m = MEMBER.matcher(member);
      if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65_535) {
        throw new ConfigException(s.keyOf("members") + " must be a comma-separated list of host:port, got \""
          + member + "\"");
      }
      members.add(member);
    }
    return List.copyOf(members);
  }

  public static ClusterSettings defaults() {
    return from(JsonSection.at("cluster", null));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("role", role.label()).put("name", name).put("host", host)
      .put("port", port).put("members", String.join(",", members)).put("eventBusPort", eventBusPort)
      .put("heartbeatTimeoutSeconds", heartbeatTimeoutSeconds).put("shareGraceMs", shareGraceMs)
      .put("tls", tls.toJson());
  }
}
