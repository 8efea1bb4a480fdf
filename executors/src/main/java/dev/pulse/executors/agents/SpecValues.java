package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.EnvReferences;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** Checks shared by the executors' settings blocks in agent files. */
final class SpecValues {

    /** An HTTP header name (an RFC 9110 token). */
    static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    private SpecValues() {}

    /**
     * A string setting that may hold {@code ${env:NAME}} references: null (with a problem) if it is
     * not a string or a reference is malformed; {@code required} also rejects a missing or blank
     * value.
     */
    static String string(
            JsonNode parent, String key, String path, boolean required, List<String> problems) {
        JsonNode node = parent.path(key);
        if (node.isMissingNode() || node.isNull()) {
            if (required) {
                problems.add(path + ": is required");
            }
            return null;
        }
        if (!node.isTextual() || (required && node.asText().isBlank())) {
            problems.add(path + ": must be " + (required ? "a non-empty string" : "a string"));
            return null;
        }
        String value = node.asText();
        if (!EnvReferences.isWellFormed(value)) {
            problems.add(
                    path
                            + ": has a malformed secret reference; write ${env:NAME} (letters, digits and '_')");
            return null;
        }
        return value;
    }

    /**
     * Null if {@code value} is an absolute http(s) URL without credentials, else what is wrong with
     * it. A value that starts with a {@code ${env:…}} reference can only be checked at run time.
     */
    static String httpUrlProblem(String value) {
        if (EnvReferences.startsWithReference(value)) {
            return null;
        }
        try {
            URI uri = new URI(EnvReferences.withPlaceholders(value, "x"));
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                return "must be an absolute http(s) URL such as https://agents.example.com/run";
            }
            if (uri.getRawUserInfo() != null) {
                return "must not contain credentials; use auth (or an ${env:NAME} reference in a header)";
            }
            return null;
        } catch (URISyntaxException e) {
            return "must be an absolute http(s) URL such as https://agents.example.com/run ("
                    + e.getReason()
                    + ")";
        }
    }
}
