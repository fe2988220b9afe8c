package io.marchproxy.api.certificates;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.api.problem.FieldError;
import io.marchproxy.api.problem.ProblemType;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * An uploaded certificate chain, checked: leaf first, each certificate issued (and signed) by the
 * next, the leaf valid now and with a key type Envoy serves. Holds no private key.
 */
public record CertificateChain(List<X509Certificate> certificates) {

  public static final int MAX_CERTIFICATES = 10;
  public static final int MAX_PEM_BYTES = 64 * 1024;
  static final int MAX_NAME_LENGTH = 1024;
  static final int MIN_RSA_BITS = 2048;
  static final int MAX_RSA_BITS = 8192;

  /** Named curves Envoy (BoringSSL) serves; by OID. */
  private static final Map<String, String> CURVES =
      Map.of("1.2.840.10045.3.1.7", "EC-P256", "1.3.132.0.34", "EC-P384");

  static final String ACCEPTED_KEYS =
      "MarchProxy accepts RSA ("
          + MIN_RSA_BITS
          + "-"
          + MAX_RSA_BITS
          + " bits) and ECDSA P-256 or P-384 keys";

  private static final JcaX509CertificateConverter CONVERTER = new JcaX509CertificateConverter();
  private static final SecureRandom RANDOM = new SecureRandom();

  public CertificateChain {
    certificates = List.copyOf(certificates);
  }

  /** A certificate and where in the request it came from ({@code chainPem[1]}). */
  private record Located(X509Certificate certificate, String path) {}

  /**
   * Parses {@code certificatePem} (leaf, optionally followed by intermediates) and {@code chainPem}
   * (more intermediates) and checks the chain; adds every problem to {@code checks}. Returns null
   * when the chain is not usable.
   */
  static CertificateChain parse(
      String certificatePem, String chainPem, Instant now, Checks checks) {
    if (!checks.required(certificatePem, "certificatePem")) {
      return null;
    }
    List<FieldError> errors = new ArrayList<>();
    CertificateChain chain = parse(certificatePem, chainPem, now, errors);
    errors.forEach(e -> checks.check(false, e.field(), e.message()));
    return errors.isEmpty() ? chain : null;
  }

  private static CertificateChain parse(
      String certificatePem, String chainPem, Instant now, List<FieldError> errors) {
    List<Located> all = new ArrayList<>();
    read(certificatePem, "certificatePem", all, errors);
    if (chainPem != null && !chainPem.isBlank()) {
      read(chainPem, "chainPem", all, errors);
    }
    if (!errors.isEmpty()) {
      return null;
    }
    if (all.isEmpty() || !all.getFirst().path().startsWith("certificatePem")) {
      errors.add(new FieldError("certificatePem", "holds no PEM CERTIFICATE block"));
      return null;
    }
    if (all.size() > MAX_CERTIFICATES) {
      throw new ApiException(
          ProblemType.VALIDATION_FAILED,
          "a chain holds at most " + MAX_CERTIFICATES + " certificates; got " + all.size(),
          List.of(
              new FieldError(
                  "certificatePem",
                  "with chainPem holds "
                      + all.size()
                      + " certificates; at most "
                      + MAX_CERTIFICATES
                      + " are allowed")),
          "maxChainCertificates",
          Map.of());
    }
    checkLeaf(all.getFirst().certificate(), now, errors);
    for (int i = 0; i + 1 < all.size(); i++) {
      checkIssuedBy(all.get(i), all.get(i + 1), errors);
    }
    for (Located c : all) {
      checkSignatureAlgorithm(c, errors);
    }
    return new CertificateChain(all.stream().map(Located::certificate).toList());
  }

  private static void check(boolean ok, String field, String message, List<FieldError> errors) {
    if (!ok) {
      errors.add(new FieldError(field, message));
    }
  }

