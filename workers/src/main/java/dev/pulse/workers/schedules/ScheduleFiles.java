package dev.pulse.workers.schedules;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Schedules declared as code: {@code apiVersion: pulse/v1, kind: Schedule} documents in YAML files,
 * validated like the API validates them and applied by name. Applying the same files twice changes
 * nothing.
 */
public final class ScheduleFiles {

    public record Loaded(List<ScheduleDefinition> schedules, List<String> problems) {}

    private final ScheduleParser parser;
    private final YAMLMapper yaml = new YAMLMapper();

    public ScheduleFiles(ScheduleParser parser) {
        this.parser = parser;
    }

    /** Every schedule in a file, or in the {@code *.yaml}/{@code *.yml} files of a directory. */
    public Loaded load(Path path) {
        List<ScheduleDefinition> schedules = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (Files.isDirectory(path)) {
            try (Stream<Path> files = Files.list(path)) {
                files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                        .sorted()
                        .forEach(f -> loadFile(f, schedules, problems));
            } catch (IOException e) {
                problems.add(path + ": cannot list directory: " + e.getMessage());
            }
        } else if (Files.isRegularFile(path)) {
            loadFile(path, schedules, problems);
        } else {
            problems.add(path + ": no such file or directory");
        }
        return new Loaded(schedules, problems);
    }

    private void loadFile(Path file, List<ScheduleDefinition> schedules, List<String> problems) {
        try (MappingIterator<JsonNode> docs =
                yaml.readerFor(JsonNode.class).readValues(file.toFile())) {
            int index = 0;
            while (docs.hasNextValue()) {
                JsonNode doc = docs.nextValue();
                index++;
                String where = file + (index > 1 ? " (document " + index + ")" : "");
                if (doc == null || !"Schedule".equals(doc.path("kind").asText())) {
                    continue; // other kinds may share the file
                }
                if (!"pulse/v1".equals(doc.path("apiVersion").asText())) {
                    problems.add(where + ": apiVersion: must be pulse/v1");
                    continue;
                }
                String name = doc.path("metadata").path("name").asText(null);
                JsonNode spec = doc.path("spec");
                if (!spec.isObject()) {
                    problems.add(where + ": spec: is required and must be a mapping");
                    continue;
                }
                ScheduleParser.Parsed parsed = parser.parse(spec, name);
                parsed.errors()
                        .forEach(
                                e ->
                                        problems.add(
                                                where
                                                        + ": "
                                                        + (e.field().equals("name")
                                                                ? "metadata.name"
                                                                : "spec." + e.field())
                                                        + ": "
                                                        + e.message()));
                if (parsed.schedule() != null) {
                    schedules.add(parsed.schedule());
                }
            }
        } catch (JsonProcessingException e) {
            problems.add(file + ": not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            problems.add(file + ": cannot read: " + e.getMessage());
        }
    }

    /** Saves every schedule; returns how many were created, updated and left unchanged. */
    public static Map<ScheduleStore.Change, Integer> apply(
            List<ScheduleDefinition> schedules, ScheduleStore store) {
        Map<ScheduleStore.Change, Integer> counts = new EnumMap<>(ScheduleStore.Change.class);
        for (ScheduleStore.Change c : ScheduleStore.Change.values()) {
            counts.put(c, 0);
        }
        schedules.forEach(s -> counts.merge(store.save(s).change(), 1, Integer::sum));
        return counts;
    }
}
