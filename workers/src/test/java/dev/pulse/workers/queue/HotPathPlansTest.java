package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.testing.QueueKit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The queue's hot statements keep one generic plan per connection ({@link FixedPlans}), so that plan
 * must be good whatever the statistics were when it was made. The worst case is a fresh database
 * whose tables were just analyzed empty: there, without {@link FixedPlans} and the statements'
 * index conditions on the batch's keys, PostgreSQL plans sequential scans (or whole-index scans
 * under a nested loop) and keeps them while the table grows.
 */
class HotPathPlansTest {

    private static final Pattern NAMED_PARAMETER = Pattern.compile("(?<![:\\w]):(\\w+)");

    private QueueKit kit;

    @BeforeEach
    void setUp() {
        kit = new QueueKit();
        kit.database.jdbi().useHandle(h -> h.execute("ANALYZE tasks, task_attempts"));
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    static List<Object[]> statements() {
        return List.of(
                new Object[] {"claim from the start of the index", TaskClaimer.CLAIM},
                new Object[] {"claim resuming past a position", TaskClaimer.CLAIM_RESUMING},
                new Object[] {"claim within agent limits", TaskClaimer.CLAIM_WITHIN_LIMITS},
                new Object[] {"finish", TaskCompleter.FINISH},
                new Object[] {"finish returning rows", TaskCompleter.FINISH_RETURNING_ROWS},
                new Object[] {"attempt rows", TaskCompleter.INSERT_ATTEMPTS},
                new Object[] {"attempt rows closing open ones", TaskCompleter.INSERT_OR_CLOSE_ATTEMPTS},
                new Object[] {"stale results", TaskCompleter.RECORD_STALE});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("statements")
    void everyTableIsReachedThroughAnIndexConditionEvenOnEmptyStatistics(String name, String sql) {
        List<String> plan = genericPlan(sql);

        assertThat(plan).as("generic plan of the %s", name).noneMatch(line -> line.contains("Seq Scan"));
        assertThat(plan).as("generic plan of the %s", name).noneMatch(line -> line.contains("Nested Loop"));
        for (int i = 0; i < plan.size(); i++) {
            if (plan.get(i).contains("Index Scan") || plan.get(i).contains("Index Only Scan")) {
                // An index scan without a condition reads the whole index: as slow as the table's.
                assertThat(plan.subList(i + 1, Math.min(i + 3, plan.size())))
                        .as("generic plan of the %s, at %s", name, plan.get(i).trim())
                        .anyMatch(line -> line.contains("Index Cond"));
            }
        }
    }

    /** The plan the statement gets under {@link FixedPlans}, with its named parameters as unknowns. */
    private List<String> genericPlan(String sql) {
        Map<String, String> positions = new LinkedHashMap<>();
        Matcher m = NAMED_PARAMETER.matcher(sql);
        StringBuilder positional = new StringBuilder();
        while (m.find()) {
            String position = positions.computeIfAbsent(m.group(1), k -> "$" + (positions.size() + 1));
            m.appendReplacement(positional, Matcher.quoteReplacement(position));
        }
        m.appendTail(positional);
        List<String> nulls = new ArrayList<>();
        positions.forEach((k, v) -> nulls.add("NULL"));
        return kit.database.jdbi().inTransaction(h -> {
            FixedPlans.forThisTransaction(h);
            h.execute("PREPARE hot_path AS " + positional);
            List<String> plan = h.createQuery("EXPLAIN (COSTS OFF) EXECUTE hot_path(" + String.join(", ", nulls) + ")")
                    .mapTo(String.class).list();
            h.execute("DEALLOCATE hot_path");
            return plan;
        });
    }
}
