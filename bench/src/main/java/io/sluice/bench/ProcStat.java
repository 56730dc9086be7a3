package io.sluice.bench;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What Linux's {@code /proc} says about a process: CPU time used ({@code /proc/<pid>/stat}) and peak resident memory
 * ({@code VmHWM} in {@code /proc/<pid>/status}). Every reading is -1 where {@code /proc} is missing or the process
 * is gone: a report shows "n/a" rather than failing the run.
 */
final class ProcStat {

  /**
   * USER_HZ, the unit of the CPU times in {@code /proc/<pid>/stat}: 100 on every Linux architecture the JDK ships for
   * (it is fixed at build time, whatever the kernel's tick rate).
   */
  static final double TICKS_PER_SECOND = 100;

  private ProcStat() {
  }

  /**
   * CPU seconds (user + system) used by {@code pid}; with {@code children}, plus those of its children that ended
   * and were waited for (for the bench's own process: a finished {@code wrk}).
   */
  static double cpuSeconds(long pid, boolean children) {
    try {
      String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
      // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      // f[0] is field 3 (state): utime, stime, cutime, cstime are fields 14..17.
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      if (children) {
        ticks += Long.parseLong(f[13]) + Long.parseLong(f[14]);
      }
      return ticks / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The peak resident set size of {@code pid} in bytes ({@code VmHWM}), -1 when unknown. */
  static long peakRssBytes(long pid) {
    try {
      return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
        .filter(line -> line.startsWith("VmHWM:"))
        .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024)
        .findFirst().orElse(-1L);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The embedded MariaDB server started by {@code owner} (a Sluice process), if there is one. */
  static Optional<ProcessHandle> databaseServer(ProcessHandle owner) {
    return owner.descendants()
      .filter(p -> p.info().command().map(c -> c.endsWith("mariadbd") || c.endsWith("mysqld")).orElse(false))
      .findFirst();
  }

  /**
   * CPU used by the load generator (this JVM and the {@code wrk} it ran), the program under test and the database
   * server over one measured phase: {@link #start} before the load, {@link #stop} after it. The program under test may
   * be several processes (a cluster's nodes): {@code service} is then their sum, and {@code nodes} each one.
   */
  static final class CpuMeter {

    private final long startNanos = System.nanoTime();
    /** The program's processes by name, in the order the report lists them. */
    private final Map<String, Long> programPids;
    private final Long databasePid;
    private final double generatorAtStart;
    private final Map<String, Double> programAtStart = new LinkedHashMap<>();
    private final double databaseAtStart;

    private CpuMeter(Map<String, Long> programPids, Long databasePid) {
      this.programPids = programPids;
      this.databasePid = databasePid;
      this.generatorAtStart = cpuSeconds(ProcessHandle.current().pid(), true);
      programPids.forEach((name, pid) -> programAtStart.put(name, cpuSeconds(pid, false)));
      this.databaseAtStart = databasePid == null ? -1 : cpuSeconds(databasePid, false);
    }

    /**
     * The program's processes, {@code name → pid} (none for the ceiling, which has no service); the database pid is
     * null for an external database.
     */
    static CpuMeter start(Map<String, Long> programPids, Long databasePid) {
      return new CpuMeter(new LinkedHashMap<>(programPids), databasePid);
    }

    /**
     * {@code cpuSeconds} used during the phase, {@code cores} = those seconds over its wall time (1.0 = one core
     * busy all along), and {@code fractionOfMachine} = cores over the machine's cores.
     */
    JsonObject stop() {
      double wall = (System.nanoTime() - startNanos) / 1e9;
      JsonObject json = new JsonObject().put("wallSeconds", Bench.round(wall))
        .put("loadGenerator", used(generatorAtStart, cpuSeconds(ProcessHandle.current().pid(), true), wall));
      if (!programPids.isEmpty()) {
        JsonObject nodes = new JsonObject();
        double before = 0;
        double after = 0;
        for (Map.Entry<String, Long> e : programPids.entrySet()) {
          double start = programAtStart.get(e.getKey());
          double end = cpuSeconds(e.getValue(), false);
          nodes.put(e.getKey(), used(start, end, wall));
          // One unreadable process makes the sum unknown, not smaller.
          before = start < 0 || before < 0 ? -1 : before + start;
          after = end < 0 || after < 0 ? -1 : after + end;
        }
        json.put("service", used(before, after, wall));
        if (programPids.size() > 1) {
          json.put("nodes", nodes);
        }
      }
      if (databasePid != null) {
        json.put("database", used(databaseAtStart, cpuSeconds(databasePid, false), wall));
      }
      return json;
    }

    private static JsonObject used(double before, double after, double wall) {
      if (before < 0 || after < 0 || wall <= 0) {
        return new JsonObject().putNull("cpuSeconds");
      }
      double cores = (after - before) / wall;
      return new JsonObject().put("cpuSeconds", Bench.round(after - before)).put("cores", Bench.round(cores))
        .put("fractionOfMachine", Bench.round(cores / Runtime.getRuntime().availableProcessors()));
    }
  }
}
