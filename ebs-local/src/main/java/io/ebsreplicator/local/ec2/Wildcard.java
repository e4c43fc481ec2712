package io.ebsreplicator.local.ec2;

import java.util.HashMap;
import java.util.Map;

/**
 * An EC2 filter value with {@code *} (any run of characters) and {@code ?} (one character), matched
 * in time linear in the value: the pattern runs as a set of states, one bit per pattern position,
 * advanced once per character of the value, so no input can make it backtrack. A regular expression
 * built from the pattern could (a run of stars against a value that almost matches takes
 * exponential time). Immutable; built once per filter value and matched against every snapshot.
 */
final class Wildcard {

    private final int[] pattern;
    private final int length;
    private final int literals;
    private final long[] stars;
    private final long[] anyChar;
    private final Map<Integer, long[]> byChar = new HashMap<>();

    private Wildcard(int[] pattern) {
        this.pattern = pattern;
        this.length = pattern.length;
        int words = (length + 1 + 63) / 64;
        stars = new long[words];
        anyChar = new long[words];
        int lit = 0;
        for (int j = 0; j < length; j++) {
            int c = pattern[j];
            if (c == '*') {
                set(stars, j);
            } else {
                lit++;
                if (c == '?') {
                    set(anyChar, j);
                } else {
                    set(byChar.computeIfAbsent(c, k -> new long[words]), j);
                }
            }
        }
        this.literals = lit;
    }

    /** Compiles a filter value; runs of {@code *} are one {@code *}. */
    static Wildcard of(String value) {
        int[] cps = value.codePoints().toArray();
        int n = 0;
        for (int i = 0; i < cps.length; i++) {
            if (cps[i] == '*' && n > 0 && cps[n - 1] == '*') {
                continue;
            }
            cps[n++] = cps[i];
        }
        return new Wildcard(java.util.Arrays.copyOf(cps, n));
    }

    boolean matches(String value) {
        // Every position that is not a star consumes exactly one character.
        if (literals > value.length()) {
            return false;
        }
        int words = stars.length;
        long[] state = new long[words];
        long[] next = new long[words];
        set(state, 0);
        closeOverStars(state);
        for (int i = 0; i < value.length(); ) {
            int c = value.codePointAt(i);
            i += Character.charCount(c);
            long[] literal = byChar.get(c);
            long carry = 0;
            boolean any = false;
            for (int w = 0; w < words; w++) {
                long advance = state[w] & (anyChar[w] | (literal == null ? 0 : literal[w]));
                // A position that matched c moves one on: shift the whole bit set left by one.
                long moved = (advance << 1) | carry;
                carry = advance >>> 63;
                next[w] = moved | (state[w] & stars[w]);
                any |= next[w] != 0;
            }
            if (!any) {
                return false;
            }
            closeOverStars(next);
            long[] t = state;
            state = next;
            next = t;
        }
        return (state[length >>> 6] & (1L << (length & 63))) != 0;
    }

    /** A star also matches nothing: a state at a star is a state just after it too. */
    private void closeOverStars(long[] state) {
        long carry = 0;
        for (int w = 0; w < state.length; w++) {
            long atStar = state[w] & stars[w];
            long moved = (atStar << 1) | carry;
            carry = atStar >>> 63;
            state[w] |= moved;
        }
    }

    private static void set(long[] bits, int j) {
        bits[j >>> 6] |= 1L << (j & 63);
    }

    @Override
    public String toString() {
        return new String(pattern, 0, length);
    }
}
