package io.sluice.bench;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
   * CPU used by the load generator (this JVM and the {@code wrk} it ran), the process under test and the database
   * server over one measured phase: {@link #start} before the load, {@link #stop} after it.
   */
  static final class CpuMeter {

    private final long startNanos = System.nanoTime();
    private final Long servicePid;
    private final Long databasePid;
    private final double generatorAtStart;
    private final double serviceAtStart;
    private final double databaseAtStart;

    private CpuMeter(Long servicePid, Long databasePid) {
      this.servicePid = servicePid;
      this.databasePid = databasePid;
      this.generatorAtStart = cpuSeconds(ProcessHandle.current().pid(), true);
      this.serviceAtStart = servicePid == null ? -1 : cpuSeconds(servicePid, false);
      this.databaseAtStart = databasePid == null ? -1 : cpuSeconds(databasePid, false);
    }

    /** Either pid may be null: no such process in this phase (the ceiling has no service; an external database). */
    static CpuMeter start(Long servicePid, Long databasePid) {
      return new CpuMeter(servicePid, databasePid);
    }

    /**
     * {@code cpuSeconds} used during the phase, {@code cores} = those seconds over its wall time (1.0 = one core
     * busy all along), and {@code fractionOfMachine} = cores over the machine's cores.
     */
    JsonObject stop() {
      double wall = (System.nanoTime() - startNanos) / 1e9;
      JsonObject json = new JsonObject().put("wallSeconds", Bench.round(wall))
        .put("loadGenerator", used(generatorAtStart, cpuSeconds(ProcessHandle.current().pid(), true), wall));
      if (servicePid != null) {
        json.put("service", used(serviceAtStart, cpuSeconds(servicePid, false), wall));
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
