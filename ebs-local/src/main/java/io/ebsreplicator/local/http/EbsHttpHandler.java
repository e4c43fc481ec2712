package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.auth.SigV4Verifier;
import io.ebsreplicator.local.ec2.DeleteSnapshot;
import io.ebsreplicator.local.ec2.DescribeSnapshots;
import io.ebsreplicator.local.fault.FaultInjector;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;
import io.ebsreplicator.local.service.Caller;
import io.ebsreplicator.local.service.Digest;
import io.ebsreplicator.local.service.EbsService;
import io.ebsreplicator.local.service.ServiceResults.BlockPage;
import io.ebsreplicator.local.service.ServiceResults.ChangePage;
import io.ebsreplicator.local.service.ServiceResults.ListedBlock;
import io.ebsreplicator.local.service.ServiceResults.ListedChange;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;
import io.ebsreplicator.local.service.StartSnapshotParams;
import io.ebsreplicator.local.service.Tag;
import io.ebsreplicator.local.sts.AssumeRole;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Serves one request at a time per connection: injects the configured faults, verifies the
 * signature, routes to {@link EbsService}, {@link DescribeSnapshots}, {@link DeleteSnapshot} or
 * {@link AssumeRole}, and renders the result or the error in the format of the API called. Shared
 * by all connections; runs on the server's worker executor group, never on the I/O threads, because
 * it hashes, reads and writes blocks.
 */
