package io.ebsreplicator.job;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.runtime.rpc.RpcSystemLoader;
import org.apache.flink.runtime.rpc.exceptions.RpcLoaderException;

import java.util.ServiceLoader;

/**
 * Loads Flink's Pekko RPC system from the class path of {@code ebs-replicator.jar}, which carries
 * it, for the embedded MiniCluster of {@code java -jar}. Runs in that JVM, once per cluster start.
 *
 * <p>Flink's own loader copies the 21 MB RPC jar it nests into a new temporary file on every start
 * and loads Pekko and Scala through a class loader of its own, from a path that changes every time:
 * a few hundred milliseconds of copying, and classes that a class-data sharing archive cannot hold.
 * From the application class path they load once into the archive. Where the RPC system is not on
 * this class path (the cluster job jar, tests), this loader declines and Flink's own takes over; a
 * Flink cluster never asks it.
 */
public final class ClassPathRpcSystemLoader implements RpcSystemLoader {

    /** Before Flink's own loader (priority 0). */
    @Override
    public int getLoadPriority() {
        return -1;
    }

    @Override
    public RpcSystem loadRpcSystem(Configuration config) {
        return ServiceLoader.load(RpcSystem.class, ClassPathRpcSystemLoader.class.getClassLoader())
                .findFirst()
                .orElseThrow(
                        () ->
                                new RpcLoaderException(
                                        "No RPC system on the application class path"));
    }
}
