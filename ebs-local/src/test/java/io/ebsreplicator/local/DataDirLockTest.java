package io.ebsreplicator.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** One data directory, one server: a second one in the same process is refused cleanly. */
class DataDirLockTest {

    @TempDir Path dataDir;

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void aSecondServerOnTheDirectoryInOneProcessFailsWithAMessageAndLeaksNothing()
            throws Exception {
        EbsLocalConfig config = EbsLocalConfig.builder().dataDir(dataDir).build();
        try (EbsLocalServer first = EbsLocalServer.start(config)) {
            long before = openDescriptors();
            for (int i = 0; i < 20; i++) {
                Throwable t = catchThrowable(() -> EbsLocalServer.start(config).close());
                assertThat(t)
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("is using the data directory")
                        .hasMessageContaining(dataDir.toString());
            }
            assertThat(openDescriptors())
                    .as("no lock channel left open by 20 refused starts")
                    .isLessThan(before + 5);
            try (EbsClient ebs = EbsClients.ebs(first, "us-east-1")) {
                assertThat(EbsClients.start(ebs, 1, null).snapshotId()).startsWith("snap-");
            }
        }
        // Once the first is closed, the directory is free again.
        try (EbsLocalServer again = EbsLocalServer.start(config)) {
            assertThat(again.service().snapshots("us-east-1")).hasSize(1);
        }
    }
}
