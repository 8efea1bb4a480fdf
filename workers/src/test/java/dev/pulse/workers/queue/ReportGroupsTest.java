package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Asynchronous reports recorded in groups: each report answered as if it had been recorded alone. A
 * window far longer than the test makes a group exactly the reports the test sends (it is served
 * when full).
 */
class ReportGroupsTest {

    private static final Duration UNTIL_FULL = Duration.ofMinutes(5);
    private static final String CALLBACK = "http://127.0.0.1:9/hook";

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void eachReportOfAGroupIsRecordedForItsOwnTask() throws Exception {
        int tasks = 40;
        for (int i = 0; i < tasks; i++) {
            kit.insert(kit.withCallback("echo", CALLBACK, 1));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(tasks);
        assertThat(claimed).hasSize(tasks);
        List<Optional<Task>> answers;
        try (ReportGroups groups = new ReportGroups(kit.completer, UNTIL_FULL, tasks, 1)) {
            answers =
                    concurrently(
                            tasks,
                            i ->
                                    () ->
                                            groups.succeed(
                                                    claimed.get(i),
                                                    kit.jsonOf("{\"n\": " + i + "}"),
                                                    null));
        }
        for (int i = 0; i < tasks; i++) {
            Task recorded = answers.get(i).orElseThrow();
            assertThat(recorded.id()).isEqualTo(claimed.get(i).id());
            assertThat(recorded.state()).isEqualTo(TaskState.SUCCEEDED);
            assertThat(kit.tasks.find(recorded.id()).orElseThrow().result())
                    .isEqualTo(kit.jsonOf("{\"n\": " + i + "}"));
        }
        assertThat(kit.count("SELECT count(*) FROM ended_attempts")).isEqualTo(tasks);
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(tasks);
    }

    @Test
    void aTaskReportedTwiceInOneGroupIsRecordedOnceAndTheOtherReportIsStale() throws Exception {
        Task task = kit.insert(kit.withCallback("echo", CALLBACK, 1));
        Task other = kit.insert(kit.withCallback("echo", CALLBACK, 1));
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(2);
        ClaimedTask first = claimed.get(0).id().equals(task.id()) ? claimed.get(0) : claimed.get(1);
        ClaimedTask second = first == claimed.get(0) ? claimed.get(1) : claimed.get(0);
        List<Optional<Task>> answers;
        try (ReportGroups groups = new ReportGroups(kit.completer, UNTIL_FULL, 3, 1)) {
            answers =
                    concurrently(
                            3,
                            i ->
                                    () ->
                                            groups.succeed(
                                                    i == 2 ? second : first,
                                                    kit.jsonOf("{\"try\": " + i + "}"),
                                                    null));
        }
        List<Optional<Task>> ofTask = answers.subList(0, 2);
        assertThat(ofTask.stream().filter(Optional::isPresent)).hasSize(1);
        Task winner = ofTask.stream().flatMap(Optional::stream).findFirst().orElseThrow();
        assertThat(kit.tasks.find(task.id()).orElseThrow().result()).isEqualTo(winner.result());
        assertThat(answers.get(2)).get().extracting(Task::id).isEqualTo(other.id());
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM ended_attempts WHERE task_id = '"
                                        + task.id()
                                        + "'"))
                .isEqualTo(1);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE task_id = '"
                                        + task.id()
                                        + "'"))
                .isEqualTo(1);
    }

    private static <T> List<T> concurrently(int n, IntFunction<Callable<T>> call) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(threads.submit(call.apply(i)));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            threads.shutdownNow();
        }
    }
}
