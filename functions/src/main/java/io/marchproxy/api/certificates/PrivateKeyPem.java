package io.marchproxy.api.certificates;

import io.marchproxy.api.problem.FieldError;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X962Parameters;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads one unencrypted private key from PEM: PKCS#8 ({@code PRIVATE KEY}) or the traditional
 * OpenSSL forms ({@code RSA PRIVATE KEY}, {@code EC PRIVATE KEY}, optionally after {@code EC
 * PARAMETERS}). Error messages never quote the input: it is a secret.
 */
final class PrivateKeyPem {

  static final String FIELD = "privateKeyPem";

  private PrivateKeyPem() {}

  /** The key, or null with the reasons added to {@code errors}. */
  static PrivateKey parse(String pem, List<FieldError> errors) {
    List<PrivateKeyInfo> keys = new ArrayList<>();
    try (var parser = new PEMParser(new StringReader(pem))) {
      for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
        switch (block) {
          case PrivateKeyInfo info -> keys.add(info);
          case PEMKeyPair pair -> keys.add(pair.getPrivateKeyInfo());
          case ASN1ObjectIdentifier curve -> {} // the EC PARAMETERS block `openssl ecparam` emits
          case PEMEncryptedKeyPair e -> encrypted(errors);
          case PKCS8EncryptedPrivateKeyInfo e -> encrypted(errors);
          case X509CertificateHolder c ->
              errors.add(
                  new FieldError(FIELD, "holds a certificate; send it in certificatePem instead"));
          default ->
              errors.add(new FieldError(FIELD, "holds a PEM block that is not a private key"));
        }
      }
    } catch (IOException | RuntimeException e) {
      // Never e.getMessage(): a parser could quote what it could not read.
      errors.add(new FieldError(FIELD, "is not a valid PEM private key"));
      return null;
    }
    if (!errors.isEmpty()) {
      return null;
    }
    if (keys.size() != 1) {
      errors.add(
          new FieldError(
              FIELD,
              keys.isEmpty()
                  ? "holds no PEM private key"
                  : "must hold exactly one private key; it holds " + keys.size()));
      return null;
    }
    PrivateKeyInfo info = keys.getFirst();
    ASN1ObjectIdentifier alg = info.getPrivateKeyAlgorithm().getAlgorithm();
    String jcaName =
        alg.equals(PKCSObjectIdentifiers.rsaEncryption)
            ? "RSA"
            : alg.equals(X9ObjectIdentifiers.id_ecPublicKey) ? "EC" : null;
    if (jcaName == null) {
      errors.add(
          new FieldError(
              FIELD,
              "is a "
                  + alg.getId()
                  + " key, which is not supported; "
                  + CertificateChain.ACCEPTED_KEYS));
      return null;
    }
    try {
      if (jcaName.equals("EC")) {
        info = withoutInnerCurve(info);
        if (info == null) {
          errors.add(
              new FieldError(
                  FIELD, "does not name a known curve; " + CertificateChain.ACCEPTED_KEYS));
          return null;
        }
      }
      return KeyFactory.getInstance(jcaName)
          .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      errors.add(new FieldError(FIELD, "is not a valid " + jcaName + " private key"));
      return null;
    }
  }

  /**
   * The JDK wants the curve only in the algorithm identifier, while OpenSSL's traditional form (and
   * some PKCS#8 writers) repeat it inside the key. Rebuilds the key without the inner copy; null
   * when the curve is not a named one.
   */
  private static PrivateKeyInfo withoutInnerCurve(PrivateKeyInfo info) throws IOException {
    ECPrivateKey key = ECPrivateKey.getInstance(info.parsePrivateKey());
    ASN1Encodable params = info.getPrivateKeyAlgorithm().getParameters();
    ASN1ObjectIdentifier curve = namedCurve(params != null ? params : key.getParameters());
    X9ECParameters named = curve == null ? null : ECNamedCurveTable.getByOID(curve);
    if (named == null) {
      return null;
    }
    return new PrivateKeyInfo(
        new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, curve),
        new ECPrivateKey(named.getN().bitLength(), key.getKey(), key.getPublicKey(), null));
  }

  /** The OID of a named curve, from EC parameters in any of their encodings; else null. */
  static ASN1ObjectIdentifier namedCurve(ASN1Encodable params) {
    if (params == null) {
      return null;
    }
    try {
      X962Parameters x962 = X962Parameters.getInstance(params);
      return x962.isNamedCurve() ? ASN1ObjectIdentifier.getInstance(x962.getParameters()) : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static void encrypted(List<FieldError> errors) {
    errors.add(
        new FieldError(
            FIELD,
            "is encrypted with a passphrase; upload it unencrypted (MarchProxy encrypts it at rest)"));
  }

  /** The key as PKCS#8 PEM: the one form stored (sealed) and handed to Envoy. */
  static byte[] encode(PrivateKey key) {
    return CertificateChain.pemBlock("PRIVATE KEY", key.getEncoded())
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Reads back what {@link #encode} stored. */
  static PrivateKey decode(byte[] pem) {
    List<FieldError> errors = new ArrayList<>();
    PrivateKey key = parse(new String(pem, StandardCharsets.US_ASCII), errors);
    if (key == null) {
      throw new IllegalStateException("a stored certificate key is unreadable");
    }
    return key;
  }
}
