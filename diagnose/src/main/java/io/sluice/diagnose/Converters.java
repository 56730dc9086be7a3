package io.sluice.diagnose;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * picocli converters for the option types. Any {@link TypeConversionException} is a usage error (exit 64); the
 * value's own validation message is passed through.
 */
final class Converters {

  private Converters() {
  }

  /** {@code 500ms}, {@code 10s}, {@code 1m}, {@code 1h}; zero is rejected because every use divides by it. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    private static final Pattern FORMAT = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

    @Override
    public Duration convert(String value) {
      Matcher m = FORMAT.matcher(value.trim());
      if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
        throw new TypeConversionException("'" + value + "' is not a positive duration like 500ms, 10s, 1m");
      }
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
    }
  }

  static final class IdRangeConverter implements ITypeConverter<IdRange> {
    @Override
    public IdRange convert(String value) {
      return rethrow(() -> IdRange.parse(value), value);
    }
  }

  static final class ScenarioConverter implements ITypeConverter<Scenario> {
    @Override
    public Scenario convert(String value) {
      return rethrow(() -> Scenario.parse(value), value);
    }
  }

  static final class BaseUrlConverter implements ITypeConverter<BaseUrl> {
    @Override
    public BaseUrl convert(String value) {
      return rethrow(() -> BaseUrl.parse(value), value);
    }
  }

  private static <T> T rethrow(java.util.function.Supplier<T> parse, String value) {
    try {
      return parse.get();
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException("'" + value + "': " + e.getMessage());
    }
  }
}
