package io.ebsreplicator.local.ec2;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.service.Caller;
import io.ebsreplicator.local.service.EbsService;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.Tag;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * EC2 {@code DescribeSnapshots} over the EC2 Query protocol (form parameters in, XML out), for the
 * snapshots ebs-local holds: by {@code SnapshotId.N}, by {@code Filter.N} (snapshot-id, status,
 * owner-id, description, volume-size, tag:KEY, tag-key), by {@code OwnerId.N}, with {@code
 * MaxResults}/{@code NextToken} paging. Clients use it to wait for a completion to seal.
 */
public final class DescribeSnapshots {

    private static final String NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
    private static final Pattern SNAPSHOT_ID = Pattern.compile("^snap-[0-9a-f]+$");
    private static final Pattern FILTER_NAME = Pattern.compile("^Filter\\.(\\d+)\\.Name$");
    private static final Pattern FILTER_VALUE =
            Pattern.compile("^Filter\\.(\\d+)\\.Value\\.(\\d+)$");
    private static final DateTimeFormatter ISO = DateTimeFormatter.ISO_INSTANT;

    /**
     * Bounds on one request, so that its work is bounded too: more filters and values than any real
     * query needs; a value four times longer than any attribute it can match (descriptions and tag
     * values have at most 255 characters) is refused rather than compiled.
     */
    static final int MAX_FILTERS = 50;

    static final int MAX_VALUES_PER_FILTER = 200;
    static final int MAX_VALUE_LENGTH = 1024;

    /** As many ids or owners as one page can hold (MaxResults is at most 1,000). */
    static final int MAX_IDS = 1000;

    private final EbsService service;

    public DescribeSnapshots(EbsService service) {
        this.service = service;
    }

    public FullHttpResponse handle(Caller caller, List<Map.Entry<String, String>> params) {
        List<String> ids = new ArrayList<>();
        List<String> owners = new ArrayList<>();
        Map<Integer, String> filterNames = new TreeMap<>();
        Map<Integer, List<String>> filterValues = new TreeMap<>();
        Integer maxResults = null;
        String nextToken = null;
        for (Map.Entry<String, String> e : params) {
            String k = e.getKey();
            if (k.startsWith("SnapshotId.")) {
                ids.add(e.getValue());
            } else if (k.startsWith("OwnerId.")) {
                owners.add(e.getValue());
            } else if (k.equals("MaxResults")) {
                try {
                    maxResults = Integer.parseInt(e.getValue());
                } catch (NumberFormatException ex) {
                    throw ec2Error("InvalidParameterValue", "MaxResults must be an integer.");
                }
                if (maxResults < 5 || maxResults > 1000) {
                    throw ec2Error(
                            "InvalidParameterValue", "MaxResults must be between 5 and 1000.");
                }
            } else if (k.equals("NextToken")) {
                nextToken = e.getValue();
            } else {
                var n = FILTER_NAME.matcher(k);
                var v = FILTER_VALUE.matcher(k);
                if (n.matches()) {
                    filterNames.put(filterNumber(n.group(1), k), e.getValue());
                } else if (v.matches()) {
                    filterNumber(v.group(2), k);
                    List<String> values =
                            filterValues.computeIfAbsent(
                                    filterNumber(v.group(1), k), x -> new ArrayList<>());
                    if (values.size() >= MAX_VALUES_PER_FILTER) {
                        throw ec2Error(
                                "InvalidParameterValue",
                                "A filter has at most " + MAX_VALUES_PER_FILTER + " values.");
                    }
                    if (e.getValue().length() > MAX_VALUE_LENGTH) {
                        throw ec2Error(
                                "InvalidParameterValue",
                                "A filter value has at most " + MAX_VALUE_LENGTH + " characters.");
                    }
                    values.add(e.getValue());
                }
            }
        }
        if (filterNames.size() > MAX_FILTERS || filterValues.size() > MAX_FILTERS) {
            throw ec2Error(
                    "InvalidParameterValue", "A request has at most " + MAX_FILTERS + " filters.");
        }
        if (ids.size() > MAX_IDS || owners.size() > MAX_IDS) {
            throw ec2Error(
                    "InvalidParameterValue",
                    "A request names at most " + MAX_IDS + " snapshot ids and owners.");
        }
        for (String id : ids) {
            if (!SNAPSHOT_ID.matcher(id).matches()) {
                throw ec2Error(
                        "InvalidSnapshotID.Malformed",
                        "Invalid id: \"" + id + "\" (expecting \"snap-...\")");
            }
        }
        List<Snapshot> found = service.describeSnapshots(caller, ids);
        if (found == null) {
            for (String id : ids) {
                if (!service.visible(caller, id)) {
                    throw ec2Error(
                            "InvalidSnapshot.NotFound",
                            "The snapshot '" + id + "' does not exist.");
                }
            }
            throw ec2Error("InvalidSnapshot.NotFound", "A snapshot does not exist.");
        }
        Predicate<Snapshot> match = s -> true;
        for (Map.Entry<Integer, String> f : filterNames.entrySet()) {
            List<String> values = filterValues.getOrDefault(f.getKey(), List.of());
            match = match.and(filter(f.getValue(), values));
        }
        if (!owners.isEmpty()) {
            match = match.and(s -> owners.contains("self") || owners.contains(s.ownerId()));
        }
        List<Snapshot> selected = found.stream().filter(match).toList();
        int offset = 0;
        if (nextToken != null) {
            try {
                offset =
                        Integer.parseInt(
                                new String(
                                        Base64.getDecoder().decode(nextToken),
                                        StandardCharsets.UTF_8));
            } catch (IllegalArgumentException ex) {
                offset = -1;
            }
            if (offset < 0) {
                throw ec2Error("InvalidParameterValue", "The NextToken is not valid.");
            }
        }
        int end =
                maxResults == null
                        ? selected.size()
                        : Math.min(selected.size(), offset + maxResults);
        StringBuilder xml = new StringBuilder(1024);
        xml.append(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSnapshotsResponse xmlns=\"")
                .append(NS)
                .append("\">\n  <requestId>")
                .append(UUID.randomUUID())
                .append("</requestId>\n  <snapshotSet>\n");
        for (int i = Math.min(offset, selected.size()); i < end; i++) {
            item(xml, selected.get(i));
        }
        xml.append("  </snapshotSet>\n");
        if (end < selected.size()) {
            xml.append("  <nextToken>")
                    .append(
                            Base64.getEncoder()
                                    .encodeToString(
                                            String.valueOf(end).getBytes(StandardCharsets.UTF_8)))
                    .append("</nextToken>\n");
        }
        xml.append("</DescribeSnapshotsResponse>\n");
        return xml(200, xml.toString());
    }

