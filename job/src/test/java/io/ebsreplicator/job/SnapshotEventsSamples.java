package io.ebsreplicator.job;

import java.io.IOException;
import java.io.InputStream;

/** The EventBridge samples of the AWS documentation, kept as test resources. */
final class SnapshotEventsSamples {

    private SnapshotEventsSamples() {}

    static byte[] bytes(String name) throws IOException {
        try (InputStream in =
                SnapshotEventsSamples.class.getResourceAsStream("/eventbridge/" + name + ".json")) {
            if (in == null) {
                throw new IOException("no sample " + name);
            }
            return in.readAllBytes();
        }
    }
}
