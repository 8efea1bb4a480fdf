package dev.pulse.executors;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves {@code ${env:NAME}} references in agent settings at run time, so secrets are never
 * stored resolved. A {@link Resolver} remembers every value it substituted, so callers can redact
 * them from anything they report.
 */
public final class EnvReferences {

    private static final Pattern REF = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");

    private EnvReferences() {}

    /**
     * Resolves every value of a map; {@code pathPrefix} plus the key names the setting in errors.
     *
     * @throws IllegalStateException naming the first variable that is not set (never its value)
     */
    public static Map<String, String> resolve(
            Map<String, String> values, String pathPrefix, Function<String, String> environment) {
        Resolver resolver = new Resolver(environment);
        Map<String, String> resolved = new LinkedHashMap<>();
        values.forEach(
                (key, value) -> resolved.put(key, resolver.resolve(value, pathPrefix + key)));
        return resolved;
    }

    /** Whether every {@code ${env:} in the text is a complete reference such as {@code ${env:API_KEY}}. */
    public static boolean isWellFormed(String value) {
        return !REF.matcher(value).replaceAll("").contains("${env:");
    }

    /** Whether the text starts with a reference (so its shape is only known at run time). */
    public static boolean startsWithReference(String value) {
        Matcher m = REF.matcher(value);
        return m.lookingAt();
    }

    /** The text with each reference replaced by {@code placeholder}, for checking its shape. */
    public static String withPlaceholders(String value, String placeholder) {
        return REF.matcher(value).replaceAll(Matcher.quoteReplacement(placeholder));
    }

    /** Resolves references one setting at a time and remembers the secrets it substituted. */
    public static final class Resolver {

        private final Function<String, String> environment;
        private final List<String> substituted = new ArrayList<>();

        public Resolver(Function<String, String> environment) {
            this.environment = environment;
        }

        /**
         * @param path the setting's path, named in the error, e.g. {@code spec.llm.api_key}
         * @throws IllegalStateException naming the variable that is not set (never a value)
         */
        public String resolve(String value, String path) {
            if (value == null) {
                return null;
            }
            Matcher m = REF.matcher(value);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String v = environment.apply(m.group(1));
                if (v == null) {
                    throw new IllegalStateException(
                            "environment variable "
                                    + m.group(1)
                                    + " (referenced by "
                                    + path
                                    + ") is not set on this node");
                }
                substituted.add(v);
                m.appendReplacement(out, Matcher.quoteReplacement(v));
            }
            m.appendTail(out);
            return out.toString();
        }

        /** The values substituted so far: treat them all as secrets. */
        public List<String> substituted() {
            return Collections.unmodifiableList(substituted);
        }
    }
}
