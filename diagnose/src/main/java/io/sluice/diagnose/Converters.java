package io.sluice.diagnose;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.time.Duration;

/**
 * picocli converters for the option types. Any {@link TypeConversionException} is a usage error (exit 64); the
 * value's own validation message is passed through.
 */
final class Converters {

  private Converters() {
  }

  /** See {@link Durations#parse}; its message already quotes the value. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
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
