package io.sluice.launcher;

import io.sluice.config.ConfigException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one config schema: every key declared once, every section checked by it, the operations page held to it. */
class ConfigSchemaTest {

  private static final Pattern CODE = Pattern.compile("`([^`]+)`");

  @Test
  @DisplayName("every key that has a default is declared live or restart-only, and every declared key has a default")
  void everyKeyIsDeclaredOnce() {
    assertEquals(leaves(SluiceConfig.defaults(), ""), SluiceConfig.SCHEMA.leafPaths());
  }

  @Test
  @DisplayName("every section, reload, admin, log and embedded included, refuses a key its schema does not declare")
  void everySectionIsValidatedByItsSchema() {
    for (String path : sections(SluiceConfig.defaults(), "")) {
      JsonObject config = SluiceConfig.defaults();
      JsonObject section = config;
      for (String key : path.split("\\.")) {
        section = section.getJsonObject(key);
      }
      section.put("typo", 1);
      ConfigException e = assertThrows(ConfigException.class, () -> SluiceConfig.validate(config), path);
      assertTrue(e.getMessage().contains(path + ".typo"), e.getMessage());
    }
    assertTrue(sections(SluiceConfig.defaults(), "").containsAll(Set.of("reload", "admin", "log", "embedded")));
  }

  @Test
  @DisplayName("docs/operations.md's live/restart table says what the schema declares, key for key")
  void liveRestartTableMatchesTheSchema() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("..", "docs", "operations.md"));
    int heading = lines.indexOf("## What changes live, what needs a restart");
    assertTrue(heading >= 0, "docs/operations.md section \"What changes live, what needs a restart\" not found");
    List<String> live = new ArrayList<>();
    List<String> restart = new ArrayList<>();
    int row = heading + 1;
    while (!lines.get(row).startsWith("| Live")) {
      row++;
    }
    for (row += 2; row < lines.size() && lines.get(row).startsWith("|"); row++) {
      String[] cells = lines.get(row).split("\\|", -1);
      live.addAll(codes(cells[1]));
      restart.addAll(codes(cells[2]));
    }
    for (String key : SluiceConfig.SCHEMA.leafPaths()) {
      boolean isLive = SluiceConfig.SCHEMA.isLive(key);
      assertEquals(isLive, matches(live, key), key + " in the live column of docs/operations.md");
      assertEquals(!isLive, matches(restart, key), key + " in the restart column of docs/operations.md");
    }
    List<String> all = new ArrayList<>(live);
    all.addAll(restart);
    for (String pattern : all) {
      assertFalse(SluiceConfig.SCHEMA.leafPaths().stream().noneMatch(key -> matches(List.of(pattern), key)),
        "docs/operations.md names " + pattern + ", which is no config key");
    }
  }

  private static List<String> codes(String cell) {
    List<String> codes = new ArrayList<>();
    Matcher m = CODE.matcher(cell);
    while (m.find()) {
      codes.add(m.group(1));
    }
    return codes;
  }

  /** {@code db.pool.*} matches every key under {@code db.pool}. */
  private static boolean matches(List<String> patterns, String key) {
    return patterns.stream().anyMatch(p -> p.endsWith(".*") ? key.startsWith(p.substring(0, p.length() - 1))
      : key.equals(p));
  }

  private static Set<String> leaves(JsonObject json, String prefix) {
    Set<String> paths = new TreeSet<>();
    json.forEach(e -> {
      if (e.getValue() instanceof JsonObject child) {
        paths.addAll(leaves(child, prefix + e.getKey() + "."));
      } else {
        paths.add(prefix + e.getKey());
      }
    });
    return paths;
  }

  private static Set<String> sections(JsonObject json, String prefix) {
    Set<String> paths = new TreeSet<>();
    json.forEach(e -> {
      if (e.getValue() instanceof JsonObject child) {
        paths.add(prefix + e.getKey());
        paths.addAll(sections(child, prefix + e.getKey() + "."));
      }
    });
    return paths;
  }
}
