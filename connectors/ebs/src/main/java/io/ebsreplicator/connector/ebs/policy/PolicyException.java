package io.ebsreplicator.connector.ebs.policy;

import java.util.List;

/** A policy file that cannot be used, with every problem found in it (a JSON path each). */
public class PolicyException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public PolicyException(String source, List<String> problems) {
        super(
                "The policy "
                        + source
                        + " is not valid ("
                        + problems.size()
                        + (problems.size() == 1 ? " problem" : " problems")
                        + "):\n  "
                        + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    /** Each problem, as {@code <json path> <what is wrong>}. */
    public List<String> problems() {
        return problems;
    }
}
