package io.sluice.config;

/** A configuration value is missing, of the wrong type or out of range. The message names the key and why. */
public class ConfigException extends RuntimeException {

  public ConfigException(String message) {
    super(message);
  }
}
