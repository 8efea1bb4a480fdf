package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Group commit of single enqueues: an answered task is committed, a failed commit fails its whole
 * group and writes nothing, idempotency keys within a group behave as across separate requests.
 * Groups are made deterministic by a window far longer than the test: a group commits when it is
 * full, so it holds exactly the requests the test sends.
 */
class TaskInsertGroupsTest {

    private static final Duration UNTIL_FULL = Duration.ofMinutes(5);

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void everyRequestAnsweredIsCommittedEachWithItsOwnTask() throws Exception {
        int requests = 200;
        List<Enqueued> answers;
        try (TaskInsertGroups groups =
                new TaskInsertGroups(kit.tasks, Duration.ofMillis(2), 50, 2)) {
            answers = concurrently(requests, i -> groups.enqueue(task("n" + i, null), "owner"));
        }
        Set<UUID> ids = new HashSet<>();
        for (Enqueued e : answers) {
            assertThat(e.created()).isTrue();
            ids.add(e.task().id());
            // Read back on another connection: visible to others means committed.
            assertThat(kit.tasks.find(e.task().id())).isPresent();
        }
        assertThat(ids).hasSize(requests);
        assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(requests);
    }

    @Test
    void aFailedCommitFailsEveryRequestOfItsGroupAndWritesNothing() throws Exception {
        // A stand-in for a commit that fails: a deferred constraint trigger refuses the
        // transaction at COMMIT when one of its rows is marked.
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            h.execute(
                                    """
                                    CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
                                    BEGIN
                                      IF NEW.input ->> 'refuse_commit' = 'yes' THEN
                                        RAISE EXCEPTION 'commit refused for the test';
                                      END IF;
                                      RETURN NULL;
                                    END $$""");
                            h.execute(
                                    """
                                    CREATE CONSTRAINT TRIGGER refuse_marked AFTER INSERT ON tasks
                                      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_marked()""");
                        });
        int size = 5;
        try (TaskInsertGroups groups = new TaskInsertGroups(kit.tasks, UNTIL_FULL, size, 1)) {
            List<Throwable> failures =
                    failures(
                            size,
                            i ->
                                    groups.enqueue(
                                            i == 3 ? task("bad", "refuse") : task("ok" + i, null),
                                            "owner"));
            assertThat(failures)
                    .hasSize(size)
                    .allMatch(TaskInsertGroups.CommitFailed.class::isInstance);
            assertThat(kit.count("SELECT count(*) FROM tasks")).isZero();

            // The next group commits as usual.
            List<Enqueued> later =
                    concurrently(size, i -> groups.enqueue(task("later" + i, null), "owner"));
            assertThat(later).allMatch(Enqueued::created);
            assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(size);
        }
    }

    @Test
    void idempotencyKeysWithinOneGroupBehaveAsAcrossSeparateRequests() throws Exception {
        List<TaskStore.OwnedTask> sent =
                List.of(
                        new TaskStore.OwnedTask(keyed("a", "k"), "alice"),
                        new TaskStore.OwnedTask(keyed("b", "k"), "alice"),
                        new TaskStore.OwnedTask(keyed("c", "k"), "bob"),
                        new TaskStore.OwnedTask(task("d", null), "alice"));
        try (TaskInsertGroups groups =
                new TaskInsertGroups(kit.tasks, UNTIL_FULL, sent.size(), 1)) {
            List<Enqueued> answers =
                    concurrently(
                            sent.size(),
                            i -> groups.enqueue(sent.get(i).task(), sent.get(i).owner()));
            Enqueued alice1 = answers.get(0);
            Enqueued alice2 = answers.get(1);
            // Whichever of alice's two came first created the task; the other got it, not created.
            assertThat(alice1.task().id()).isEqualTo(alice2.task().id());
            assertThat(List.of(alice1.created(), alice2.created()))
                    .containsExactlyInAnyOrder(true, false);
            assertThat(answers.get(2).created()).isTrue();
            assertThat(answers.get(2).task().id()).isNotEqualTo(alice1.task().id());
            assertThat(answers.get(3).created()).isTrue();
            assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(3);

            // A repeat in a later group: the same task, not created, as a separate request gets.
            try (TaskInsertGroups single =
                    new TaskInsertGroups(kit.tasks, Duration.ofMillis(1), 10, 1)) {
                Enqueued again = single.enqueue(keyed("e", "k"), "alice");
                assertThat(again.created()).isFalse();
                assertThat(again.task().id()).isEqualTo(alice1.task().id());
            }
        }
    }

    @Test
    void aClosedGroupCommitterRefusesNewRequests() {
        TaskInsertGroups groups = new TaskInsertGroups(kit.tasks, Duration.ofMillis(1), 10, 1);
        groups.close();
        assertThatThrownBy(() -> groups.enqueue(task("late", null), "owner"))
                .isInstanceOf(TaskInsertGroups.CommitFailed.class);
        assertThat(kit.count("SELECT count(*) FROM tasks")).isZero();
    }

    private NewTask keyed(String name, String key) {
        return NewTask.builder("echo", kit.jsonOf("{\"name\": \"" + name + "\"}"), kit.jsonOf("{}"))
                .maxAttempts(1)
                .timeoutSeconds(60)
                .retry(1000, 1000)
                .idempotencyKey(key)
                .build();
    }

    private NewTask task(String name, String refuse) {
        return NewTask.builder(
                        "echo",
                        kit.jsonOf(
                                refuse == null
                                        ? "{\"name\": \"" + name + "\"}"
                                        : "{\"refuse_commit\": \"yes\"}"),
                        kit.jsonOf("{}"))
                .maxAttempts(1)
                .timeoutSeconds(60)
                .retry(1000, 1000)
                .build();
    }

    private interface Call<T> {
        T run(int i) throws Exception;
    }

    /** Runs {@code n} calls at once, each on its own thread; their answers in order. */
    private static <T> List<T> concurrently(int n, Call<T> call) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int at = i;
                futures.add(threads.submit(() -> call.run(at)));
            }
            List<T> answers = new ArrayList<>();
            for (Future<T> f : futures) {
                answers.add(f.get(2, TimeUnit.MINUTES));
            }
            return answers;
        } finally {
            threads.shutdownNow();
        }
    }

    /** Runs {@code n} calls at once; what each threw. */
    private static List<Throwable> failures(int n, Call<?> call) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int at = i;
                futures.add(threads.submit(() -> call.run(at)));
            }
            List<Throwable> thrown = new ArrayList<>();
            for (Future<?> f : futures) {
                try {
                    f.get(2, TimeUnit.MINUTES);
                } catch (ExecutionException e) {
                    thrown.add(e.getCause());
                }
            }
            return thrown;
        } finally {
            threads.shutdownNow();
        }
    }
}