@ChannelHandler.Sharable
public final class EbsHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(EbsHttpHandler.class);

    private final EbsService service;
    private final DescribeSnapshots describeSnapshots;
    private final DeleteSnapshot deleteSnapshot;
    private final AssumeRole assumeRole;
    private final SigV4Verifier verifier;
    private final FaultInjector faults;
    private final Consumer<Event> events;

    /** What the handler reports for statistics. */
    public sealed interface Event {
        record Request(Operation op) implements Event {}

        record Error(String type, String reason) implements Event {}

        record Fault(Disruption disruption) implements Event {}

        record CorruptedRead() implements Event {}
    }

    public EbsHttpHandler(
            EbsService service,
            AssumeRole assumeRole,
            SigV4Verifier verifier,
            FaultInjector faults,
            Consumer<Event> events) {
        super(false);
        this.service = service;
        this.describeSnapshots = new DescribeSnapshots(service);
        this.deleteSnapshot = new DeleteSnapshot(service);
        this.assumeRole = assumeRole;
        this.verifier = verifier;
        this.faults = faults;
        this.events = events;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        long delay = faults.latencyMillis();
        if (delay > 0) {
            ctx.executor().schedule(() -> handle(ctx, req), delay, TimeUnit.MILLISECONDS);
        } else {
            handle(ctx, req);
        }
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        HttpRequestView view = new HttpRequestView(req);
        Operation.Api format = Operation.Api.EBS;
        FullHttpResponse response;
        try {
            List<Map.Entry<String, String>> queryParams = null;
            String action = null;
            if (view.rawPath().equals("/") || view.rawPath().isEmpty()) {
                format = Route.queryFormat(null, view.header("Authorization"));
                queryParams =
                        req.method().name().equals("POST")
                                ? HttpRequestView.parseQuery(
                                        new String(view.body(), StandardCharsets.UTF_8), true)
                                : view.queryParameters();
                action = queryAction(queryParams);
                format = Route.queryFormat(action, view.header("Authorization"));
            }
            Route route = Route.of(req.method().name(), view.pathSegments(), action);
            events.accept(new Event.Request(route.operation()));
            Disruption disruption = faults.draw(route.operation());
            if (disruption == Disruption.RESET) {
                events.accept(new Event.Fault(disruption));
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                ctx.close();
                return;
            }
            if (disruption == Disruption.STALL) {
                events.accept(new Event.Fault(disruption));
                ctx.executor()
                        .schedule(
                                () -> {
                                    ctx.close();
                                },
                                faults.profile().stallMs(),
                                TimeUnit.MILLISECONDS);
                return;
            }
            SigV4Verifier.Verified who = verifier.verify(view, view::bodySha256Hex);
            if (!who.service().equals(route.service())) {
                throw EbsError.authFailure(
                        "InvalidSignatureException",
                        "Credential should be scoped to correct service: '"
                                + route.service()
                                + "'.");
            }
            Caller caller = new Caller(who.key().accountId(), who.region());
            injectError(disruption);
            response =
                    switch (route.operation().api()) {
                        case EBS ->
                                dispatch(
                                        route,
                                        caller,
                                        view,
                                        ctx.alloc(),
                                        Boolean.TRUE.equals(
                                                ctx.channel().attr(UploadTracker.CONFLICT).get()));
                        case EC2 -> ec2(route, caller, queryParams);
                        case STS -> assumeRole.handle(who, queryParams);
                    };
        } catch (EbsError e) {
            events.accept(new Event.Error(e.type(), e.reason()));
            response = Responses.error(format, e);
        } catch (RuntimeException e) {
            EbsError err =
                    EbsError.internal(
                            LOG, "An internal error has occurred while serving the request", e);
            events.accept(new Event.Error(err.type(), null));
            response = Responses.error(format, err);
        } finally {
            req.release();
        }
        write(ctx, response, keepAlive);
    }

    private FullHttpResponse ec2(
            Route route, Caller caller, List<Map.Entry<String, String>> params) {
        return route.operation() == Operation.DELETE_SNAPSHOT
                ? deleteSnapshot.handle(caller, params)
                : describeSnapshots.handle(caller, params);
    }

    /** The {@code Action} of a Query request, or empty when it names none. */
    private static String queryAction(List<Map.Entry<String, String>> params) {
        for (Map.Entry<String, String> e : params) {
            if (e.getKey().equals("Action")) {
                return e.getValue();
            }
        }
        return "";
    }

    private void injectError(Disruption d) {
        if (d == Disruption.NONE) {
            return;
        }
        events.accept(new Event.Fault(d));
        switch (d) {
            case THROTTLE ->
                    throw EbsError.throttled(
                            faults.profile().throttleReason(),
                            "Request throttled (injected fault).");
            case SERVER_ERROR ->
                    throw EbsError.internal("An internal error has occurred (injected fault).");
            case READ_FAILURE -> throw EbsError.invalidParameter("Failed to read block data");
            case CONCURRENT_LIMIT ->
                    throw EbsError.concurrentLimit(
                            "You have reached the limit for concurrent API requests (injected fault).");
            default -> throw new IllegalStateException("Unexpected disruption " + d);
        }
    }

    private static void write(
            ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
        if (keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(response);
        } else {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private FullHttpResponse dispatch(
            Route route,
            Caller caller,
            HttpRequestView req,
            ByteBufAllocator alloc,
            boolean uploadConflict) {
        switch (route.operation()) {
            case START_SNAPSHOT:
                return startSnapshot(caller, req);
            case PUT_SNAPSHOT_BLOCK:
                {
                    Digest digest =
                            service.putSnapshotBlock(
                                    caller,
                                    route.snapshotId(),
                                    route.blockIndex(),
                                    req.bodyBuffers(),
                                    req.bodyLength(),
                                    req.bodyDigest(),
                                    req.header("x-amz-Data-Length"),
                                    req.header("x-amz-Checksum"),
                                    req.header("x-amz-Checksum-Algorithm"),
                                    req.header("x-amz-Progress"),
                                    req.header("Content-Encoding"),
                                    uploadConflict);
                    FullHttpResponse r = Responses.empty(201);
                    r.headers().set("x-amz-Checksum", digest.base64());
                    r.headers().set("x-amz-Checksum-Algorithm", "SHA256");
                    return r;
                }
            case GET_SNAPSHOT_BLOCK:
                {
                    Digest digest =
                            service.getSnapshotBlock(
                                    caller,
                                    route.snapshotId(),
                                    route.blockIndex(),
                                    req.queryParameter("blockToken"));
                    // Read from the store straight into a pooled direct buffer Netty sends from.
                    ByteBuf data = alloc.directBuffer(Snapshot.BLOCK_SIZE);
                    try {
                        service.readBlock(digest, data.nioBuffer(0, Snapshot.BLOCK_SIZE));
                        data.writerIndex(Snapshot.BLOCK_SIZE);
                    } catch (RuntimeException e) {
                        data.release();
                        throw e;
                    }
                    if (faults.corruptRead()) {
                        events.accept(new Event.CorruptedRead());
                        int pos = ThreadLocalRandom.current().nextInt(Snapshot.BLOCK_SIZE);
                        data.setByte(pos, data.getByte(pos) ^ 0x5a);
                    }
                    FullHttpResponse r = Responses.bytes(200, "application/octet-stream", data);
                    r.headers().setInt("x-amz-Data-Length", Snapshot.BLOCK_SIZE);
                    r.headers().set("x-amz-Checksum", digest.base64());
                    r.headers().set("x-amz-Checksum-Algorithm", "SHA256");
                    return r;
                }
            case LIST_SNAPSHOT_BLOCKS:
                {
                    BlockPage page =
                            service.listSnapshotBlocks(
                                    caller,
                                    route.snapshotId(),
                                    req.queryParameter("maxResults"),
                                    req.queryParameter("startingBlockIndex"),
                                    req.queryParameter("pageToken"));
                    ObjectNode body = Responses.JSON.createObjectNode();
                    ArrayNode blocks = body.putArray("Blocks");
                    for (ListedBlock b : page.blocks()) {
                        blocks.addObject()
                                .put("BlockIndex", b.blockIndex())
                                .put("BlockToken", b.blockToken());
                    }
                    pageCommon(body, page.expiryTime(), page.volumeSizeGib(), page.nextToken());
                    return Responses.json(200, body);
                }
            case LIST_CHANGED_BLOCKS:
                {
                    ChangePage page =
                            service.listChangedBlocks(
                                    caller,
                                    route.snapshotId(),
                                    req.queryParameter("firstSnapshotId"),
                                    req.queryParameter("maxResults"),
                                    req.queryParameter("startingBlockIndex"),
                                    req.queryParameter("pageToken"));
                    ObjectNode body = Responses.JSON.createObjectNode();
                    ArrayNode blocks = body.putArray("ChangedBlocks");
                    for (ListedChange c : page.changes()) {
                        ObjectNode o = blocks.addObject().put("BlockIndex", c.blockIndex());
                        if (c.firstBlockToken() != null) {
                            o.put("FirstBlockToken", c.firstBlockToken());
                        }
                        if (c.secondBlockToken() != null) {
                            o.put("SecondBlockToken", c.secondBlockToken());
                        }
                    }
                    pageCommon(body, page.expiryTime(), page.volumeSizeGib(), page.nextToken());
                    return Responses.json(200, body);
                }
            case COMPLETE_SNAPSHOT:
                {
                    SnapshotStatus status =
                            service.completeSnapshot(
                                    caller,
                                    route.snapshotId(),
                                    req.header("x-amz-ChangedBlocksCount"),
                                    req.header("x-amz-Checksum"),
                                    req.header("x-amz-Checksum-Algorithm"),
                                    req.header("x-amz-Checksum-Aggregation-Method"));
                    ObjectNode body = Responses.JSON.createObjectNode();
                    body.put("Status", status.wire());
                    return Responses.json(202, body);
                }
            default:
                throw new IllegalStateException("Unrouted " + route);
        }
    }

    private static void pageCommon(ObjectNode body, Instant expiry, long volumeSize, String next) {
        body.put("ExpiryTime", expiry.getEpochSecond());
        body.put("VolumeSize", volumeSize);
        body.put("BlockSize", Snapshot.BLOCK_SIZE);
        if (next != null) {
            body.put("NextToken", next);
        }
    }

    private FullHttpResponse startSnapshot(Caller caller, HttpRequestView req) {
        JsonNode json;
        try {
            byte[] body = req.body();
            json =
                    body.length == 0
                            ? Responses.JSON.createObjectNode()
                            : Responses.JSON.readTree(body);
        } catch (Exception e) {
            throw EbsError.serialization("The request body is not valid JSON: " + e.getMessage());
        }
        if (json == null || !json.isObject()) {
            throw EbsError.serialization("The request body must be a JSON object.");
        }
        List<Tag> tags = new ArrayList<>();
        JsonNode tagsNode = json.get("Tags");
        if (tagsNode != null && !tagsNode.isNull()) {
            if (!tagsNode.isArray()) {
                throw EbsError.serialization("Tags must be a list.");
            }
            for (JsonNode t : tagsNode) {
                tags.add(new Tag(text(t, "Key"), t.hasNonNull("Value") ? text(t, "Value") : ""));
            }
        }
        JsonNode enc = json.get("Encrypted");
        boolean encryptedPresent = enc != null && !enc.isNull();
        if (encryptedPresent && !enc.isBoolean()) {
            throw EbsError.serialization("Encrypted must be a boolean.");
        }
        StartSnapshotParams p =
                new StartSnapshotParams(
                        longValue(json, "VolumeSize"),
                        text(json, "ParentSnapshotId"),
                        tags,
                        text(json, "Description"),
                        text(json, "ClientToken"),
                        encryptedPresent,
                        encryptedPresent && enc.booleanValue(),
                        text(json, "KmsKeyArn"),
                        timeout(longValue(json, "Timeout")));
        Snapshot s = service.startSnapshot(caller, p);
        ObjectNode body = Responses.JSON.createObjectNode();
        body.put("SnapshotId", s.id());
        body.put("OwnerId", s.ownerId());
        body.put("Status", s.status().wire());
        body.put("StartTime", s.startTime().toEpochMilli() / 1000.0);
        body.put("VolumeSize", s.volumeSizeGib());
        body.put("BlockSize", Snapshot.BLOCK_SIZE);
        if (s.description() != null) {
            body.put("Description", s.description());
        }
        if (s.parentId() != null) {
            body.put("ParentSnapshotId", s.parentId());
        }
        if (s.kmsKeyArn() != null) {
            body.put("KmsKeyArn", s.kmsKeyArn());
        }
        body.put(
                "SseType",
                s.encrypted() ? (s.kmsKeyArn() != null ? "sse-kms" : "sse-ebs") : "none");
        ArrayNode tagArray = body.putArray("Tags");
        for (Tag t : s.tags()) {
            tagArray.addObject().put("Key", t.key()).put("Value", t.value());
        }
        return Responses.json(201, body);
    }

    /**
     * Timeout is an int in the model; a larger number must not wrap into the valid range
     * (4294967306 would become 10), so anything outside 10..4320 is refused here, before it is
     * narrowed.
     */
    private static Integer timeout(Long minutes) {
        if (minutes == null) {
            return null;
        }
        if (minutes < 10 || minutes > 4320) {
            throw EbsError.invalidParameter(
                    "Timeout must be between 10 and 4320 minutes, not " + minutes + ".");
        }
        return minutes.intValue();
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw EbsError.serialization(field + " must be a string.");
        }
        return v.textValue();
    }

    private static Long longValue(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw EbsError.serialization(field + " must be an integer.");
        }
        return v.longValue();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("Connection error from {}", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }
}
