package dev.pulse.workers.db;

/**
 * Many JSON texts (or nulls) as one statement parameter, which SQL turns back into {@code text[]}
 * with {@link #split}.
 *
 * <p>Why not a {@code text[]} parameter: the driver writes an array literal, escaping every quote
 * of every element one character at a time; with callback bodies that was a fifth of the
 * completer's time (docs/benchmarks.md). Joining is a copy. It is safe for JSON text only: JSON
 * escapes every control character inside its strings, so neither the ASCII record separator
 * (between texts) nor the unit separator (standing for NULL) ever occurs in one.
 */
public final class JsonTexts {

    private static final char SEPARATOR = '\u001e';
    private static final String NULL = "\u001f";

    private JsonTexts() {}

    /**
     * The SQL expression that turns the joined parameter {@code :name} back into {@code text[]}.
     */
    public static String split(String name) {
        return "string_to_array(CAST(:" + name + " AS text), E'\\x1e', E'\\x1f')";
    }

    /**
     * @param jsonTexts JSON texts as a JSON writer wrote them, or nulls; at least one. All nulls
     *     give the empty text, which {@link #split} turns into an empty array: for a column of a
     *     multi-array {@code unnest}, NULL in every row ({@link UnnestColumns}).
     */
    public static String join(String[] jsonTexts) {
        if (UnnestColumns.allNull(jsonTexts)) {
            return "";
        }
        int length = jsonTexts.length;
        for (String text : jsonTexts) {
            length += text == null ? 1 : text.length();
        }
        StringBuilder joined = new StringBuilder(length);
        for (int i = 0; i < jsonTexts.length; i++) {
            if (i > 0) {
                joined.append(SEPARATOR);
            }
            joined.append(jsonTexts[i] == null ? NULL : jsonTexts[i]);
        }
        return joined.toString();
    }
}
