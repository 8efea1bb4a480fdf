package dev.pulse.executors.agents;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads agents declared as code: every {@code *.yaml}/{@code *.yml} file of a directory, each
 * holding one or more {@code apiVersion: pulse/v1, kind: Agent} documents. Every problem is
 * reported with its file and path, and nothing is returned unless all files are valid.
 */
public final class AgentFileLoader {

    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Set<String> TOP_LEVEL = Set.of("apiVersion", "kind", "metadata", "spec");

    /** The executor kinds an agent file may name, each with its settings block of the same name. */
    public static final List<String> EXECUTORS =
            List.of("local", "serverless", "llm", "container", "kubernetes", "remote");

    /**
     * {@code executor: auto} runs on the first available of these (docs/architecture.md,
     * Executors), in this order.
     */
    static final String AUTO = "auto";

    static final List<String> AUTO_CANDIDATES = List.of("serverless", "local", "container");
    private static final Set<String> SPEC_KEYS =
            Set.of(
                    "executor",
                    "timeout",
                    "max_attempts",
                    "max_concurrency",
                    "retry",
                    "local",
                    "serverless",
                    "llm",
                    "container",
                    "kubernetes",
                    "per_key_concurrency",
                    "rate_limit",
                    "per_key_rate_limit",
                    "remote",
                    "budget",
                    "requests_per_minute",
                    "tokens_per_minute");
    private static final Set<String> RETRY_KEYS = Set.of("base", "max");
    private static final Set<String> LOCAL_KEYS = Set.of("command", "workdir", "env", "java_agent");

    private final ObjectReader yaml = new YAMLMapper().readerFor(JsonNode.class);

    /** The valid agents, each with the document it was read from (same order), or every problem. */
    public record Loaded(
            List<AgentDefinition> agents, List<JsonNode> documents, List<String> problems) {}

