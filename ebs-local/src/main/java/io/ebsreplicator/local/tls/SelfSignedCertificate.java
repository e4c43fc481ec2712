package io.ebsreplicator.local.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;

/**
 * The self-signed certificate ebs-local serves HTTPS with: valid for {@code localhost} and {@code
 * 127.0.0.1}, kept in the data directory so clients that trust it keep trusting it after a restart.
 */
public record SelfSignedCertificate(PrivateKey key, X509Certificate certificate) {

    private static final char[] STORE_PASSWORD = "ebs-local".toCharArray();

    /** Loads the pair from {@code dir}, or makes one and stores it there. */
    public static SelfSignedCertificate loadOrCreate(Path dir) throws IOException {
        Path store = dir.resolve("keystore.p12");
        try {
            if (Files.exists(store)) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(store)) {
                    ks.load(in, STORE_PASSWORD);
                }
                return new SelfSignedCertificate(
                        (PrivateKey) ks.getKey("ebs-local", STORE_PASSWORD),
                        (X509Certificate) ks.getCertificate("ebs-local"));
            }
            SelfSignedCertificate c = create();
            Files.createDirectories(dir);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("ebs-local", c.key, STORE_PASSWORD, new Certificate[] {c.certificate});
            Path tmp = dir.resolve("keystore.p12.tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                ks.store(out, STORE_PASSWORD);
            }
            Files.move(tmp, store, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            c.writePem(dir.resolve("cert.pem"));
            return c;
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot load or create the TLS certificate in " + dir, e);
        }
    }

    public static SelfSignedCertificate create() throws IOException {
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
            kpg.initialize(256);
            KeyPair kp = kpg.generateKeyPair();
            X500Name name = new X500Name("CN=ebs-local");
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b =
                    new JcaX509v3CertificateBuilder(
                            name,
                            new BigInteger(64, new SecureRandom()),
                            Date.from(now.minus(Duration.ofDays(1))),
                            Date.from(now.plus(Duration.ofDays(3650))),
                            name,
                            kp.getPublic());
            b.addExtension(
                    Extension.subjectAlternativeName,
                    false,
                    new GeneralNames(
                            new GeneralName[] {
                                new GeneralName(GeneralName.dNSName, "localhost"),
                                new GeneralName(GeneralName.iPAddress, "127.0.0.1")
                            }));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            X509Certificate cert =
                    new JcaX509CertificateConverter()
                            .getCertificate(
                                    b.build(
                                            new JcaContentSignerBuilder("SHA256withECDSA")
                                                    .build(kp.getPrivate())));
            return new SelfSignedCertificate(kp.getPrivate(), cert);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IOException("Cannot create a self-signed certificate", e);
        }
    }

    /** Writes the certificate as PEM, for clients to trust (AWS CLI {@code --ca-bundle}). */
    public void writePem(Path file) throws IOException {
        try {
            String pem =
                    "-----BEGIN CERTIFICATE-----\n"
                            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                                    .encodeToString(certificate.getEncoded())
                            + "\n-----END CERTIFICATE-----\n";
            Files.writeString(file, pem, StandardCharsets.US_ASCII);
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }
}
