package io.ebsreplicator.job.kafka;

import java.util.Arrays;
import java.util.Optional;

/**
 * Main class of the broker JVM that {@link KafkaBroker} starts: runs {@code kafka.Kafka} unchanged,
 * and halts that JVM as soon as the JVM that started it is gone.
 *
 * <p>Runs in the broker JVM, never in the test JVM. Without the guard a test JVM killed by a
 * timeout (surefire's fork, an IDE's stop button) would leave a broker running on the machine,
 * holding its ports and its share of the two cores.
 */
public final class KafkaBrokerMain {

    private KafkaBrokerMain() {}

    /**
     * Usage: {@code KafkaBrokerMain <parent pid> <server.properties> [more kafka.Kafka args]}.
     *
     * @param args the pid of the JVM to outlive by no more than a moment, then the arguments of
     *     {@code kafka.Kafka}
     */
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println(
                    "usage: KafkaBrokerMain <parent pid> <server.properties> [kafka.Kafka args]");
            System.exit(2);
        }
        long parentPid = Long.parseLong(args[0]);
        Optional<ProcessHandle> parent = ProcessHandle.of(parentPid);
        if (parent.isEmpty()) {
            System.err.println("parent process " + parentPid + " is already gone; not starting");
            System.exit(3);
        }
        // halt, not exit: an orphan has nobody to shut down cleanly for, and a broker must survive
        // a hard stop anyway (that is what KafkaBroker#kill tests).
        parent.get()
                .onExit()
                .thenRun(
                        () -> {
                            System.err.println(
                                    "parent process " + parentPid + " exited; halting the broker");
                            Runtime.getRuntime().halt(4);
                        });
        kafka.Kafka.main(Arrays.copyOfRange(args, 1, args.length));
    }
}
