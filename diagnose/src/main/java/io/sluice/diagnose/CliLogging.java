package io.sluice.diagnose;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.LoggerFactory;

import java.util.Iterator;

/**
 * The service's logback.xml logs to stdout, but the command's stdout is its report ({@code --json} must stay one
 * parseable object). So, when the command runs from the jar, console appenders are moved to stderr. Only the jar's
 * entry point calls this; tests keep their own logging. The JDBC driver's own warning about a failed connection is
 * also muted: the command reports that failure itself, on one line.
 */
final class CliLogging {

  private CliLogging() {
  }

  static void configure() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    context.getLogger("org.mariadb.jdbc").setLevel(Level.ERROR);
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof ConsoleAppender<?> console) {
        // The target is read when the appender starts, so it has to be restarted to take effect.
        console.stop();
        console.setTarget("System.err");
        console.start();
      }
    }
  }
}
