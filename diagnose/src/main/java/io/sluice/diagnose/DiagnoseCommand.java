package io.sluice.diagnose;

import io.sluice.config.ConfigException;
import io.sluice.config.DbTls;
import io.sluice.diagnose.Converters.BaseUrlConverter;
import io.sluice.diagnose.Converters.DurationConverter;
import io.sluice.diagnose.Converters.IdRangeConverter;
import io.sluice.diagnose.Converters.ScenarioConverter;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code java -jar sluice-diagnose.jar [options]}: load a running Sluice, look at its database meanwhile, report,
 * and exit 0 / 1 / 2 / 64 (see {@link Report}). {@link #run(PrintStream, PrintStream, String...)} never calls
 * {@code System.exit}, so tests drive it directly.
 */
@Command(name = "diagnose", sortOptions = false, usageHelpAutoWidth = true,
  exitCodeOnInvalidInput = Report.EXIT_USAGE, exitCodeOnExecutionException = Report.EXIT_CANNOT_RUN,
  description = {
    "Sends closed-loop GET load to a running Sluice and reports status counts, latency percentiles, the 503 share"
      + " and the Retry-After values seen. Given --db-host, it also reads the database server (version,"
      + " max_connections, Threads_connected, Max_used_connections, a SHOW FULL PROCESSLIST summary) at half of"
      + " the load. Progress goes to stderr about once a second; the report goes to stdout.",
    ""},
  exitCodeListHeading = "%nExit codes:%n",
  exitCodeList = {
    " 0:ran; the 503 share is within --max-503-rate",
    " 1:could not run: target unreachable, database connection or check failed",
    " 2:the 503 share is above --max-503-rate",
    "64:usage error: unknown option, invalid value or combination"})
public final class DiagnoseCommand implements Callable<Integer> {

  private static final Logger log = LoggerFactory.getLogger(DiagnoseCommand.class);

  /** Used when neither --requests nor --duration is given. */
  static final long DEFAULT_REQUESTS = 1000;

  @Spec
  private CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  private boolean help;

  @Option(names = "--url", defaultValue = "http://localhost:8080", converter = BaseUrlConverter.class,
    paramLabel = "<url>", description = "Base URL of the service (default: ${DEFAULT-VALUE}).")
  private BaseUrl url;

  @Option(names = "--scenario", defaultValue = "user", converter = ScenarioConverter.class, paramLabel = "<name>",
    description = "user: GET /users/{id}; settings: GET /users/{id}/settings; notifications: GET"
      + " /users/{id}/notifications; mixed: the three in turn; live: GET /health/live, the HTTP tier alone"
      + " (default: ${DEFAULT-VALUE}).")
  private Scenario scenario;

  @Option(names = "--ids", defaultValue = "1-100", converter = IdRangeConverter.class, paramLabel = "<first-last>",
    description = "User ids, each request picks one uniformly at random (default: ${DEFAULT-VALUE}).")
  private IdRange ids;

  @Option(names = "--concurrency", defaultValue = "20", paramLabel = "<n>",
    description = "Requests in flight at once; each worker sends its next request when the previous one ends"
      + " (default: ${DEFAULT-VALUE}).")
  private int concurrency;

  @Option(names = "--requests", paramLabel = "<n>",
    description = "Requests to send (default: " + DEFAULT_REQUESTS + " unless --duration is given). With"
      + " --duration too, whichever ends first.")
  private Long requests;

  @Option(names = "--duration", converter = DurationConverter.class, paramLabel = "<time>",
    description = "How long to send: 500ms, 10s, 1m. Requests in flight at the end are awaited and counted.")
  private Duration duration;

  @Option(names = "--timeout", defaultValue = "10s", converter = DurationConverter.class, paramLabel = "<time>",
    description = "Per request: no answer within it counts as status \"timeout\" (default: ${DEFAULT-VALUE}).")
  private Duration timeout;

  @Option(names = "--max-503-rate", defaultValue = "1.0", paramLabel = "<percent>",
    description = "Exit 2 when 503 answers are more than this percentage of all requests (default: ${DEFAULT-VALUE}).")
  private double max503Rate;

  @Option(names = "--db-host", paramLabel = "<host>",
    description = "MySQL/MariaDB server to inspect; without it there is no database check.")
  private String dbHost;

  @Option(names = "--db-port", defaultValue = "3306", paramLabel = "<port>", description = "(default: ${DEFAULT-VALUE})")
  private int dbPort;

  @Option(names = "--db-user", defaultValue = "sluice", paramLabel = "<user>", description = "(default: ${DEFAULT-VALUE})")
  private String dbUser;

  @Option(names = "--db-database", defaultValue = "sluice", paramLabel = "<name>",
    description = "(default: ${DEFAULT-VALUE})")
  private String dbDatabase;

  // No ${DEFAULT-VALUE} in the description: the help would print the password taken from the environment.
  @Option(names = "--db-password", defaultValue = "${env:SLUICE_DB_PASSWORD}", paramLabel = "<password>",
    description = "Default: the environment variable SLUICE_DB_PASSWORD, preferred because options show in the"
      + " process list. Never printed.")
  private String dbPassword;

  @Option(names = "--db-tls-mode", defaultValue = "${env:SLUICE_DB_TLS_MODE:-disabled}", paramLabel = "<mode>",
    description = "TLS to the database, as the service's db.tls.mode: disabled, required, verify-ca or verify-full."
      + " Default: SLUICE_DB_TLS_MODE, else disabled.")
  private String dbTlsMode;

  @Option(names = "--db-tls-ca-path", defaultValue = "${env:SLUICE_DB_TLS_CA_PATH}", paramLabel = "<file>",
    description = "PEM file of the CA that signed the server's certificate (verify-ca, verify-full)."
      + " Default: SLUICE_DB_TLS_CA_PATH.")
  private String dbTlsCaPath;

  @Option(names = "--db-allow-public-key-retrieval",
    defaultValue = "${env:SLUICE_DB_ALLOW_PUBLIC_KEY_RETRIEVAL:-false}",
    description = "Without TLS, let the connection ask the server for its RSA key (MySQL 8 caching_sha2_password):"
      + " whoever sits in between can then read the password. Default: SLUICE_DB_ALLOW_PUBLIC_KEY_RETRIEVAL, else"
      + " false.")
  private boolean dbAllowPublicKeyRetrieval;

  /** {@link #dbTlsMode} and {@link #dbTlsCaPath}, validated by {@link #checkArguments()}. */
  private DbTls dbTls;

  @Option(names = "--admin-token", paramLabel = "<token>",
    description = "Also GET <url>/admin/pool (and <url>/admin/cluster when the service is clustered) with"
      + " \"Authorization: Bearer <token>\" and print their JSON.")
  private String adminToken;

  @Option(names = "--no-load", description = "Send no load: database check (and admin pool) only.")
  private boolean noLoad;

  @Option(names = "--json", description = "Print the report as one JSON object instead of text.")
  private boolean json;

  private final PrintStream out;
  private final PrintStream err;

  private DiagnoseCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** {@code java -jar sluice-diagnose.jar [options]}: exits with the code of {@link #run(String...)}. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Entry point from the jar: the real stdout and stderr, and logging moved off stdout (see {@link CliLogging}). */
  public static int run(String... args) {
    CliLogging.configure();
    return run(System.out, System.err, args);
  }

  /** Runs the command; returns its exit code instead of exiting. */
  public static int run(PrintStream out, PrintStream err, String... args) {
    PrintWriter outWriter = new PrintWriter(out, true);
    PrintWriter errWriter = new PrintWriter(err, true);
    CommandLine cli = new CommandLine(new DiagnoseCommand(out, err)).setOut(outWriter).setErr(errWriter)
      .setExecutionExceptionHandler((e, commandLine, parseResult) -> failed(e, err));
    try {
      return cli.execute(args);
    } finally {
      outWriter.flush();
      errWriter.flush();
    }
  }

  @Override
  public Integer call() {
    checkArguments();
    LoadRun.Plan plan = new LoadRun.Plan(url, scenario, ids, concurrency,
      requests != null || duration != null ? requests : Long.valueOf(DEFAULT_REQUESTS), duration, timeout);
    DbCheck.Target target = dbHost == null ? null
      : new DbCheck.Target(dbHost, dbPort, dbDatabase, dbUser, dbPassword == null ? "" : dbPassword, dbTls,
        dbAllowPublicKeyRetrieval);
    // Connect before any load: a wrong password should cost a second, not a whole run.
    Connection connection = target == null ? null : DbCheck.connect(target);
    try {
      Report report = noLoad
        ? new Report(plan, null, snapshot(target, connection, "no load sent"), adminPool(), max503Rate,
          adminCluster())
        : loadAndInspect(plan, target, connection);
      out.println(json ? report.json().encode() : report.text());
      return report.exitCode();
    } finally {
      DbCheck.closeQuietly(connection);
    }
  }

  /** The database and the admin endpoint are read at half of the load: an idle pool diagnoses nothing. */
  private Report loadAndInspect(LoadRun.Plan plan, DbCheck.Target target, Connection connection) {
    try (LoadRun load = LoadRun.start(plan, err)) {
      load.halfway().await();
      Report.Db db = snapshot(target, connection, "snapshot at half of the load");
      AdminPool admin = adminPool();
      JsonObject cluster = adminCluster();
      return new Report(plan, load.result().await(), db, admin, max503Rate, cluster);
    }
  }

  private static Report.Db snapshot(DbCheck.Target target, Connection connection, String when) {
    if (connection == null) {
      return null;
    }
    try {
      return new Report.Db(target, when, DbCheck.read(connection), null);
    } catch (SQLException e) {
      return new Report.Db(target, when, null, "check failed: " + DbCheck.describe(e));
    }
  }

  private AdminPool adminPool() {
    return adminToken == null ? null : AdminPool.fetch(url, adminToken, timeout);
  }

  /** {@code GET /admin/cluster} with the token; null unless clustered (see {@link AdminPool#fetchCluster}). */
  private JsonObject adminCluster() {
    return adminToken == null ? null : AdminPool.fetchCluster(url, adminToken, timeout);
  }

  /** Ranges and combinations that picocli's types cannot express; each failure is a usage error (exit 64). */
  private void checkArguments() {
    require(concurrency >= 1 && concurrency <= 10_000, "--concurrency must be 1..10000, got " + concurrency);
    require(requests == null || requests >= 1, "--requests must be at least 1, got " + requests);
    require(max503Rate >= 0 && max503Rate <= 100, "--max-503-rate must be 0..100, got " + max503Rate);
    require(dbPort >= 1 && dbPort <= 65_535, "--db-port must be 1..65535, got " + dbPort);
    require(!noLoad || dbHost != null || adminToken != null,
      "--no-load leaves nothing to do without --db-host or --admin-token");
    boolean dbOptionWithoutHost = dbHost == null && spec.commandLine().getParseResult().matchedOptions().stream()
      .anyMatch(o -> o.longestName().startsWith("--db-"));
    require(!dbOptionWithoutHost, "--db-port, --db-user, --db-database, --db-password and --db-tls-* need"
      + " --db-host");
    try {
      dbTls = DbTls.of(dbTlsMode, dbTlsCaPath, "--db-tls-mode", "--db-tls-ca-path");
    } catch (ConfigException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private void require(boolean condition, String problem) {
    if (!condition) {
      throw new ParameterException(spec.commandLine(), problem);
    }
  }

  /** {@link CannotRun} is an expected outcome (one line); anything else is a bug, with the stack at DEBUG. */
  private static int failed(Exception e, PrintStream err) {
    if (e instanceof CannotRun) {
      err.println("diagnose: " + e.getMessage());
    } else {
      err.println("diagnose: unexpected failure: " + e + " (LOG_LEVEL=DEBUG shows the stack trace)");
      log.debug("diagnose failed", e);
    }
    return Report.EXIT_CANNOT_RUN;
  }
}
