package io.sluice.launcher;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the configuration reference ({@code docs/configuration.md}) and the shipped {@code conf/config.yaml} complete
 * against the code: the leaf keys of {@link SluiceConfig#defaults()} are the truth. A key added, dropped or renamed in
 * a settings class fails here until both files follow; so does a stale key left behind in either file.
 */
class ConfigReferenceTest {

  /** Paths from the app module's directory, where surefire runs. */
  private static final Path REFERENCE = Path.of("../docs/configuration.md");
  private static final Path SHIPPED_YAML = Path.of("../conf/config.yaml");

  /** A row of the reference table: | `key` | type | `default` | live/restart | `SLUICE_…` | meaning |. */
  private static final Pattern ROW = Pattern.compile("^\\| `([A-Za-z0-9.]+)` \\|(.*)$");

  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  @DisplayName("docs/configuration.md has one row per config key, with its default, live flag and variable")
  void referenceTableMatchesTheCode() throws IOException {
    Map<String, Object> code = leaves(SluiceConfig.defaults());
    Map<String, String[]> rows = referenceRows();

    assertSameKeys(REFERENCE, code.keySet(), rows.keySet());
    List<String> wrong = new ArrayList<>();
    code.forEach((key, value) -> {
      String[] cells = rows.get(key);
      String documentedDefault = unquote(cells[1]);
      if (!documentedDefault.equals(String.valueOf(value))) {
        wrong.add(key + ": default documented " + cells[1] + ", code has " + value);
      }
      String live = SluiceConfig.SCHEMA.isLive(key) ? "live" : "restart";
      if (!cells[2].equals(live)) {
        wrong.add(key + ": documented " + cells[2] + ", the reloader treats it as " + live);
      }
      String variable = "`" + environmentVariable(key) + "`";
      if (!cells[3].equals(variable)) {
        wrong.add(key + ": variable documented " + cells[3] + ", the code reads " + variable);
      }
    });
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
  }

  @Test
  @DisplayName("conf/config.yaml lists every config key, no other, each with its default")
  void shippedYamlListsEveryKeyWithItsDefault() {
    Map<String, Object> code = leaves(SluiceConfig.defaults());
    Map<String, Object> shipped = leaves(readYaml(SHIPPED_YAML));

    assertSameKeys(SHIPPED_YAML, code.keySet(), shipped.keySet());
    // The file's header says "the value shown is the default"; keep that true.
    List<String> wrong = new ArrayList<>();
    code.forEach((key, value) -> {
      if (!String.valueOf(shipped.get(key)).equals(String.valueOf(value))) {
        wrong.add(key + ": " + shipped.get(key) + " in the file, default " + value);
      }
    });
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
  }

  /** Names what is missing and what is stale, rather than printing two sets of 38 keys. */
  private static void assertSameKeys(Path file, Set<String> code, Set<String> found) {
    Set<String> missing = new TreeSet<>(code);
    missing.removeAll(found);
    Set<String> stale = new TreeSet<>(found);
    stale.removeAll(code);
    assertTrue(missing.isEmpty() && stale.isEmpty(), file + ": missing keys " + missing
      + ", keys the code does not know " + stale);
  }

  /** Leaf key paths ({@code db.pool.maxSize}) with their values, sorted. */
  private static Map<String, Object> leaves(JsonObject config) {
    Map<String, Object> result = new TreeMap<>();
    collect("", config, result);
    return result;
  }

  private static void collect(String prefix, JsonObject section, Map<String, Object> result) {
    for (String key : section.fieldNames()) {
      Object value = section.getValue(key);
      if (value instanceof JsonObject child) {
        collect(prefix + key + ".", child, result);
      } else {
        result.put(prefix + key, value);
      }
    }
  }

  /** Key → the cells after it (type, default, live, variable, meaning), for every row of the table. */
  private static Map<String, String[]> referenceRows() throws IOException {
    Map<String, String[]> rows = new TreeMap<>();
    for (String line : Files.readAllLines(REFERENCE)) {
      Matcher m = ROW.matcher(line);
      if (m.matches()) {
        String[] cells = m.group(2).split("\\|");
        assertTrue(cells.length >= 5, "a reference row needs 6 cells: " + line);
        String[] trimmed = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
          trimmed[i] = cells[i].trim();
        }
        assertTrue(rows.put(m.group(1), trimmed) == null, "documented twice: " + m.group(1));
      }
    }
    return rows;
  }

  /** {@code `2000`} → {@code 2000}; {@code `""`} → the empty string. */
  private static String unquote(String cell) {
    String value = cell.startsWith("`") && cell.endsWith("`") ? cell.substring(1, cell.length() - 1) : cell;
    return value.equals("\"\"") ? "" : value;
  }

  private static String environmentVariable(String key) {
    StringBuilder name = new StringBuilder(SluiceConfig.ENV_PREFIX);
    for (String segment : key.split("\\.")) {
      name.append(SluiceConfig.envName(segment)).append('_');
    }
    return name.substring(0, name.length() - 1);
  }

  /** The file alone, read by the same Vert.x YAML store the service uses (no defaults, no environment). */
  private static JsonObject readYaml(Path file) {
    ConfigRetriever retriever = ConfigRetriever.create(vertx, new ConfigRetrieverOptions().setScanPeriod(-1)
      .addStore(new ConfigStoreOptions().setType("file").setFormat("yaml")
        .setConfig(new JsonObject().put("path", file.toString()))));
    try {
      return retriever.getConfig().await();
    } finally {
      retriever.close();
    }
  }
}
