package io.sluice.bench;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Where a run happened and on which code: what a reader needs before comparing two reports. */
final class Machine {

  private Machine() {
  }

  static JsonObject describe() {
    long memory = totalMemoryBytes();
    return new JsonObject()
      .put("cores", Runtime.getRuntime().availableProcessors())
      .put("memoryBytes", memory)
      .put("memory", memory <= 0 ? "unknown" : String.format(Locale.ROOT, "%.1f GiB", memory / (double) (1L << 30)))
      .put("os", command(Path.of("."), "uname", "-sr").orElse(System.getProperty("os.name") + " "
        + System.getProperty("os.version")))
      .put("arch", System.getProperty("os.arch"))
      .put("cpuModel", cpuModel());
  }

  static JsonObject jvm() {
    return new JsonObject()
      .put("version", System.getProperty("java.runtime.version"))
      .put("vm", System.getProperty("java.vm.name"))
      .put("vendor", System.getProperty("java.vm.vendor"))
      .put("maxHeapBytes", Runtime.getRuntime().maxMemory());
  }

  /** {@code git rev-parse --short HEAD}, plus {@code -dirty} when {@code git status --porcelain} lists anything. */
  static String commit(Path repo) {
    String head = command(repo, "git", "rev-parse", "--short", "HEAD").orElse("unknown");
    boolean dirty = command(repo, "git", "status", "--porcelain").map(s -> !s.isBlank()).orElse(false);
    return dirty ? head + "-dirty" : head;
  }

  /** The 1-, 5- and 15-minute load averages ({@code /proc/loadavg}): how busy the machine was besides the bench. */
  static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static long totalMemoryBytes() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getTotalMemorySize();
    }
    return -1;
  }

  private static String cpuModel() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
      return lines.stream().filter(l -> l.startsWith("model name")).findFirst()
        .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** The command's trimmed stdout, or empty when it cannot run or fails. */
  private static Optional<String> command(Path dir, String... command) {
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return Optional.empty();
      }
      return Optional.of(out);
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
