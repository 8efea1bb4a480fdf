package dev.pulse.server.conventions;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No main-code method or constructor takes more than {@link #LIMIT} parameters: a longer list
 * becomes a small record or a builder. A record with more components than that offers a {@code
 * Builder}, unless it is listed in {@link #RECORDS_BUILT_IN_ONE_PLACE} with the reason. The sources
 * are read with a few regular expressions (declarations only: every parameter must look like {@code
 * Type name}), which the self-checks below keep honest.
 */
class ParameterCountTest {

    static final int LIMIT = 8;

    /**
     * Records over the limit without a builder, each built by name-for-name mapping in one place.
     */
    private static final Map<String, String> RECORDS_BUILT_IN_ONE_PLACE =
            Map.of(
                    "PulseConfig", "built once, by ConfigLoader, from named settings",
                    "Task", "built once, by TaskRowMapper, from a row",
                    "TaskFilter",
                            "built name for name by its of(...), its with-method and TaskQuery",
                    "Parts", "Dashboard's collaborators, built once by ApiRole",
                    "ScheduleDefinition",
                            "built by the request parser and by ScheduleStore's row mapper",
                    "AgentDefinition", "built by AgentFileLoader (and withDefaults)",
                    "Delivery", "built once, from a callback_deliveries row",
                    "LlmSpec", "built by LlmSpecParser; its with-methods name what they change");

    private static final List<Path> MAIN_SOURCES =
            List.of(
                    Path.of("src/main/java"),
                    Path.of("../workers/src/main/java"),
                    Path.of("../executors/src/main/java"));

    private static final Pattern DECLARATION =
            Pattern.compile(
                    "(?<!new\\s)\\b(\\w+)\\s*\\(([^()]*)\\)\\s*(?:throws\\s+[\\w.,\\s]+)?[{;]");
    private static final Pattern RECORD =
            Pattern.compile("\\brecord\\s+(\\w+)\\s*(?:<[^>]*>)?\\s*\\(([^()]*)\\)");
    private static final Pattern PARAMETER =
            Pattern.compile("(?:final\\s+)?[\\w.$]+(?:\\[])*(?:\\.\\.\\.)?\\s+\\w+");
    private static final List<String> KEYWORDS =
            List.of(
                    "if",
                    "for",
                    "while",
                    "switch",
                    "catch",
                    "synchronized",
                    "try",
                    "return",
                    "new",
                    "throw",
                    "else");

    record Declaration(String file, String name, int parameters) {}

    @Test
    void noMainCodeMethodOrConstructorTakesMoreThanEightParameters() {
        List<String> tooLong = new ArrayList<>();
        List<String> recordsWithoutBuilder = new ArrayList<>();
        int declarations = 0;
        for (Path file : mainSources()) {
            String source = withoutCommentsAndStrings(read(file));
            String type = file.getFileName().toString().replace(".java", "");
            List<Declaration> records = records(type, source);
            for (Declaration d : declarations(type, source)) {
                declarations++;
                boolean canonical =
                        records.stream()
                                .anyMatch(
                                        r ->
                                                r.name()
                                                                .equals(
                                                                        d.name()
                                                                                .substring(
                                                                                        d.name()
                                                                                                        .indexOf(
                                                                                                                '.')
                                                                                                + 1))
                                                        && r.parameters() == d.parameters());
                if (d.parameters() > LIMIT && !canonical) {
                    tooLong.add(d + " in " + file);
                }
            }
            for (Declaration r : records) {
                if (r.parameters() > LIMIT
                        && !source.contains("class Builder")
                        && !RECORDS_BUILT_IN_ONE_PLACE.containsKey(r.name())) {
                    recordsWithoutBuilder.add(r + " in " + file);
                }
            }
        }
        assertThat(declarations)
                .as("declarations found in the main sources (is the working directory the module?)")
                .isGreaterThan(1000);
        assertThat(tooLong)
                .as(
                        "methods and constructors with more than %d parameters: pass a record or a builder",
                        LIMIT)
                .isEmpty();
        assertThat(recordsWithoutBuilder)
                .as("records with more than %d components need a Builder", LIMIT)
                .isEmpty();
    }

    @Test
    void theReaderCountsDeclarationsAndIgnoresCalls() {
        String source =
                withoutCommentsAndStrings(
                        """
                class Sample {
                    /** not(a, b, c, d, e, f, g, h, i) */
                    public <T extends Comparable<T>> void nine(@Named("x") final int a, Map<String, List<T>> b, long c,
                            String... d, int[] e, Object f, Object g, Object h, Object i) throws IOException {
                        call(a, b, c, d, e, f, g, h, i);
                        if (a > b) { }
                    }
                    abstract void two(int a, int b);
                    record Row(int a, int b, int c, int d, int e, int f, int g, int h, int i) { }
                }
                """);
        // A record's header reads as its canonical constructor; the rule checks records apart.
        assertThat(declarations("Sample", source))
                .containsExactly(
                        new Declaration("Sample", "Sample.nine", 9),
                        new Declaration("Sample", "Sample.two", 2),
                        new Declaration("Sample", "Sample.Row", 9));
        assertThat(records("Sample", source)).containsExactly(new Declaration("Sample", "Row", 9));
    }

    static List<Declaration> declarations(String type, String source) {
        List<Declaration> found = new ArrayList<>();
        Matcher m = DECLARATION.matcher(source);
        while (m.find()) {
            if (KEYWORDS.contains(m.group(1))) {
                continue;
            }
            List<String> parameters = split(m.group(2));
            if (parameters.stream().allMatch(p -> PARAMETER.matcher(p).matches())) {
                found.add(new Declaration(type, type + "." + m.group(1), parameters.size()));
            }
        }
        return found;
    }

    static List<Declaration> records(String type, String source) {
        List<Declaration> found = new ArrayList<>();
        Matcher m = RECORD.matcher(source);
        while (m.find()) {
            found.add(new Declaration(type, m.group(1), split(m.group(2)).size()));
        }
        return found;
    }

    /** The parameters of a list, without annotations and type arguments. */
    private static List<String> split(String list) {
        String plain = list.replaceAll("@[\\w.]+", "").replaceAll("\\s+", " ");
        String previous;
        do {
            previous = plain;
            plain = plain.replaceAll("<[^<>]*>", "");
        } while (!plain.equals(previous));
        return plain.isBlank() ? List.of() : Stream.of(plain.split(",")).map(String::trim).toList();
    }

    /**
     * The source with comments and string, text-block and char literals emptied (annotation
     * arguments go too).
     */
    static String withoutCommentsAndStrings(String source) {
        return source.replaceAll("(?s)\"\"\".*?\"\"\"", "\"\"")
                .replaceAll("(?s)/\\*.*?\\*/", " ")
                .replaceAll("//[^\n]*", " ")
                .replaceAll("\"(?:\\\\.|[^\"\\\\\n])*\"", "\"\"")
                .replaceAll("'(?:\\\\.|[^'\\\\\n])+'", "' '")
                .replaceAll("@[\\w.]+\\s*\\(\"\"\\)", "");
    }

    private static List<Path> mainSources() {
        List<Path> files = new ArrayList<>();
        for (Path root : MAIN_SOURCES) {
            assertThat(root).as("main sources").isDirectory();
            try (Stream<Path> walk = Files.walk(root)) {
                walk.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return files;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
