package io.sluice.bench;

import io.sluice.diagnose.BaseUrl;
import io.sluice.diagnose.ClosedLoop;
import io.sluice.diagnose.IdRange;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /users/{random id}} from {@code wrk} (a C load generator, far cheaper per request than the JVM's
 * client) when it is on the PATH. Each of its connections is a closed-loop worker, like {@link ClosedLoop}'s. A Lua
 * script picks the ids and prints one machine-readable line at the end, which becomes a {@link ClosedLoop.Result}
 * so that the report treats both generators alike.
 *
 * <p>What wrk cannot tell: the status of each answer. It counts answers with a status of 400 or more apart; they are
 * counted here under {@link #ERROR_STATUS}, the others under {@link #OK_STATUS}, and latency is that of all answers
 * (the {@code ok} latency of the result is the same histogram when every answer was below 400). Scenarios that need
 * success and rejection latencies apart ({@code overload}) use {@link ClosedLoop}. Its durations are whole seconds:
 * a shorter one is rounded up.
 */
final class WrkLoad {

  static final String OK_STATUS = "2xx";
  static final String ERROR_STATUS = "4xx/5xx";
  private static final String MARKER = "SLUICE_WRK ";

  private static final String SCRIPT = """
    -- Written by the bench (io.sluice.bench.WrkLoad): random ids, one summary line in JSON at the end.
    local first, last, fixed = %d, %d, "%s"
    local threads = 0
    function setup(thread)
      threads = threads + 1
      thread:set("seed", os.time() * 1000 + threads)
    end
    function init(args)
      math.randomseed(seed)
    end
    function request()
      if fixed ~= "" then
        return wrk.format("GET", fixed)
      end
      return wrk.format("GET", "/users/" .. math.random(first, last))
    end
    function done(summary, latency, requests)
      local e = summary.errors
      io.write(string.format('%s{"requests":%%d,"durationMicros":%%d,"connect":%%d,"read":%%d,"write":%%d,'
        .. '"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"p999":%%d,"max":%%d}\\n',
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
        latency.max))
    end
    """;

  private WrkLoad() {
  }

  /** The {@code wrk} executable on the PATH, if any. */
  static Optional<Path> find() {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "wrk");
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Runs {@code wrk} with {@code concurrency} connections on as many threads as there are cores (at most one per
   * connection) for {@code duration} rounded up to whole seconds, and waits for it.
   */
  static ClosedLoop.Result run(Path wrk, Path workDir, BaseUrl url, IdRange ids, int concurrency, Duration duration,
                               Duration timeout, PrintStream progress) {
    return run(wrk, workDir, url, ids, "", concurrency, duration, timeout, progress);
  }

  /** As {@link #run(Path, Path, BaseUrl, IdRange, int, Duration, Duration, PrintStream)}, on one fixed path. */
  static ClosedLoop.Result run(Path wrk, Path workDir, BaseUrl url, String fixedPath, int concurrency,
                               Duration duration, Duration timeout, PrintStream progress) {
    return run(wrk, workDir, url, new IdRange(1, 1), fixedPath, concurrency, duration, timeout, progress);
  }

  private static ClosedLoop.Result run(Path wrk, Path workDir, BaseUrl url, IdRange ids, String fixedPath,
                                       int concurrency, Duration duration, Duration timeout, PrintStream progress) {
    try {
      Path script = workDir.resolve("wrk-users.lua");
      Files.writeString(script, String.format(SCRIPT, ids.first(), ids.last(), fixedPath, MARKER));
      long seconds = Math.max(1, (duration.toMillis() + 999) / 1000);
      int threads = Math.max(1, Math.min(concurrency, Runtime.getRuntime().availableProcessors()));
      ProcessBuilder builder = new ProcessBuilder(wrk.toString(), "-t" + threads, "-c" + concurrency,
        "-d" + seconds + "s", "--timeout", Math.max(1, timeout.toSeconds()) + "s", "-s", script.toString(),
        "http://" + url.host() + ":" + url.port()).redirectErrorStream(true);
      progress.printf("[bench] wrk -t%d -c%d -d%ds %s%n", threads, concurrency, seconds, url);
      Process process = builder.start();
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(seconds + 60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("wrk did not end within " + (seconds + 60) + " s");
      }
      return parse(output);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + wrk, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while wrk ran");
    }
  }

  /** The summary line the script printed, as a result; wrk's own output in the message when it is missing. */
  static ClosedLoop.Result parse(String output) {
    JsonObject s = output.lines().filter(line -> line.startsWith(MARKER)).findFirst()
      .map(line -> {
        try {
          return new JsonObject(line.substring(MARKER.length()));
        } catch (DecodeException e) {
          return null;
        }
      })
      .orElseThrow(() -> new IllegalStateException("wrk printed no summary:\n" + output.strip()));
    long answers = s.getLong("requests");
    long status = s.getLong("status");
    long timeouts = s.getLong("timeout");
    long socketErrors = s.getLong("connect") + s.getLong("read") + s.getLong("write");
    Map<String, Long> counts = new TreeMap<>();
    put(counts, OK_STATUS, answers - status);
    put(counts, ERROR_STATUS, status);
    put(counts, "timeout", timeouts);
    put(counts, ClosedLoop.ERROR, socketErrors);
    ClosedLoop.Latency latency = answers == 0 ? null : new ClosedLoop.Latency(ms(s, "p50"), ms(s, "p90"),
      ms(s, "p99"), ms(s, "p999"), ms(s, "max"));
    String firstError = socketErrors + timeouts == 0 ? null
      : "wrk: " + socketErrors + " socket errors, " + timeouts + " timeouts";
    return new ClosedLoop.Result(s.getLong("durationMicros") * 1000, answers + timeouts + socketErrors, counts,
      latency, status == 0 ? latency : null, null, answers - status, answers - status, firstError);
  }

  private static void put(Map<String, Long> counts, String label, long n) {
    if (n > 0) {
      counts.put(label, n);
    }
  }

  private static double ms(JsonObject summary, String key) {
    return summary.getLong(key) / 1000.0;
  }
}