    /** The N of {@code Filter.N.Name} or {@code Value.N}: a positive int, else a 400. */
    private static int filterNumber(String digits, String parameter) {
        int n;
        try {
            n = Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1) {
            throw ec2Error(
                    "InvalidParameterValue",
                    "The parameter " + abbreviate(parameter) + " has an invalid index.");
        }
        return n;
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    private static Predicate<Snapshot> filter(String name, List<String> patterns) {
        List<Wildcard> values = patterns.stream().map(Wildcard::of).toList();
        if (name.startsWith("tag:")) {
            String key = name.substring(4);
            return s ->
                    s.tags().stream()
                            .anyMatch(t -> t.key().equals(key) && matchesAny(values, t.value()));
        }
        return switch (name) {
            case "tag-key" -> s -> s.tags().stream().anyMatch(t -> matchesAny(values, t.key()));
            case "snapshot-id" -> s -> matchesAny(values, s.id());
            case "status" -> s -> matchesAny(values, s.status().wire());
            case "owner-id" -> s -> matchesAny(values, s.ownerId());
            case "description" ->
                    s -> s.description() != null && matchesAny(values, s.description());
            case "volume-size" -> s -> matchesAny(values, String.valueOf(s.volumeSizeGib()));
            case "encrypted" -> s -> matchesAny(values, String.valueOf(s.encrypted()));
            default ->
                    throw ec2Error(
                            "InvalidParameterValue",
                            "The filter '" + abbreviate(name) + "' is invalid");
        };
    }

    /** EC2 filter values allow '*' and '?' wildcards. */
    private static boolean matchesAny(List<Wildcard> patterns, String value) {
        for (Wildcard p : patterns) {
            if (p.matches(value)) {
                return true;
            }
        }
        return false;
    }

    private static void item(StringBuilder xml, Snapshot s) {
        xml.append("    <item>\n");
        el(xml, "snapshotId", s.id());
        el(xml, "volumeId", "vol-ffffffff");
        el(xml, "status", s.status().wire());
        if (s.stateMessage() != null) {
            el(xml, "statusMessage", s.stateMessage());
        }
        el(xml, "startTime", ISO.format(s.startTime()));
        Instant completed = s.completionTime();
        if (completed != null) {
            el(xml, "completionTime", ISO.format(completed));
        }
        el(xml, "progress", s.progress() + "%");
        el(xml, "ownerId", s.ownerId());
        el(xml, "volumeSize", String.valueOf(s.volumeSizeGib()));
        if (s.description() != null) {
            el(xml, "description", s.description());
        }
        el(xml, "encrypted", String.valueOf(s.encrypted()));
        if (s.kmsKeyArn() != null) {
            el(xml, "kmsKeyId", s.kmsKeyArn());
        }
        el(xml, "storageTier", "standard");
        if (!s.tags().isEmpty()) {
            xml.append("      <tagSet>\n");
            for (Tag t : s.tags()) {
                xml.append("        <item>");
                xml.append("<key>").append(escape(t.key())).append("</key>");
                xml.append("<value>").append(escape(t.value())).append("</value>");
                xml.append("</item>\n");
            }
            xml.append("      </tagSet>\n");
        }
        xml.append("    </item>\n");
    }

    private static void el(StringBuilder xml, String name, String value) {
        xml.append("      <")
                .append(name)
                .append('>')
                .append(escape(value))
                .append("</")
                .append(name)
                .append(">\n");
    }

    private static EbsError ec2Error(String code, String message) {
        return new EbsError(400, code, message, null);
    }

    /** Renders any error of a DescribeSnapshots request in the EC2 error format. */
    public static FullHttpResponse error(EbsError e) {
        String code = e.type();
        if (e.status() == 403) {
            code = "AuthFailure";
        } else if (e.status() >= 500) {
            code = "InternalError";
        } else if (e.type().equals("RequestThrottledException")) {
            code = "RequestLimitExceeded";
        }
        int status =
                e.status() == 403
                        ? 401
                        : e.status() >= 500 ? 500 : e.status() == 404 ? 400 : e.status();
        if (code.equals("RequestLimitExceeded")) {
            status = 503;
        }
        String xml =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>"
                        + escape(code)
                        + "</Code><Message>"
                        + escape(e.getMessage())
                        + "</Message></Error></Errors><RequestID>"
                        + UUID.randomUUID()
                        + "</RequestID></Response>";
        return xml(status, xml);
    }

    private static FullHttpResponse xml(int status, String xml) {
        byte[] bytes = xml.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1,
                        HttpResponseStatus.valueOf(status),
                        Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/xml;charset=UTF-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    private static String escape(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
