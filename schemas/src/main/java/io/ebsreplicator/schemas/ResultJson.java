package io.ebsreplicator.schemas;

import java.util.Objects;

/**
 * The JSON form of a {@link ReplicationResult} for people and scripts: one line, the field names of
 * the result schema in its order, nulls written out, timestamps as ISO-8601 strings (UTC), enums by
 * name. Used by the job's command line and by operator tools that print results.
 */
public final class ResultJson {

    private ResultJson() {}

    /** One line of JSON, without a line break. */
    public static String toJson(ReplicationResult result) {
        return JsonSupport.toJson(Objects.requireNonNull(result, "result"));
    }
}
