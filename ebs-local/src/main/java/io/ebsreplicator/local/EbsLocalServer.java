package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.auth.SessionStore;
import io.ebsreplicator.local.auth.SigV4Verifier;
import io.ebsreplicator.local.fault.FaultInjector;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.http.ConnectionLimit;
import io.ebsreplicator.local.http.ConnectionTimeouts;
import io.ebsreplicator.local.http.EbsHttpHandler;
import io.ebsreplicator.local.http.EbsObjectAggregator;
import io.ebsreplicator.local.http.RequestGate;
import io.ebsreplicator.local.http.UploadTracker;
import io.ebsreplicator.local.service.EbsClock;
import io.ebsreplicator.local.service.EbsService;
import io.ebsreplicator.local.store.BlockStore;
import io.ebsreplicator.local.store.FileBlockStore;
import io.ebsreplicator.local.store.FileJournal;
import io.ebsreplicator.local.store.Journal;
import io.ebsreplicator.local.store.MemoryBlockStore;
import io.ebsreplicator.local.sts.AssumeRole;
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
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A running ebs-local endpoint: the EBS direct APIs, EC2 DescribeSnapshots and DeleteSnapshot, and
 * STS AssumeRole over HTTP or HTTPS, for every configured region, backed by a data directory or by
 * memory. Start with {@link #start(EbsLocalConfig)}; close to stop. Network I/O runs on two
 * event-loop threads; request handling (hashing, block reads and writes) on a separate worker
 * group, so a slow disk or a long injected stall never blocks other connections.
 */
public final class EbsLocalServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EbsLocalServer.class);

    /** A block plus headers fits; anything bigger is refused before it is buffered. */
    private static final int MAX_REQUEST_BYTES = 2 * 1024 * 1024;

    /** A request line: a path and a query with a 256-character token fit many times over. */
    private static final int MAX_INITIAL_LINE = 8192;

    /** All headers of a request: an SDK sends about 2 KiB; more is answered 431. */
    private static final int MAX_HEADER_BYTES = 65536;

    /** The largest piece of a body handed on at once (the aggregator gathers them). */
    private static final int MAX_CHUNK_BYTES = 65536;

    /**
     * Descriptors left to everything but connections (block files, the journal, jars, the JIT):
     * below this the connection limit is lowered rather than let the process run out.
     */
    private static final int RESERVED_DESCRIPTORS = 256;

    private final EbsLocalConfig config;
    private final EbsService service;
    private final SessionStore sessions;
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
    private final URI endpoint;
    private final ConnectionLimit connectionLimit;

    /** Request body bytes held before their request was authenticated, server-wide. */
    private final AtomicLong unauthenticated = RequestGate.newBudget();

    private EbsLocalServer(EbsLocalConfig config) throws IOException {
        this.config = config;
        this.faults = new FaultInjector(config.faults);
        // In memory only: a restart invalidates every session credential, as it should.
        this.sessions = new SessionStore(config.clock, config.maxSessions);
        byte[] secret;
        if (config.dataDir != null) {
            Path dir = config.dataDir;
            Files.createDirectories(dir);
            lockChannel = lockDataDir(dir);
            BlockStore fileBlocks = null;
            Journal fileJournal = null;
            EbsService started = null;
            try {
                secret = loadOrCreateSecret(dir.resolve("token.secret"));
                fileBlocks = new FileBlockStore(dir.resolve("blocks"), config.fsync);
                fileJournal = new FileJournal(dir.resolve("journal.log"), config.fsync);
                started = newService(config, faults, fileBlocks, fileJournal, secret);
            } catch (IOException | RuntimeException e) {
                // A failed start leaves the directory to the next one: unlock, close, report.
                closeQuietly(fileJournal, e);
                closeQuietly(fileBlocks, e);
                closeQuietly(lockChannel, e);
                if (e instanceof IOException io && io.getMessage() != null) {
                    throw new IOException(
                            "Cannot start on the data directory " + dir + ": " + io.getMessage(),
                            e);
                }
                throw e;
            }
            blocks = fileBlocks;
            journal = fileJournal;
            this.service = started;
        } else {
            lockChannel = null;
            secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            blocks = new MemoryBlockStore();
            journal = Journal.none();
            this.service = newService(config, faults, blocks, journal, secret);
        }

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

        SigV4Verifier verifier =
                new SigV4Verifier(config.keys, config.maxClockSkew, config.regions, sessions);
        EbsHttpHandler handler =
                new EbsHttpHandler(
                        service,
                        new AssumeRole(config.roles, sessions, config.stsMaxSession),
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
        connectionLimit = new ConnectionLimit(effectiveConnectionLimit(config.maxConnections));
        final SslContext sslContext = ssl;
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
                                        if (!connectionLimit.admit(ch)) {
                                            p.addLast(new HttpServerCodec());
                                            p.addLast(connectionLimit.refusal());
                                            return;
                                        }
                                        ConnectionTimeouts timeouts =
                                                new ConnectionTimeouts(
                                                        config.idleTimeout,
                                                        config.headerTimeout,
                                                        config.writeTimeout);
                                        p.addLast(timeouts.bytesSeen());
                                        p.addLast(
                                                new HttpServerCodec(
                                                        MAX_INITIAL_LINE,
                                                        MAX_HEADER_BYTES,
                                                        MAX_CHUNK_BYTES));
                                        p.addLast(timeouts);
                                        p.addLast(
                                                new RequestGate(
                                                        verifier,
                                                        unauthenticated,
                                                        config.maxUnauthenticatedBytes));
                                        p.addLast(new UploadTracker(uploads));
                                        p.addLast(new EbsObjectAggregator(MAX_REQUEST_BYTES));
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
            IOException failure =
                    new IOException("Cannot listen on " + config.host + ":" + config.port, e);
            closeQuietly(journal, failure);
            closeQuietly(blocks, failure);
            closeQuietly(lockChannel, failure);
            throw failure;
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

    private static EbsService newService(
            EbsLocalConfig config,
            FaultInjector faults,
            BlockStore blocks,
            Journal journal,
            byte[] secret)
            throws IOException {
        return new EbsService(
                config.regions,
                config.clock,
                config.sealDelay,
                config.blockTokenTtl,
                config.pageTokenTtl,
                config.quotas,
                faults,
                blocks,
                journal,
                secret,
                config.journalPolicy);
    }

    /**
     * Locks the data directory against a second server, in this process or another; returns the
     * channel that holds the lock until {@link #close()}.
     */
    private static FileChannel lockDataDir(Path dir) throws IOException {
        FileChannel ch =
                FileChannel.open(
                        dir.resolve("ebs-local.lock"),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
        FileLock held;
        try {
            held = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            held = null; // a server in this very process holds it
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (held == null) {
            ch.close();
            throw new IOException(
                    "Another ebs-local process (or a server in this one) is using the data"
                            + " directory "
                            + dir);
        }
        return ch;
    }

    private static void closeQuietly(java.io.Closeable c, Exception failure) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * The configured connection limit, lowered when the process's descriptor limit could not hold
     * it (each connection is a descriptor, twice over when the client runs in the same process).
     */
    private static int effectiveConnectionLimit(int configured) {
        if (ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            long fds = unix.getMaxFileDescriptorCount();
            int fit =
                    (int)
                            Math.max(
                                    16,
                                    Math.min(Integer.MAX_VALUE, (fds - RESERVED_DESCRIPTORS) / 2));
            if (fit < configured) {
                LOG.warn(
                        "Serving at most {} connections, not {}: the process may open {} files",
                        fit,
                        configured,
                        fds);
                return fit;
            }
        }
        return configured;
    }

    /** Starts a server; it serves until {@link #start(EbsLocalConfig)}'s caller closes it. */
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

    /** The session credentials STS AssumeRole has issued, for inspection by tests. */
    public SessionStore sessions() {
        return sessions;
    }

    /** The service clock; tests move it forward to expire tokens and snapshots. */
    public EbsClock clock() {
        return config.clock;
    }

    public EbsLocalStats stats() {
        return stats;
    }

    /**
     * Request body bytes the server holds before it could authenticate their requests (bodies of
     * requests whose head could not be verified alone), counted against one server-wide budget.
     */
    public long unauthenticatedBytes() {
        return unauthenticated.get();
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
                if (lockChannel != null) {
                    lockChannel.close(); // releases the lock
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
