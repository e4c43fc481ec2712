package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.auth.SigV4Verifier;
import io.ebsreplicator.local.fault.FaultInjector;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.http.BodyTimeoutHandler;
import io.ebsreplicator.local.http.EbsHttpHandler;
import io.ebsreplicator.local.http.UploadTracker;
import io.ebsreplicator.local.service.EbsClock;
import io.ebsreplicator.local.service.EbsService;
import io.ebsreplicator.local.store.BlockStore;
import io.ebsreplicator.local.store.FileBlockStore;
import io.ebsreplicator.local.store.FileJournal;
import io.ebsreplicator.local.store.Journal;
import io.ebsreplicator.local.store.MemoryBlockStore;
import io.ebsreplicator.local.tls.SelfSignedCertificate;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/**
 * A running ebs-local endpoint: the EBS direct APIs and EC2 DescribeSnapshots over HTTP or HTTPS,
 * for every configured region, backed by a data directory or by memory. Start with {@link
 * #start(EbsLocalConfig)}; close to stop. Network I/O runs on two event-loop threads; request
 * handling (hashing, block reads and writes) on a separate worker group, so a slow disk or a long
 * injected stall never blocks other connections.
 */
public final class EbsLocalServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EbsLocalServer.class);

    /** A block plus headers fits; anything bigger is refused before it is buffered. */
    private static final int MAX_REQUEST_BYTES = 2 * 1024 * 1024;

    private final EbsLocalConfig config;
    private final EbsService service;
    private final FaultInjector faults;
    private final EbsLocalStats stats = new EbsLocalStats();
    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private final EventExecutorGroup workers;
    private final Channel channel;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final SelfSignedCertificate certificate;
    private final Path certificatePem;
    private final BlockStore blocks;
    private final Journal journal;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final URI endpoint;

    private EbsLocalServer(EbsLocalConfig config) throws IOException {
        this.config = config;
        this.faults = new FaultInjector(config.faults);
        byte[] secret;
        if (config.dataDir != null) {
            Path dir = config.dataDir;
            Files.createDirectories(dir);
            lockChannel =
                    FileChannel.open(
                            dir.resolve("ebs-local.lock"),
                            StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE);
            lock = lockChannel.tryLock();
            if (lock == null) {
                lockChannel.close();
                throw new IOException(
                        "Another ebs-local process is using the data directory " + dir);
            }
            secret = loadOrCreateSecret(dir.resolve("token.secret"));
            blocks = new FileBlockStore(dir.resolve("blocks"), config.fsync);
            journal = new FileJournal(dir.resolve("journal.log"), config.fsync);
        } else {
            lockChannel = null;
            lock = null;
            secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            blocks = new MemoryBlockStore();
            journal = Journal.none();
        }
        this.service =
                new EbsService(
                        config.regions,
                        config.clock,
                        config.sealDelay,
                        config.blockTokenTtl,
                        config.pageTokenTtl,
                        config.quotas,
                        faults,
                        blocks,
                        journal,
                        secret);

        SslContext ssl = null;
        if (config.tls) {
            if (config.dataDir != null) {
                certificate = SelfSignedCertificate.loadOrCreate(config.dataDir.resolve("tls"));
                certificatePem = config.dataDir.resolve("tls").resolve("cert.pem");
            } else {
                certificate = SelfSignedCertificate.create();
                certificatePem = Files.createTempFile("ebs-local-cert", ".pem");
                certificatePem.toFile().deleteOnExit();
                certificate.writePem(certificatePem);
            }
            ssl = SslContextBuilder.forServer(certificate.key(), certificate.certificate()).build();
        } else {
            certificate = null;
            certificatePem = null;
        }

        SigV4Verifier verifier = new SigV4Verifier(config.keys, config.maxClockSkew);
        EbsHttpHandler handler =
                new EbsHttpHandler(
                        service,
                        verifier,
                        faults,
                        e -> {
                            if (e instanceof EbsHttpHandler.Event.Request r) {
                                stats.request(r.op());
                            } else if (e instanceof EbsHttpHandler.Event.Error err) {
                                stats.error(err.type(), err.reason());
                            } else if (e instanceof EbsHttpHandler.Event.Fault f) {
                                stats.fault(f.disruption());
                            } else {
                                stats.corruptedRead();
                            }
                        });
        boss = new NioEventLoopGroup(1);
        io = new NioEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()));
        workers = new DefaultEventExecutorGroup(config.workerThreads);
        final SslContext sslContext = ssl;
        final long writeTimeoutMillis = config.writeTimeout.toMillis();
        final var uploads = UploadTracker.newRegistry();
        ServerBootstrap b =
                new ServerBootstrap()
                        .group(boss, io)
                        .channel(NioServerSocketChannel.class)
                        .option(ChannelOption.SO_BACKLOG, 1024)
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        // Blocks are 512 KiB: read them in large pieces rather than 2 KiB ones.
                        .childOption(
                                ChannelOption.RCVBUF_ALLOCATOR,
                                new AdaptiveRecvByteBufAllocator(4096, 65536, 1024 * 1024))
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        connections.add(ch);
                                        ChannelPipeline p = ch.pipeline();
                                        if (sslContext != null) {
                                            p.addLast(sslContext.newHandler(ch.alloc()));
                                        }
                                        p.addLast(new HttpServerCodec(8192, 65536, 65536));
                                        p.addLast(new BodyTimeoutHandler(writeTimeoutMillis));
                                        p.addLast(new UploadTracker(uploads));
                                        p.addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES));
                                        p.addLast(workers, handler);
                                    }
                                });
        try {
            channel = b.bind(config.host, config.port).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("Interrupted while binding", e);
        } catch (Exception e) {
            shutdownGroups();
            throw new IOException("Cannot listen on " + config.host + ":" + config.port, e);
        }
        int port = ((InetSocketAddress) channel.localAddress()).getPort();
        String host = config.host.contains(":") ? "[" + config.host + "]" : config.host;
        endpoint = URI.create((config.tls ? "https" : "http") + "://" + host + ":" + port);
        LOG.info(
                "ebs-local serving {} for regions {} from {}",
                endpoint,
                config.regions,
                config.dataDir == null ? "memory" : config.dataDir);
    }

    /** Starts a server; it serves until {@link #close()}. */
    public static EbsLocalServer start(EbsLocalConfig config) throws IOException {
        return new EbsLocalServer(config);
    }

    private static byte[] loadOrCreateSecret(Path file) throws IOException {
        if (Files.exists(file)) {
            byte[] s = Files.readAllBytes(file);
            if (s.length == 32) {
                return s;
            }
            throw new IOException(file + " is damaged (expected 32 bytes, found " + s.length + ")");
        }
        byte[] s = new byte[32];
        new SecureRandom().nextBytes(s);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, s);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        return s;
    }

    /** The base URL clients use as their endpoint override, e.g. {@code http://127.0.0.1:4567}. */
    public URI endpoint() {
        return endpoint;
    }

    public int port() {
        return endpoint.getPort();
    }

    public EbsLocalConfig config() {
        return config;
    }

    /** The service behind the endpoint, for inspection by tests and tools. */
    public EbsService service() {
        return service;
    }

    /** The service clock; tests move it forward to expire tokens and snapshots. */
    public EbsClock clock() {
        return config.clock;
    }

    public EbsLocalStats stats() {
        return stats;
    }

    public FaultProfile faults() {
        return faults.profile();
    }

    /** Replaces the fault profile; takes effect for the next request. */
    public void setFaults(FaultProfile profile) {
        faults.set(profile);
    }

    /** The key pair clients should sign with (the first configured one). */
    public AccessKey accessKey() {
        return config.keys.get(0);
    }

    /** The certificate served over HTTPS, or {@code null} over HTTP. */
    public X509Certificate certificate() {
        return certificate == null ? null : certificate.certificate();
    }

    /** The certificate as a PEM file, for clients to trust, or {@code null} over HTTP. */
    public Path certificatePem() {
        return certificatePem;
    }

    @Override
    public void close() {
        try {
            channel.close().syncUninterruptibly();
        } finally {
            shutdownGroups();
            try {
                journal.close();
                blocks.close();
                if (lock != null) {
                    lock.release();
                    lockChannel.close();
                }
            } catch (IOException e) {
                LOG.warn("Error while closing the data directory", e);
            }
        }
    }

    /**
     * Connections first, then the I/O loops, then the workers: closing a connection still runs its
     * handlers on the worker group, which must outlive the I/O loops.
     */
    private void shutdownGroups() {
        connections.close().syncUninterruptibly();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        io.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boss.terminationFuture().syncUninterruptibly();
        io.terminationFuture().syncUninterruptibly();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.terminationFuture().syncUninterruptibly();
    }
}