    public Loaded loadDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            return new Loaded(List.of(), List.of(), List.of());
        }
        List<AgentDefinition> agents = new ArrayList<>();
        List<JsonNode> documents = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(AgentFileLoader::isYaml).sorted().toList()) {
                Loaded one = loadFile(file);
                agents.addAll(one.agents());
                documents.addAll(one.documents());
                problems.addAll(one.problems());
            }
        } catch (IOException e) {
            problems.add(dir + ": cannot list directory: " + e.getMessage());
        }
        return problems.isEmpty()
                ? new Loaded(agents, documents, List.of())
                : new Loaded(List.of(), List.of(), problems);
    }

    public Loaded loadFile(Path file) {
        List<AgentDefinition> agents = new ArrayList<>();
        List<JsonNode> documents = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = yaml.readValues(file.toFile())) {
            int index = 0;
            while (docs.hasNextValue()) {
                JsonNode doc = docs.nextValue();
                String where = file + (index > 0 ? " (document " + (index + 1) + ")" : "");
                List<String> docProblems = new ArrayList<>();
                AgentDefinition agent =
                        parseDocument(doc, file.toAbsolutePath().getParent(), where, docProblems);
                docProblems.forEach(p -> problems.add(where + ": " + p));
                if (agent != null && docProblems.isEmpty()) {
                    agents.add(agent);
                    documents.add(doc);
                }
                index++;
            }
        } catch (JsonProcessingException e) {
            problems.add(file + ": not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            problems.add(file + ": cannot read: " + e.getMessage());
        }
        return new Loaded(agents, documents, problems);
    }

    /**
     * Validates one agent document (as YAML or JSON); adds a problem per bad path. Relative paths
     * in it resolve against {@code baseDir}.
     */
    public AgentDefinition parseDocument(
            JsonNode doc, Path baseDir, String source, List<String> problems) {
        if (doc == null || !doc.isObject()) {
            problems.add("must be a mapping with apiVersion, kind, metadata and spec");
            return null;
        }
        unknownKeys(doc, TOP_LEVEL, "", problems);
        if (!"pulse/v1".equals(doc.path("apiVersion").asText(null))) {
            problems.add("apiVersion: must be pulse/v1");
        }
        if (!"Agent".equals(doc.path("kind").asText(null))) {
            problems.add("kind: must be Agent");
        }
        String name = doc.path("metadata").path("name").asText("");
        if (!NAME.matcher(name).matches()) {
            problems.add(
                    "metadata.name: must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
        }
        JsonNode spec = doc.path("spec");
        if (!spec.isObject()) {
            problems.add("spec: is required and must be a mapping");
            return null;
        }
        unknownKeys(spec, SPEC_KEYS, "spec.", problems);
        String executor = spec.path("executor").isTextual() ? spec.path("executor").asText() : "";
        boolean auto = executor.equals(AUTO);
        if (!EXECUTORS.contains(executor) && !auto) {
            problems.add(
                    "spec.executor: must be one of "
                            + String.join(", ", EXECUTORS)
                            + " or "
                            + AUTO
                            + (executor.isEmpty() ? "" : "; got '" + executor + "'"));
        }
        if (auto && AUTO_CANDIDATES.stream().noneMatch(spec::has)) {
            problems.add(
                    "spec.executor: auto picks the first available of spec.serverless, spec.local and spec.container;"
                            + " give at least one");
        }
        Duration timeout = AgentDefinition.DEFAULT_TIMEOUT;
        if (spec.has("timeout")) {
            var parsed = Durations.parse(spec.get("timeout").asText(""));
            if (parsed.isEmpty() || parsed.get().isZero()) {
                problems.add(
                        "spec.timeout: must be a positive duration such as 500ms, 30s, 5m or 2h");
            } else {
                timeout = parsed.get();
            }
        }
        int maxAttempts = AgentDefinition.DEFAULT_MAX_ATTEMPTS;
        if (spec.has("max_attempts")) {
            JsonNode n = spec.get("max_attempts");
            if (!n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > 100) {
                problems.add("spec.max_attempts: must be an integer from 1 to 100");
            } else {
                maxAttempts = n.asInt();
            }
        }
        Integer maxConcurrency = null;
        if (spec.has("max_concurrency")) {
            JsonNode n = spec.get("max_concurrency");
            if (!n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > 100_000) {
                problems.add(
                        "spec.max_concurrency: must be an integer from 1 to 100000 (leave it out for no limit)");
            } else {
                maxConcurrency = n.asInt();
            }
        }
        Duration retryBase = AgentDefinition.DEFAULT_RETRY_BASE;
        Duration retryMax = AgentDefinition.DEFAULT_RETRY_MAX;
        JsonNode retry = spec.path("retry");
        if (!retry.isMissingNode()) {
            if (!retry.isObject()) {
                problems.add(
                        "spec.retry: must be a mapping with base and/or max, e.g. {base: 1s, max: 10m}");
            } else {
                unknownKeys(retry, RETRY_KEYS, "spec.retry.", problems);
                retryBase = duration(retry, "base", "spec.retry.base", retryBase, problems);
                retryMax = duration(retry, "max", "spec.retry.max", retryMax, problems);
                if (retryMax.compareTo(retryBase) < 0) {
                    problems.add("spec.retry.max: must not be shorter than spec.retry.base");
                }
            }
        }
        for (String other : EXECUTORS) {
            boolean usable = other.equals(executor) || (auto && AUTO_CANDIDATES.contains(other));
            if (!usable && (EXECUTORS.contains(executor) || auto) && spec.has(other)) {
                problems.add(
                        "spec."
                                + other
                                + ": is only used with executor "
                                + other
                                + " (spec.executor is "
                                + executor
                                + "); remove it or change spec.executor");
            }
        }
        LocalSpec local =
                executor.equals("local") || (auto && spec.has("local"))
                        ? parseLocal(spec.path("local"), baseDir, problems)
                        : null;
        ServerlessSpec serverless =
                executor.equals("serverless") || (auto && spec.has("serverless"))
                        ? ServerlessSpecParser.parse(spec.path("serverless"), problems)
                        : null;
        LlmSpec llm =
                executor.equals("llm") ? LlmSpecParser.parse(spec.path("llm"), problems) : null;
        ContainerSpec container =
                executor.equals("container") || (auto && spec.has("container"))
                        ? ContainerSpecParser.parse(spec.path("container"), problems)
                        : null;
        KubernetesSpec kubernetes =
                executor.equals("kubernetes")
                        ? KubernetesSpecParser.parse(spec.path("kubernetes"), problems)
                        : null;
        RemoteSpec remote =
                executor.equals("remote")
                        ? RemoteSpecParser.parse(spec.path("remote"), problems)
                        : null;
        return new AgentDefinition(
                name,
                executor,
                timeout,
                maxAttempts,
                maxConcurrency,
                retryBase,
                retryMax,
                local,
                source,
                serverless,
                llm,
                container,
                kubernetes,
                FlowLimitsParser.parse(spec, problems),
                remote);
    }

    private static Duration duration(
            JsonNode parent, String key, String path, Duration fallback, List<String> problems) {
        if (!parent.has(key)) {
            return fallback;
        }
        var parsed = Durations.parse(parent.get(key).asText(""));
        if (parsed.isEmpty() || parsed.get().toMillis() > Integer.MAX_VALUE) {
            problems.add(
                    path + ": must be a duration such as 500ms, 30s, 5m or 2h (at most 24 days)");
            return fallback;
        }
        return parsed.get();
    }

    private LocalSpec parseLocal(JsonNode local, Path baseDir, List<String> problems) {
        if (!local.isObject()) {
            problems.add(
                    "spec.local: is required for executor local and must be a mapping with command");
            return null;
        }
        unknownKeys(local, LOCAL_KEYS, "spec.local.", problems);
        if (local.has("java_agent")) {
            return inJvm(local, problems);
        }
        List<String> command = new ArrayList<>();
        JsonNode cmd = local.path("command");
        if (!cmd.isArray() || cmd.isEmpty()) {
            problems.add(
                    "spec.local.command: must be a non-empty list of strings, e.g. [\"python3\", \"agent.py\"]");
        } else {
            for (int i = 0; i < cmd.size(); i++) {
                if (!cmd.get(i).isTextual()) {
                    problems.add("spec.local.command[" + i + "]: must be a string");
                } else {
                    command.add(cmd.get(i).asText());
                }
            }
        }
        Path workdir = baseDir;
        if (local.has("workdir")) {
            if (!local.get("workdir").isTextual()) {
                problems.add(
                        "spec.local.workdir: must be a string (a path, relative to the agent file)");
            } else {
                workdir = baseDir.resolve(local.get("workdir").asText()).normalize();
            }
        }
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode envNode = local.path("env");
        if (!envNode.isMissingNode()) {
            if (!envNode.isObject()) {
                problems.add("spec.local.env: must be a mapping of names to strings");
            } else {
                envNode.fields()
                        .forEachRemaining(
                                e -> {
                                    if (e.getValue().isValueNode() && !e.getValue().isNull()) {
                                        env.put(e.getKey(), e.getValue().asText());
                                    } else {
                                        problems.add(
                                                "spec.local.env."
                                                        + e.getKey()
                                                        + ": must be a string");
                                    }
                                });
            }
        }
        return LocalSpec.process(command, workdir, env);
    }

    /**
     * {@code local: {java_agent: NAME}}: an in-JVM agent (a built-in or a plugin's) run under this
     * agent's own name and settings, e.g. its limits.
     */
    private static LocalSpec inJvm(JsonNode local, List<String> problems) {
        JsonNode name = local.get("java_agent");
        if (!name.isTextual() || name.asText().isBlank()) {
            problems.add(
                    "spec.local.java_agent: must be the name of an in-JVM agent, e.g. echo or sleep");
            return null;
        }
        for (String other : List.of("command", "workdir", "env")) {
            if (local.has(other)) {
                problems.add(
                        "spec.local."
                                + other
                                + ": is only used with a command, not with spec.local.java_agent");
            }
        }
        return LocalSpec.inJvm(name.asText());
    }

    static void unknownKeys(
            JsonNode node, Set<String> allowed, String prefix, List<String> problems) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!allowed.contains(key)) {
                problems.add(
                        prefix
                                + key
                                + ": unknown field (allowed: "
                                + String.join(", ", allowed.stream().sorted().toList())
                                + ")");
            }
        }
    }

    private static boolean isYaml(Path p) {
        String n = p.getFileName().toString();
        return n.endsWith(".yaml") || n.endsWith(".yml");
    }
}
