package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.QueueKit;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A text search reads whole rows in its window's own scans (docs/architecture.md, "Lists on a big
 * history"); read so, a filter's branch could be planned as the primary key newest first with a
 * filter, which reads past every newer task that the filter does not match (4.3 s behind 500,000
 * newer tasks of another agent in a day's partition). The worst case here: the newer two thirds of
 * a day's history are another agent's, the newest third in another state, and the statistics know
 * it. The window must still read only the tasks it matches, through the index that holds them.
 */
class TextSearchPlanTest {

    /** Tasks in each of the three thirds of the history. */
    private static final int THIRD = 10_000;

    /** The relation a plan's node scans, on the node's line (the one with its costs). */
    private static final Pattern SCANNED = Pattern.compile(" on (tasks\\w*)");

    private static final Pattern REMOVED = Pattern.compile("Rows Removed by Filter: (\\d+)");

    @RegisterExtension final QueueKit kit = new QueueKit();

    @BeforeEach
    void setUp() {
        // Finished today (today's partition), oldest first: two thirds succeeded, every other one
        // busy's, then a third other's and failed; ids (UUIDv7) from their times, a millisecond
        // apart.
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            h.createUpdate(
                                            """
                        INSERT INTO tasks (id, agent, state, input, error, max_attempts, timeout_seconds, run_at, finished_at)
                        SELECT (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
                               CASE WHEN i <= 2 * :third AND i % 2 = 0 THEN 'busy' ELSE 'other' END,
                               CASE WHEN i <= 2 * :third THEN 'succeeded' ELSE 'failed' END,
                               jsonb_build_object('text', 'hay ' || i),
                               CASE WHEN i > 2 * :third THEN '{"code": "agent_error"}'::jsonb END,
                               3, 60, now(), now()
                          FROM (SELECT i, md5(CAST(i AS text)) AS h,
                                       CAST(extract(epoch FROM now()) * 1000 AS bigint) - :n + i AS ms
                                  FROM generate_series(1, :n) AS i) g
                        """)
                                    .bind("third", THIRD)
                                    .bind("n", 3 * THIRD)
                                    .execute();
                            h.execute("ANALYZE tasks");
                        });
    }

    static List<Object[]> searches() {
        return List.of(
                new Object[] {
                    "agent=busy",
                    new TaskFilter(null, "busy", null, null, null, "needle", null, 50, null)
                },
                new Object[] {
                    "state=succeeded",
                    new TaskFilter(
                            TaskState.SUCCEEDED, null, null, null, null, "needle", null, 50, null)
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("searches")
    void theWindowReadsOnlyTheTasksItMatchesThroughTheirIndex(String name, TaskFilter filter) {
        List<String> plan =
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        TaskListing.search("*", filter, null, filter.limit() + 1)
                                                .explained()
                                                .query(h)
                                                .mapTo(String.class)
                                                .list());
        String text = String.join("\n", plan);
        // Every scan of a partition that reads rows keeps them all; only the text test (above the
        // scans) leaves rows out.
        assertThat(scansRemovingRows(plan)).as("scans that read past rows:\n%s", text).isEmpty();
        assertThat(text)
                .as("the window was read whole")
                .contains("rows=" + TaskListing.TEXT_WINDOW);
    }

    /** The scans of tasks' partitions in {@code plan} that read rows their filter then left out. */
    private static List<String> scansRemovingRows(List<String> plan) {
        List<String> found = new ArrayList<>();
        String node = "";
        for (String line : plan) {
            if (line.contains("(cost=")) {
                Matcher scanned = SCANNED.matcher(line);
                node = scanned.find() ? line.trim() : "";
                continue;
            }
            Matcher removed = REMOVED.matcher(line);
            if (removed.find() && !node.isEmpty() && Integer.parseInt(removed.group(1)) > 0) {
                found.add(node + ": " + removed.group());
            }
        }
        return found;
    }
}
