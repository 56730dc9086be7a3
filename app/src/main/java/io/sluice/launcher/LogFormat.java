package io.sluice.launcher;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;
import org.slf4j.LoggerFactory;

import java.util.Iterator;

/**
 * The {@code log} section: {@code format: text} (default) or {@code json} (one JSON object per line, Logback's
 * JsonEncoder, for log shippers). Applied once the config is loaded, by swapping the encoder of the console
 * appender; lines logged before that are text.
 */
public final class LogFormat {

  public static final String TEXT = "text";
  public static final String JSON = "json";

  /** The console encoder is chosen once, at start. */
  public static final Schema SCHEMA = Schema.of().restartOnly("format");

  private LogFormat() {
  }

  public static JsonObject defaults() {
    return new JsonObject().put("format", TEXT);
  }

  public static String from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    String format = s.string("format", TEXT);
    if (!format.equals(TEXT) && !format.equals(JSON)) {
      throw new ConfigException(s.keyOf("format") + " must be text or json, got \"" + format + "\"");
    }
    return format;
  }

  public static void apply(String format) {
    if (!JSON.equals(format) || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof OutputStreamAppender<ILoggingEvent> appender) {
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        encoder.start();
        appender.stop();
        appender.setEncoder(encoder);
        appender.start();
      }
    }
  }
}
