package io.ebsreplicator.schemas;

import java.util.Locale;

/**
 * The one JSON string escaping of the hand-written JSON lines the job prints (its results, the
 * {@code request} command's receipt), for places that build a line without an object mapper.
 */
public final class JsonStrings {

    private JsonStrings() {}

    /** {@code value} as a JSON string literal, or {@code null} as the JSON null. */
    public static String quote(String value) {
        return append(new StringBuilder(), value).toString();
    }

    /** Appends {@code value} to {@code sb} as a JSON string literal, or the JSON null. */
    public static StringBuilder append(StringBuilder sb, String value) {
        if (value == null) {
            return sb.append("null");
        }
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"');
    }
}
