package dev.pulse.executors;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Removes secrets (resolved {@code ${env:…}} values, tokens, passwords) from text an executor
 * reports: error messages, logs, excerpts of a remote answer that might echo a request header.
 */
public final class Redactor {

    public static final String MARK = "[redacted]";

    /** Shorter values are not treated as secrets: replacing them would mangle ordinary text. */
    static final int MIN_LENGTH = 4;

    private final List<String> secrets;

    private Redactor(List<String> secrets) {
        this.secrets = secrets;
    }

    public static Redactor of(Collection<String> secrets) {
        return new Redactor(
                secrets.stream()
                        .filter(Objects::nonNull)
                        .filter(s -> s.length() >= MIN_LENGTH)
                        .distinct()
                        .sorted(Comparator.comparingInt(String::length).reversed())
                        .toList());
    }

    public String scrub(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String secret : secrets) {
            out = out.replace(secret, MARK);
        }
        return out;
    }
}
