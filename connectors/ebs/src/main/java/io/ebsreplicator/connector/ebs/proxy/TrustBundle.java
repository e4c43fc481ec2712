package io.ebsreplicator.connector.ebs.proxy;

import software.amazon.awssdk.http.TlsTrustManagersProvider;

import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Trust for HTTPS endpoints: the JDK's own trust store plus the certificates of a PEM bundle
 * ({@code ebs.tls.ca-bundle}), so a job can talk to AWS and to a private endpoint at once. Built
 * with the proxy, where it runs.
 */
final class TrustBundle {

    private TrustBundle() {}

    static TlsTrustManagersProvider provider(Path pem) {
        X509TrustManager combined = combined(pem);
        return () -> new TrustManager[] {combined};
    }

    static X509TrustManager combined(Path pem) {
        try {
            KeyStore bundle = KeyStore.getInstance(KeyStore.getDefaultType());
            bundle.load(null, null);
            int n = 0;
            try (InputStream in = Files.newInputStream(pem)) {
                for (Certificate c :
                        CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    bundle.setCertificateEntry("bundle-" + n++, c);
                }
            }
            if (n == 0) {
                throw new IllegalArgumentException("No certificate in the CA bundle " + pem);
            }
            X509TrustManager own = x509(bundle);
            X509TrustManager jdk = x509(null);
            return new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType)
                        throws CertificateException {
                    jdk.checkClientTrusted(chain, authType);
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType)
                        throws CertificateException {
                    try {
                        own.checkServerTrusted(chain, authType);
                    } catch (CertificateException e) {
                        jdk.checkServerTrusted(chain, authType);
                    }
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    List<X509Certificate> all = new ArrayList<>(List.of(jdk.getAcceptedIssuers()));
                    all.addAll(List.of(own.getAcceptedIssuers()));
                    return all.toArray(new X509Certificate[0]);
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the CA bundle " + pem, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("Cannot use the CA bundle " + pem + ": " + e, e);
        }
    }

    private static X509TrustManager x509(KeyStore store) throws GeneralSecurityException {
        TrustManagerFactory f =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        f.init(store);
        for (TrustManager tm : f.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("No X.509 trust manager");
    }
}