  private static void read(String pem, String field, List<Located> out, List<FieldError> errors) {
    try (var parser = new PEMParser(new StringReader(pem))) {
      int index = 0;
      for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
        String path = field + "[" + index++ + "]";
        switch (block) {
          case X509CertificateHolder h -> out.add(new Located(CONVERTER.getCertificate(h), path));
          case PEMKeyPair k -> keyInCertificateField(path, errors);
          case PrivateKeyInfo k -> keyInCertificateField(path, errors);
          case PEMEncryptedKeyPair k -> keyInCertificateField(path, errors);
          case PKCS8EncryptedPrivateKeyInfo k -> keyInCertificateField(path, errors);
          default -> errors.add(new FieldError(path, "is not a CERTIFICATE block"));
        }
      }
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      errors.add(new FieldError(field, "is not valid PEM" + reason(e)));
    }
  }

  /**
   * The parser's reason ("-----END CERTIFICATE not found"), unless it could quote data: someone may
   * have pasted a key into this field.
   */
  private static String reason(Exception e) {
    String m = e.getMessage();
    return m == null || m.length() > 120 || BASE64_RUN.matcher(m).find() ? "" : " (" + m + ")";
  }

  private static final Pattern BASE64_RUN = Pattern.compile("[A-Za-z0-9+/=]{16,}");

  private static void keyInCertificateField(String path, List<FieldError> errors) {
    errors.add(
        new FieldError(path, "is a private key; send it in privateKeyPem, never with the chain"));
  }

  private static void checkLeaf(X509Certificate leaf, Instant now, List<FieldError> errors) {
    Instant notBefore = leaf.getNotBefore().toInstant();
    Instant notAfter = leaf.getNotAfter().toInstant();
    check(
        !now.isBefore(notBefore),
        "certificatePem",
        "is not valid yet: valid from " + notBefore + " (now is " + now + ")",
        errors);
    check(
        now.isBefore(notAfter),
        "certificatePem",
        "has expired: valid until " + notAfter + " (now is " + now + ")",
        errors);
    check(
        keyType(leaf.getPublicKey()) != null,
        "certificatePem",
        "has a " + describe(leaf.getPublicKey()) + " key; " + ACCEPTED_KEYS,
        errors);
    check(
        name(leaf.getSubjectX500Principal()).length() <= MAX_NAME_LENGTH
            && name(leaf.getIssuerX500Principal()).length() <= MAX_NAME_LENGTH,
        "certificatePem",
        "has a subject or issuer longer than " + MAX_NAME_LENGTH + " characters",
        errors);
  }

  private static void checkIssuedBy(Located cert, Located next, List<FieldError> errors) {
    X500Principal issuer = cert.certificate().getIssuerX500Principal();
    X500Principal subject = next.certificate().getSubjectX500Principal();
    if (!issuer.equals(subject)) {
      check(
          false,
          next.path(),
          "should be the issuer of "
              + cert.path()
              + " ("
              + name(issuer)
              + ") but is "
              + name(subject)
              + "; order the chain leaf first, then each certificate's issuer",
          errors);
      return;
    }
    try {
      cert.certificate().verify(next.certificate().getPublicKey());
    } catch (GeneralSecurityException e) {
      check(
          false,
          cert.path(),
          "is not signed by the key of " + next.path() + " (" + name(subject) + ")",
          errors);
      return;
    }
    X509Certificate issuerCert = next.certificate();
    check(
        issuerCert.getVersion() < 3 || issuerCert.getBasicConstraints() >= 0,
        next.path(),
        "is not a CA certificate, so it cannot issue " + cert.path(),
        errors);
  }

  /**
   * Clients refuse SHA-1 and MD5 signatures; a self-signed root's own signature is never checked.
   */
  private static void checkSignatureAlgorithm(Located c, List<FieldError> errors) {
    X509Certificate cert = c.certificate();
    if (cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
      return;
    }
    String alg = cert.getSigAlgName().toUpperCase(Locale.ROOT);
    check(
        !alg.contains("MD5") && !alg.contains("SHA1"),
        c.path(),
        "is signed with " + cert.getSigAlgName() + ", which clients refuse",
        errors);
  }

  public X509Certificate leaf() {
    return certificates.getFirst();
  }

  public String subject() {
    return name(leaf().getSubjectX500Principal());
  }

  public String issuer() {
    return name(leaf().getIssuerX500Principal());
  }

  public Instant notBefore() {
    return leaf().getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  /** Lower-case hex, as {@code openssl x509 -serial} prints it (without the colons). */
  public String serial() {
    return leaf().getSerialNumber().toString(16);
  }

  /** SHA-256 of the leaf's DER: what the config document and operators identify it by. */
  public String fingerprintSha256() {
    try {
      return HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256").digest(leaf().getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public String keyType() {
    return keyType(leaf().getPublicKey());
  }

  /** The leaf's DNS and IP subject alternative names, in certificate order. */
  public List<String> sans() {
    try {
      var names = leaf().getSubjectAlternativeNames();
      if (names == null) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (List<?> n : names) {
        int type = (Integer) n.get(0);
        if (type == 2 || type == 7) { // dNSName, iPAddress
          out.add(n.get(1).toString());
        }
      }
      return List.copyOf(out);
    } catch (CertificateParsingException e) {
      return List.of();
    }
  }

  /** The chain re-encoded: only CERTIFICATE blocks, whatever text surrounded them on upload. */
  public String pem() {
    var sb = new StringBuilder();
    for (X509Certificate c : certificates) {
      try {
        sb.append(pemBlock("CERTIFICATE", c.getEncoded()));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
    return sb.toString();
  }

  /**
   * Whether {@code key} is the leaf's private key: it signs a random challenge that the leaf's
   * public key verifies. Works for every key type without comparing key internals.
   */
  public boolean matches(PrivateKey key) {
    PublicKey pub = leaf().getPublicKey();
    if (!pub.getAlgorithm().equals(key.getAlgorithm())) {
      return false;
    }
    String alg =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> null;
        };
    if (alg == null) {
      return false;
    }
    try {
      byte[] challenge = new byte[32];
      RANDOM.nextBytes(challenge);
      Signature signer = Signature.getInstance(alg);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(alg);
      verifier.initVerify(pub);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** {@code RSA-2048}, {@code EC-P256}, or null when Envoy would not serve it. */
  static String keyType(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      return bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS ? "RSA-" + bits : null;
    }
    if (key.getAlgorithm().equals("EC")) {
      return CURVES.get(curveOid(key));
    }
    return null;
  }

  private static String describe(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      return rsa.getModulus().bitLength() + "-bit RSA";
    }
    if (key.getAlgorithm().equals("EC")) {
      String oid = curveOid(key);
      return "EC (curve " + (oid == null ? "with explicit parameters" : oid) + ")";
    }
    return key.getAlgorithm();
  }

  private static String curveOid(PublicKey key) {
    ASN1ObjectIdentifier oid =
        PrivateKeyPem.namedCurve(
            SubjectPublicKeyInfo.getInstance(key.getEncoded()).getAlgorithm().getParameters());
    return oid == null ? null : oid.getId();
  }

  static String name(X500Principal p) {
    return p.getName(X500Principal.RFC2253);
  }

  static String pemBlock(String type, byte[] der) {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }
}
