package io.marchproxy.api.certificates;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throw-away PKI for tests: keys, a root, intermediates and leaves, as PEM. */
final class TestPki {

  private static final SecureRandom RANDOM = new SecureRandom();

  private TestPki() {}

  /** A certificate with its key pair. */
  record Issued(X509Certificate certificate, KeyPair keys) {

    String pem() {
      return write(certificate);
    }

    /** {@code -----BEGIN PRIVATE KEY-----}. */
    String pkcs8Pem() {
      return "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
              .encodeToString(keys.getPrivate().getEncoded())
          + "\n-----END PRIVATE KEY-----\n";
    }

    /**
     * {@code -----BEGIN RSA PRIVATE KEY-----} or, as OpenSSL writes it (curve and public key
     * inside), {@code -----BEGIN EC PRIVATE KEY-----}.
     */
    String traditionalPem() {
      if (!keys.getPrivate().getAlgorithm().equals("EC")) {
        return write(keys.getPrivate());
      }
      try {
        var info = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
        var curve = ASN1ObjectIdentifier.getInstance(info.getPrivateKeyAlgorithm().getParameters());
        var inner = ECPrivateKey.getInstance(info.parsePrivateKey());
        var publicKey =
            SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()).getPublicKeyData();
        var sec1 =
            new ECPrivateKey(
                ECNamedCurveTable.getByOID(curve).getN().bitLength(),
                inner.getKey(),
                publicKey,
                curve);
        return "-----BEGIN EC PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(sec1.getEncoded())
            + "\n-----END EC PRIVATE KEY-----\n";
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The base64 of the key without line breaks. */
    String keyBase64() {
      return Base64.getEncoder().encodeToString(keys.getPrivate().getEncoded());
    }

    /** 40 base64 characters from the end of the key (secret material): must show up nowhere. */
    String keyFragment() {
      String b64 = keyBase64().replace("=", "");
      return b64.substring(b64.length() - 41, b64.length() - 1);
    }
  }

  static KeyPair rsa(int bits) {
    try {
      var g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair ec(String curve) {
    try {
      var g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec(curve));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static Issued root(String cn, KeyPair keys) {
    Instant now = Instant.now();
    return sign(
        cn,
        keys,
        cn,
        keys,
        true,
        now.minus(Duration.ofDays(30)),
        now.plus(Duration.ofDays(3650)),
        List.of(),
        null);
  }

  static Issued intermediate(Issued issuer, String cn, KeyPair keys) {
    Instant now = Instant.now();
    return issue(
        issuer, cn, keys, true, now.minus(Duration.ofDays(30)), now.plus(Duration.ofDays(1825)));
  }

  static Issued leaf(Issued issuer, String cn, KeyPair keys, Duration validFor, String... sans) {
    Instant now = Instant.now();
    return issue(issuer, cn, keys, false, now.minus(Duration.ofDays(1)), now.plus(validFor), sans);
  }

  static Issued issue(
      Issued issuer,
      String cn,
      KeyPair keys,
      boolean ca,
      Instant notBefore,
      Instant notAfter,
      String... sans) {
    return sign(
        issuer.certificate().getSubjectX500Principal().getName(),
        issuer.keys(),
        cn,
        keys,
        ca,
        notBefore,
        notAfter,
        List.of(sans),
        null);
  }

  /** Signs with an explicit algorithm (e.g. SHA1withRSA, which uploads must refuse). */
  static Issued issueWith(String algorithm, Issued issuer, String cn, KeyPair keys) {
    Instant now = Instant.now();
    return sign(
        issuer.certificate().getSubjectX500Principal().getName(),
        issuer.keys(),
        cn,
        keys,
        false,
        now.minus(Duration.ofDays(1)),
        now.plus(Duration.ofDays(90)),
        List.of("sha1.example.com"),
        algorithm);
  }

  private static Issued sign(
      String issuerName,
      KeyPair issuerKeys,
      String cn,
      KeyPair keys,
      boolean ca,
      Instant notBefore,
      Instant notAfter,
      List<String> sans,
      String algorithm) {
    try {
      X500Name subject = new X500Name(cn.contains("=") ? cn : "CN=" + cn);
      var builder =
          new JcaX509v3CertificateBuilder(
              new X500Name(issuerName.contains("=") ? issuerName : "CN=" + issuerName),
              new BigInteger(64, RANDOM).add(BigInteger.ONE),
              Date.from(notBefore),
              Date.from(notAfter),
              subject,
              keys.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (!sans.isEmpty()) {
        GeneralName[] names =
            sans.stream()
                .map(
                    s ->
                        s.matches("[0-9.]+|.*:.*")
                            ? new GeneralName(GeneralName.iPAddress, s)
                            : new GeneralName(GeneralName.dNSName, s))
                .toArray(GeneralName[]::new);
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      }
      String alg =
          algorithm != null
              ? algorithm
              : issuerKeys.getPrivate().getAlgorithm().equals("EC")
                  ? "SHA256withECDSA"
                  : "SHA256withRSA";
      var signer = new JcaContentSignerBuilder(alg).build(issuerKeys.getPrivate());
      X509Certificate cert =
          new JcaX509CertificateConverter().getCertificate(builder.build(signer));
      return new Issued(cert, keys);
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String write(Object o) {
    var out = new StringWriter();
    try (var w = new JcaPEMWriter(out)) {
      w.writeObject(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }
}
