package io.sluice.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Throwaway PEM files for TLS tests (the event bus, the database), made with the JDK's own {@code keytool} (so a machine with only Java
 * and Maven can run them): a CA, and node key/certificate pairs it signs. The private key is read back from the
 * PKCS#12 keystore with {@link KeyStore} and written as PKCS#8 PEM, which keytool cannot export.
 *
 * <p>In main scope, not with the tests, because the bench ({@code cluster-trust}) makes its cluster's certificates
 * with it too and may not depend on test code; nothing in the service calls it.
 */
public final class TestCerts {

  private static final String PASSWORD = "changeit";

  private final Path dir;
  private final String caName;

  private TestCerts(Path dir, String caName) {
    this.dir = dir;
    this.caName = caName;
  }

  /** A new CA in {@code dir}: {@code <name>.p12} and its certificate {@code <name>-ca.pem}. */
  public static TestCerts authority(Path dir, String name) {
    TestCerts ca = new TestCerts(dir, name);
    ca.keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
      "-dname", "CN=" + name, "-ext", "bc:c", "-ext", "KeyUsage:critical=keyCertSign,cRLSign",
      "-keystore", ca.store(name).toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
    ca.keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.store(name).toString(), "-storepass", PASSWORD,
      "-file", ca.caPem().toString());
    return ca;
  }

  /** The CA's certificate, PEM. */
  public Path caPem() {
    return dir.resolve(caName + "-ca.pem");
  }

  /** A key and a certificate this CA signed for {@code node}: {@code [key.pem, cert.pem]}. */
  public Path[] node(String node) {
    String id = caName + "-" + node;
    Path store = store(id);
    Path csr = dir.resolve(id + ".csr");
    Path cert = dir.resolve(id + "-cert.pem");
    Path key = dir.resolve(id + "-key.pem");
    keytool("-genkeypair", "-alias", "node", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
      "-dname", "CN=" + node, "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
    keytool("-certreq", "-alias", "node", "-keystore", store.toString(), "-storepass", PASSWORD,
      "-file", csr.toString());
    keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", store(caName).toString(), "-storepass", PASSWORD,
      "-validity", "2", "-infile", csr.toString(), "-outfile", cert.toString(),
      "-ext", "KeyUsage:critical=digitalSignature,keyEncipherment", "-ext", "ExtendedKeyUsage=serverAuth,clientAuth",
      "-ext", "SAN=ip:127.0.0.1");
    try (InputStream in = Files.newInputStream(store)) {
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      keyStore.load(in, PASSWORD.toCharArray());
      PrivateKey privateKey = (PrivateKey) keyStore.getKey("node", PASSWORD.toCharArray());
      String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(privateKey.getEncoded());
      Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot read the key of " + id, e);
    }
    return new Path[] {key, cert};
  }

  private Path store(String name) {
    return dir.resolve(name + ".p12");
  }

  private void keytool(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.add("-noprompt");
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + command + "\n" + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
