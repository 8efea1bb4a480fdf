package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.GenericPlans;
import dev.pulse.workers.testing.QueueKit;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Due and unclaimed tasks, what {@code pulse_tasks_ready} and KEDA's PostgreSQL scaler scale
 * workers on: counted per agent, without tasks due later or already claimed, and through the claim
 * order's index (never a scan of the table) even when the statistics say the table is empty.
 */
class ReadyTasksTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void countsDueUnclaimedTasksPerAgentAndNothingElse() {
        for (int i = 0; i < 3; i++) {
            kit.insert(kit.newTask("summarise", 0));
        }
        kit.insert(kit.newTask("classify", 0));
        kit.insert(kit.delayed("summarise", 3600));
        kit.insert(kit.delayed("later-only", 3600));
        TaskFigures figures = new TaskFigures(kit.database.jdbi());
        assertThat(figures.readyByAgent(100)).isEqualTo(Map.of("summarise", 3L, "classify", 1L));
        assertThat(autoscalerFigure()).isEqualTo(4);

        kit.claimer("node-a").claim(2);

        long left = figures.readyByAgent(100).values().stream().mapToLong(Long::longValue).sum();
        assertThat(left).as("claimed tasks are no longer ready").isEqualTo(2);
        assertThat(autoscalerFigure()).isEqualTo(2);
        assertThat(figures.readyByAgent(0).values().stream().mapToLong(Long::longValue).sum())
                .as("a cap of 0 reads one row")
                .isEqualTo(1);
    }

    @Test
    void bothQueriesReachTasksThroughAnIndexConditionEvenOnEmptyStatistics() {
        kit.database.jdbi().useHandle(h -> h.execute("ANALYZE tasks"));
        GenericPlans.assertBoundedByItsBatch(
                kit.database.jdbi(), "KEDA's query", TaskFigures.READY_FOR_AUTOSCALER);
        GenericPlans.assertBoundedByItsBatch(
                kit.database.jdbi(), "pulse_tasks_ready's query", TaskFigures.READY_BY_AGENT);
        assertThat(
                        String.join(
                                "\n",
                                GenericPlans.of(
                                        kit.database.jdbi(), TaskFigures.READY_FOR_AUTOSCALER)))
                .contains("tasks_queue_claimable");
    }

    private long autoscalerFigure() {
        return kit.database
                .jdbi()
                .withHandle(
                        h ->
                                h.createQuery(TaskFigures.READY_FOR_AUTOSCALER)
                                        .mapTo(Long.class)
                                        .one());
    }
}
