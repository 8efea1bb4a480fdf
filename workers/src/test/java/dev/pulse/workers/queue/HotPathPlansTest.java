package dev.pulse.workers.queue;

import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.testing.GenericPlans;
import dev.pulse.workers.testing.QueueKit;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The queue's statements that join a batch to a table keep one generic plan per connection ({@link
 * FixedPlans}), so that plan must be good whatever the statistics were when it was made. The worst
 * case is a fresh database whose tables were just analyzed empty: there, without {@link FixedPlans}
 * and the statements' index conditions on the batch's keys, PostgreSQL plans sequential scans (or
 * whole-index scans under a nested loop) and keeps them while the table grows.
 */
class HotPathPlansTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    @BeforeEach
    void setUp() {
        kit.database.jdbi().useHandle(h -> h.execute("ANALYZE tasks, task_attempts"));
    }

    static List<Object[]> statements() {
        return List.of(
                new Object[] {"claim from the start of the index", TaskClaimer.CLAIM},
                new Object[] {"claim resuming past a position", TaskClaimer.CLAIM_RESUMING},
                new Object[] {
                    "first claim step while agents have limits (per-key ones leased in it)",
                    TaskClaimer.CLAIM_FIRST_STEP
                },
                new Object[] {
                    "first claim step resuming past a position",
                    TaskClaimer.CLAIM_FIRST_STEP_RESUMING
                },
                new Object[] {"claim within agent limits", TaskClaimer.CLAIM_WITHIN_LIMITS},
                new Object[] {"finish", TaskCompleter.FINISH},
                new Object[] {"finish returning rows", TaskCompleter.FINISH_RETURNING_ROWS},
                new Object[] {"attempt rows", TaskCompleter.INSERT_ATTEMPTS},
                new Object[] {
                    "attempt rows closing open ones", TaskCompleter.INSERT_OR_CLOSE_ATTEMPTS
                },
                new Object[] {"stale results", TaskCompleter.RECORD_STALE},
                new Object[] {"lease renewal", Heartbeat.RENEW},
                new Object[] {"look-up of awaited agent reports", AgentReports.ENDED});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("statements")
    void everyTableIsReachedThroughAnIndexConditionEvenOnEmptyStatistics(String name, String sql) {
        GenericPlans.assertBoundedByItsBatch(kit.database.jdbi(), name, sql);
    }

    /**
     * The statements on unfinished tasks (V23: tasks is partitioned by when a task finished) are
     * planned on the queue's partition alone, generic plans included: none reads a day of history.
     */
    static List<Object[]> queueStatements() {
        return List.of(
                new Object[] {"claim from the start of the index", TaskClaimer.CLAIM},
                new Object[] {"claim resuming past a position", TaskClaimer.CLAIM_RESUMING},
                new Object[] {"first claim step", TaskClaimer.CLAIM_FIRST_STEP},
                new Object[] {"claim within agent limits", TaskClaimer.CLAIM_WITHIN_LIMITS},
                new Object[] {"finish", TaskCompleter.FINISH},
                new Object[] {"finish returning rows", TaskCompleter.FINISH_RETURNING_ROWS},
                new Object[] {"lease renewal", Heartbeat.RENEW},
                new Object[] {"rescue", Rescuer.RESCUE});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("queueStatements")
    void statementsOnUnfinishedTasksArePlannedOnTheQueuesPartitionAlone(String name, String sql) {
        String plan = String.join("\n", GenericPlans.of(kit.database.jdbi(), sql));
        org.assertj.core.api.Assertions.assertThat(plan)
                .as(name)
                .contains("tasks_queue")
                .doesNotContain("tasks_unplaced")
                .doesNotContain("tasks_legacy")
                .doesNotContainPattern("tasks_2[0-9]{7}");
    }

    /**
     * Stale results address attempts (V26: partitioned by task_id) by an array of ids, which prunes
     * nothing in a generic plan: the batch's id range does, at run time.
     */
    @org.junit.jupiter.api.Test
    void staleResultsReadOnlyTheDaysOfTheirBatch() {
        String plan =
                String.join("\n", GenericPlans.of(kit.database.jdbi(), TaskCompleter.RECORD_STALE));
        org.assertj.core.api.Assertions.assertThat(plan)
                .contains("InitPlan")
                .contains("(task_id >= ", "(task_id <= ");
    }
}
