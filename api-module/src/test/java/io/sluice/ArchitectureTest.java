package io.sluice;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import io.sluice.proxy.contract.Action;
import io.sluice.proxy.contract.ProxyContract;
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
 * The HTTP tier knows the proxy only through its event-bus contract. Only the launcher, which deploys both tiers in
 * one process, may touch the rest of proxy-module.
 */
class ArchitectureTest {

  private static final JavaClasses MAIN_CLASSES = new ClassFileImporter()
    .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
    .importPackages("io.sluice");

  @Test
  void httpTierDependsOnlyOnTheProxyContract() {
    ArchRule rule = noClasses().that().resideInAPackage("io.sluice.api..")
      .should().dependOnClassesThat().resideInAnyPackage(
        "io.sluice.proxy", "io.sluice.proxy.impl..", "io.sluice.proxy.config..", "io.sluice.proxy.db..");
    rule.check(MAIN_CLASSES);
  }

  @Test
  void httpTierOpensNoDatabaseConnection() {
    ArchRule rule = noClasses().that().resideInAPackage("io.sluice.api..")
      .should().dependOnClassesThat().resideInAnyPackage("io.vertx.sqlclient..", "io.vertx.mysqlclient..",
        "java.sql..", "javax.sql..", "org.flywaydb..", "ch.vorburger..");
    rule.check(MAIN_CLASSES);
  }

  @Test
  void addressAndActionsAreSpelledOnlyInTheContractPackage() throws IOException {
    List<String> literals = new ArrayList<>(Action.ALL);
    literals.add(ProxyContract.ADDRESS);
    List<Path> sources = new ArrayList<>();
    for (Path root : List.of(Path.of("src/main/java"), Path.of("../proxy-module/src/main/java"))) {
      try (Stream<Path> files = Files.walk(root)) {
        files.filter(f -> f.toString().endsWith(".java"))
          .filter(f -> !f.toString().replace('\\', '/').contains("io/sluice/proxy/contract/"))
          .forEach(sources::add);
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
