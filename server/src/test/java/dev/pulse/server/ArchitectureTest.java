package dev.pulse.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layout's rules, read from the sources: each feature's home in {@code workers/} owns its
 * tables' SQL, so {@code server/} (HTTP, dashboard rendering, the CLI, the wiring) names no domain
 * table in SQL; and the dependency points from server to workers to executors, so nothing below
 * {@code server/} knows Javalin.
 */
class ArchitectureTest {

    private static final Path ROOT = Path.of("..");

    /**
     * Tables that {@code server/} may name, each with the reason. The dashboard is the HTTP
     * module's own feature: its sign-in sessions are a web concern, not a domain one.
     */
    private static final Map<String, String> SERVER_OWNED_TABLES =
            Map.of(
                    "dashboard_sessions",
                    "the dashboard's sign-in sessions (server/dashboard/SessionStore)");

    private static final Pattern CREATE_RELATION =
            Pattern.compile(
                    "(?i)CREATE\\s+(?:TABLE|VIEW)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?([a-z_][a-z0-9_]*)");

    @Test
    void serverNamesNoDomainTableInSql() throws IOException {
        Set<String> domainTables = new TreeSet<>(migrationTables());
        assertThat(domainTables)
                .as("tables read from migrations/")
                .contains(
                        "tasks",
                        "agents",
                        "api_keys",
                        "nodes",
                        "callback_deliveries",
                        "schedules",
                        "dashboard_minutes");
        domainTables.removeAll(SERVER_OWNED_TABLES.keySet());

        List<String> violations = new ArrayList<>();
        for (Path source : javaSources(ROOT.resolve("server/src/main/java"))) {
            for (String statement : sqlNamingTables(Files.readString(source), domainTables)) {
                violations.add(ROOT.relativize(source) + ": " + statement);
            }
        }
        assertThat(violations)
                .as(
                        "SQL on a domain table belongs in the owning feature's package in workers/ "
                                + "(a read query there for a page or a metric); see docs/architecture.md, 'Where a change goes'")
                .isEmpty();
    }

    /** Which packages of {@code workers/} may name each table in SQL: the feature that owns it. */
    private static final Map<String, Set<String>> OWNERS =
            Map.ofEntries(
                    Map.entry("tasks", Set.of("tasks", "queue", "flow")),
                    // V23's partitions of tasks: the queue's statements that never move a row
                    // address the unfinished one alone
                    Map.entry("tasks_queue", Set.of("tasks", "queue", "flow")),
                    Map.entry("tasks_unplaced", Set.of("tasks")),
                    Map.entry("task_keys", Set.of("tasks")),
                    Map.entry("flow_starts", Set.of("flow", "queue")),
                    Map.entry("agent_holds", Set.of("flow")),
                    Map.entry("key_holds", Set.of("flow")),
                    Map.entry("agent_usage", Set.of("budgets")),
                    Map.entry("key_usage", Set.of("budgets")),
                    Map.entry("flow_tokens", Set.of("budgets")),
                    Map.entry("task_attempts", Set.of("tasks", "queue")),
                    // V26's default partitions: retention prunes them row by row
                    Map.entry("task_attempts_unplaced", Set.of("tasks")),
                    Map.entry("callback_deliveries_unplaced", Set.of("tasks", "callbacks")),
                    Map.entry("ended_attempts", Set.of("tasks", "queue")),
                    Map.entry("dashboard_minutes", Set.of("tasks")),
                    // The queue's heartbeat writes a node's row with its leases; the rescuer
                    // removes dead ones.
                    Map.entry("nodes", Set.of("nodes", "queue")),
                    // likewise remote workers: the rescuer forgets those long gone
                    Map.entry("remote_workers", Set.of("nodes", "queue")),
                    Map.entry("callback_deliveries", Set.of("callbacks")),
                    Map.entry("schedules", Set.of("schedules")),
                    Map.entry("schedule_fires", Set.of("schedules")),
                    Map.entry("agents", Set.of("agents")),
                    Map.entry("api_keys", Set.of("keys")),
                    Map.entry("settings", Set.of("settings")));

