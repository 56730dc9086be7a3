package io.sluice.launcher;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where the config comes from, kept so it can be read again on reload.
 *
 * @param file         the YAML file
 * @param fileRequired false for the default path, which may be absent (built-in defaults then)
 * @param env          the environment, for {@code SLUICE_*} overrides
 */
public record ConfigSource(Path file, boolean fileRequired, Map<String, String> env) {
}
