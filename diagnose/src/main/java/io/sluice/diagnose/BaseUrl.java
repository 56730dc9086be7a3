package io.sluice.diagnose;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * The service's base URL, split the way the HTTP clients want it: {@code text} is the URL without a trailing /,
 * {@code path} its path prefix without one (empty for none).
 */
public record BaseUrl(String text, String host, int port, boolean ssl, String path) {

  /** {@code http://host[:port][/prefix]} or {@code https://…}; anything else is an IllegalArgumentException. */
  public static BaseUrl parse(String text) {
    URI uri;
    try {
      uri = new URI(text.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
    String scheme = uri.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme) || uri.getHost() == null) {
      throw new IllegalArgumentException("expected http://host[:port][/prefix] or https://…");
    }
    if (uri.getQuery() != null || uri.getFragment() != null) {
      throw new IllegalArgumentException("a base URL has no query or fragment");
    }
    boolean ssl = scheme.equals("https");
    int port = uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80;
    String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "");
    return new BaseUrl(text.trim().replaceAll("/+$", ""), uri.getHost(), port, ssl, path);
  }

  /** Path for the HTTP client, whose default host and port are this URL's. */
  public String path(String relative) {
    return path + relative;
  }

  /** The absolute URI of {@code relative} (which starts with /), for clients without a default host. */
  public URI uri(String relative) {
    return URI.create(text + relative);
  }

  @Override
  public String toString() {
    return text;
  }
}