    /** Reads across features, each kept in one statement on purpose. */
    private static final Set<String> CROSS_FEATURE_SQL =
            Set.of(
                    // a held tick is released only when no run of its schedule is unfinished,
                    // decided where it is fired
                    "schedules/ScheduleFirer.java: FROM tasks",
                    // a fire's history shows its task's state
                    "schedules/ScheduleStore.java: JOIN tasks",
                    // retention keeps a task's day while its callback is pending, and a day of
                    // deliveries while one is (V26)
                    "tasks/DayPartitionDrops.java: FROM callback_deliveries",
                    // and prunes a task outside day partitions only once none of its callbacks is
                    // pending
                    "tasks/RowPruning.java: FROM callback_deliveries");

    @Test
    void eachTableIsNamedInSqlOnlyByTheFeatureThatOwnsIt() throws IOException {
        Set<String> tables = new TreeSet<>(migrationTables());
        tables.removeIf(t -> t.startsWith("qrtz_"));
        tables.removeAll(SERVER_OWNED_TABLES.keySet());
        assertThat(OWNERS.keySet())
                .as("every table has an owning feature")
                .containsExactlyInAnyOrderElementsOf(tables);

        Path workers = ROOT.resolve("workers/src/main/java/dev/pulse/workers");
        List<String> violations = new ArrayList<>();
        for (Path source : javaSources(workers)) {
            String where = workers.relativize(source).toString().replace('\\', '/');
            String feature = where.contains("/") ? where.substring(0, where.indexOf('/')) : "";
            for (String statement : sqlNamingTables(Files.readString(source), tables)) {
                String table = statement.substring(statement.indexOf(' ') + 1);
                String found = where + ": " + statement;
                if (!OWNERS.get(table).contains(feature) && !CROSS_FEATURE_SQL.contains(found)) {
                    violations.add(found);
                }
            }
        }
        assertThat(violations)
                .as(
                        "SQL on a table outside the feature that owns it; add a query to the owner instead")
                .isEmpty();
    }

    @Test
    void theTableGuardSeesSqlSpreadOverTextBlockLines() {
        String source =
                """
                private static final String RUNNING = \"""
                        SELECT id
                          FROM
                               tasks
                         WHERE state = 'running'
                        \""";
                private static final String JOINED = "SELECT 1 FROM nodes n JOIN api_keys k ON true";
                String prose = "the tasks from the queue"; // no SQL keyword right before a table: not a match
                """;
        assertThat(sqlNamingTables(source, Set.of("tasks", "nodes", "api_keys")))
                .containsExactly("FROM tasks", "FROM nodes", "JOIN api_keys");
    }

    @Test
    void nothingBelowServerImportsJavalin() throws IOException {
        List<String> violations = new ArrayList<>();
        for (String module : List.of("workers", "executors")) {
            for (Path source : javaSources(ROOT.resolve(module + "/src"))) {
                if (Files.readString(source).contains("io.javalin")) {
                    violations.add(ROOT.relativize(source).toString());
                }
            }
        }
        assertThat(violations).as("Javalin is the HTTP layer's: only server/ may use it").isEmpty();
    }

    private static Set<String> migrationTables() throws IOException {
        Set<String> tables = new TreeSet<>();
        try (Stream<Path> files = Files.list(ROOT.resolve("migrations"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".sql")).toList()) {
                Matcher m = CREATE_RELATION.matcher(Files.readString(file));
                while (m.find()) {
                    tables.add(m.group(1).toLowerCase(Locale.ROOT));
                }
            }
        }
        return tables;
    }

    /**
     * Each {@code FROM|JOIN|INTO|UPDATE <table>} in the text, for the given tables, whitespace
     * collapsed.
     */
    private static List<String> sqlNamingTables(String text, Set<String> tables) {
        Pattern p =
                Pattern.compile(
                        "(?i)\\b(FROM|JOIN|INTO|UPDATE)\\s+(" + String.join("|", tables) + ")\\b");
        List<String> found = new ArrayList<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            found.add(
                    m.group(1).toUpperCase(Locale.ROOT)
                            + " "
                            + m.group(2).toLowerCase(Locale.ROOT));
        }
        return found;
    }

    private static List<Path> javaSources(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
    }
}
