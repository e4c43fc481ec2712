package io.ebsreplicator.local.ec2;

import io.ebsreplicator.local.service.Caller;
import io.ebsreplicator.local.service.EbsService;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.Tag;

import io.netty.handler.codec.http.FullHttpResponse;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * EC2 {@code DescribeSnapshots} over the EC2 Query protocol (form parameters in, XML out), for the
 * snapshots ebs-local holds: by {@code SnapshotId.N}, by {@code Filter.N} (snapshot-id, status,
 * owner-id, description, volume-size, tag:KEY, tag-key), by {@code Owner.N} ({@code self} or
 * account ids; another account's private snapshots are never shown), with {@code MaxResults}/{@code
 * NextToken} paging. Clients use it to wait for a completion to seal.
 */
public final class DescribeSnapshots {

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
            } else if (k.startsWith("Owner.")) {
                // The wire name of the OwnerIds member (the SDKs send Owner.1, Owner.2, ...).
                owners.add(e.getValue());
            } else if (k.equals("MaxResults")) {
                try {
                    maxResults = Integer.parseInt(e.getValue());
                } catch (NumberFormatException ex) {
                    throw Ec2Responses.clientError(
                            "InvalidParameterValue", "MaxResults must be an integer.");
                }
                if (maxResults < 5 || maxResults > 1000) {
                    throw Ec2Responses.clientError(
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
                        throw Ec2Responses.clientError(
                                "InvalidParameterValue",
                                "A filter has at most " + MAX_VALUES_PER_FILTER + " values.");
                    }
                    if (e.getValue().length() > MAX_VALUE_LENGTH) {
                        throw Ec2Responses.clientError(
                                "InvalidParameterValue",
                                "A filter value has at most " + MAX_VALUE_LENGTH + " characters.");
                    }
                    values.add(e.getValue());
                }
            }
        }
        if (filterNames.size() > MAX_FILTERS || filterValues.size() > MAX_FILTERS) {
            throw Ec2Responses.clientError(
                    "InvalidParameterValue", "A request has at most " + MAX_FILTERS + " filters.");
        }
        if (ids.size() > MAX_IDS || owners.size() > MAX_IDS) {
            throw Ec2Responses.clientError(
                    "InvalidParameterValue",
                    "A request names at most " + MAX_IDS + " snapshot ids and owners.");
        }
        ids.forEach(Ec2Responses::requireSnapshotId);
        List<Snapshot> found = service.describeSnapshots(caller, ids);
        if (found == null) {
            for (String id : ids) {
                if (!service.visible(caller, id)) {
                    throw Ec2Responses.clientError(
                            "InvalidSnapshot.NotFound",
                            "The snapshot '" + id + "' does not exist.");
                }
            }
            throw Ec2Responses.clientError(
                    "InvalidSnapshot.NotFound", "A snapshot does not exist.");
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
                throw Ec2Responses.clientError(
                        "InvalidParameterValue", "The NextToken is not valid.");
            }
        }
        int end =
                maxResults == null
                        ? selected.size()
                        : Math.min(selected.size(), offset + maxResults);
        StringBuilder xml = new StringBuilder(1024);
        xml.append(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSnapshotsResponse xmlns=\"")
                .append(Ec2Responses.NAMESPACE)
                .append("\">\n  <requestId>")
                .append(Ec2Responses.requestId())
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
        return Ec2Responses.xml(200, xml.toString());
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
            throw Ec2Responses.clientError(
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
                    throw Ec2Responses.clientError(
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
                xml.append("<key>").append(Ec2Responses.escape(t.key())).append("</key>");
                xml.append("<value>").append(Ec2Responses.escape(t.value())).append("</value>");
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
                .append(Ec2Responses.escape(value))
                .append("</")
                .append(name)
                .append(">\n");
    }
}
