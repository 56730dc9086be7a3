package io.sluice;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The rules the build cannot express. That the HTTP tier sees only the contract and no database driver is not here:
 * api-module has neither on its compile class path, so breaking it is a compile error. What remains: the launcher
 * (which sees every module) stays off the proxy's implementation package, and an address or action is spelled only
 * in the contract.
 */
class ArchitectureTest {

  private static final JavaClasses MAIN_CLASSES = new ClassFileImporter()
    .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
    .importPackages("io.sluice");

  @Test
  void onlyTheProxyReachesItsImplementation() {
    ArchRule rule = noClasses().that().resideOutsideOfPackages("io.sluice.proxy..")
      .should().dependOnClassesThat().resideInAPackage("io.sluice.proxy.impl..");
    rule.check(MAIN_CLASSES);
  }

  @Test
  void addressAndActionsAreSpelledOnlyInTheContractPackage() throws IOException {
    List<String> literals = new ArrayList<>(Action.ALL);
    literals.add(ProxyContract.ADDRESS);
    List<Path> sources = new ArrayList<>();
    for (String module : List.of("app", "api-module", "proxy-module", "example-consumer", "diagnose", "bench")) {
      try (Stream<Path> files = Files.walk(Path.of("..", module, "src", "main", "java"))) {
        files.filter(f -> f.toString().endsWith(".java")).forEach(sources::add);
      }
    }
    assertFalse(sources.isEmpty());
    for (Path source : sources) {
      String text = Files.readString(source);
      for (String literal : literals) {
        assertFalse(text.contains("\"" + literal + "\""), source + " spells \"" + literal + "\"; use the contract");
      }
    }
  }
}
