/**
 * {@code java -jar sluice-diagnose.jar …}: the replacement for the incident's {@code diagnose_503_errors.py}.
 * It drives closed-loop HTTP load at a running Sluice ({@link io.sluice.diagnose.LoadRun}), looks at the database
 * server while that load runs ({@link io.sluice.diagnose.DbCheck}), and prints one report
 * ({@link io.sluice.diagnose.Report}) whose exit code says whether the 503 share stayed under a limit.
 *
 * <p>The command is a client of the service: it talks to it only over HTTP and to the database only through its own
 * read-only JDBC connection. It never imports the proxy module.
 *
 * <p>Public API, for the bench: the closed-loop driver {@link io.sluice.diagnose.ClosedLoop}, which any request
 * (an HTTP GET, a statement on a pool) can drive; {@link io.sluice.diagnose.LoadRun} and its plan types
 * ({@link io.sluice.diagnose.BaseUrl}, {@link io.sluice.diagnose.Scenario}, {@link io.sluice.diagnose.IdRange},
 * {@link io.sluice.diagnose.Durations}); {@link io.sluice.diagnose.DbCheck}; and {@link io.sluice.diagnose.CannotRun}.
 * The command, its converters and its report stay package-private.
 */
package io.sluice.diagnose;
