package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SmokeTest {

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ofMillis(50))).build();

    @Test
    void roundTrip() throws Exception {
        try (var ebs = EbsClients.ebs(EBS.server(), "us-east-1");
                var ec2 = EbsClients.ec2(EBS.server(), "us-east-1")) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(1);
            byte[] b = EbsClients.block(2);
            EbsClients.put(ebs, id, 0, a);
            EbsClients.put(ebs, id, 7, b);
            EbsClients.complete(ebs, id, List.of(a, b));
            EbsClients.awaitCompleted(ec2, id);
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(id));
            assertThat(page.blocks()).extracting(x -> x.blockIndex()).containsExactly(0, 7);
            assertThat(EbsClients.get(ebs, id, 7, page.blocks().get(1).blockToken())).isEqualTo(b);
        }
    }
}
