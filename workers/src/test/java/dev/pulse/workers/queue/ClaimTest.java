package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.QueueKit;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md invariants 1 and 2: the claim statement, on a real PostgreSQL. */
class ClaimTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void resumesAfterItsLastFullClaimAndScansFromTheStartOnceAResumedClaimRunsShort() {
        List<UUID> queued = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            queued.add(kit.insert(kit.newTask("echo", 0)).id());
        }
        TaskClaimer claimer = claimerRescanningEvery(Duration.ofHours(1));

        assertThat(claimer.claim(2))
                .extracting(ClaimedTask::id)
                .containsExactly(queued.get(0), queued.get(1));
        UUID urgent = kit.insert(kit.newTask("echo", -1)).id();
        // Resumed after the last row claimed: the urgent task lies before that point...
        assertThat(claimer.claim(2))
                .extracting(ClaimedTask::id)
                .containsExactly(queued.get(2), queued.get(3));
        // ...and is claimed as soon as a resumed claim finds too few rows.
        assertThat(claimer.claim(2)).extracting(ClaimedTask::id).containsExactly(urgent);
    }

    @Test
    void scansFromTheStartOnceTheRescanIntervalHasPassed() {
        List<UUID> queued = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            queued.add(kit.insert(kit.newTask("echo", 0)).id());
        }
        TaskClaimer claimer = claimerRescanningEvery(Duration.ZERO);

        assertThat(claimer.claim(2))
                .extracting(ClaimedTask::id)
                .containsExactly(queued.get(0), queued.get(1));
        UUID urgent = kit.insert(kit.newTask("echo", -1)).id();
        assertThat(claimer.claim(2))
                .extracting(ClaimedTask::id)
                .containsExactly(urgent, queued.get(2));
    }

    private TaskClaimer claimerRescanningEvery(Duration interval) {
        return new TaskClaimer(
                kit.database.jdbi(),
                kit.json,
                TaskClaimer.Settings.of("node-a", Duration.ofSeconds(30))
                        .withRescanEvery(interval));
    }

    /**
     * A node's claimer leaves out the agents remote workers run; a remote worker's claim takes only
     * the agents it asks for, each leased for its own lease, in the same priority order.
     */
    @Test
    void aClaimerExcludingAgentsLeavesTheirRowsAndAClaimOfSomeAgentsTakesOnlyTheirs() {
        UUID remoteUrgent = kit.insert(kit.newTask("remote-a", -5)).id();
        UUID local = kit.insert(kit.newTask("echo", 0)).id();
        UUID remoteB = kit.insert(kit.newTask("remote-b", 1)).id();
        UUID remoteA = kit.insert(kit.newTask("remote-a", 2)).id();
        TaskClaimer node =
                new TaskClaimer(
                        kit.database.jdbi(),
                        kit.json,
                        TaskClaimer.Settings.of("node-a", Duration.ofSeconds(30))
                                .withAgents(
                                        () ->
                                                TaskClaimer.Agents.excluding(
                                                        List.of("remote-a", "remote-b"))));
        assertThat(node.claim(10)).extracting(ClaimedTask::id).containsExactly(local);

        TaskClaimer remote =
                new TaskClaimer(
                        kit.database.jdbi(),
                        kit.json,
                        TaskClaimer.Settings.of("remote:w-1", Duration.ofSeconds(30))
                                .withAgents(
                                        () ->
                                                TaskClaimer.Agents.only(
                                                        Map.of(
                                                                "remote-a", Duration.ofSeconds(5),
                                                                "remote-c",
                                                                        Duration.ofSeconds(7)))));
        assertThat(remote.claim(10))
                .extracting(ClaimedTask::id)
                .containsExactly(remoteUrgent, remoteA);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM tasks WHERE lease_owner = 'remote:w-1'"
                                        + " AND lease_expires_at - attempt_started_at = interval '5 seconds'"))
                .as("each leased for its agent's lease")
                .isEqualTo(2);
        assertThat(kit.tasks.find(remoteB).orElseThrow().state()).isEqualTo(TaskState.QUEUED);
    }

    @Test
    void claimsNoMoreThanTheFreeSlotsInPriorityOrder() {
        for (int p : List.of(5, -3, 0, 9, -3, 2)) {
            kit.insert(kit.newTask("echo", p));
        }
        List<ClaimedTask> first = kit.claimer("node-a").claim(3);

        assertThat(first).hasSize(3);
        assertThat(first).extracting(c -> c.task().priority()).containsExactly(-3, -3, 0);
        assertThat(first)
                .allSatisfy(
                        c -> {
                            assertThat(c.task().state()).isEqualTo(TaskState.RUNNING);
                            assertThat(c.attempt()).isEqualTo(1);
                            assertThat(c.leaseToken()).isNotNull();
                        });
        assertThat(first).extracting(ClaimedTask::leaseToken).doesNotHaveDuplicates();
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'running'")).isEqualTo(3);
        assertThat(first)
                .allSatisfy(
                        c -> {
                            assertThat(c.node()).isEqualTo("node-a");
                            assertThat(c.startedAt()).isNotNull();
                        });
        assertThat(kit.count("SELECT count(*) FROM ended_attempts"))
                .as("an attempt's row is written when it ends")
                .isZero();
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM tasks WHERE state = 'running' AND lease_owner = 'node-a'"
                                        + " AND lease_expires_at > now() + interval '25 seconds'"))
                .isEqualTo(3);

        assertThat(kit.claimer("node-a").claim(0)).isEmpty();
        assertThat(kit.claimer("node-a").claim(10))
                .extracting(c -> c.task().priority())
                .containsExactly(2, 5, 9);
        assertThat(kit.claimer("node-a").claim(10)).isEmpty();
    }

    @Test
    void concurrentClaimersNeverShareATask() throws Exception {
        int total = 2_000;
        for (int i = 0; i < total; i++) {
            kit.insert(kit.newTask("echo", 0));
        }
        Set<UUID> seen = ConcurrentHashMap.newKeySet();
        List<UUID> all = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> claimers = new ArrayList<>();
        for (int n = 0; n < 4; n++) {
            TaskClaimer claimer = kit.claimer("node-" + n);
            claimers.add(
                    pool.submit(
                            () -> {
                                List<ClaimedTask> batch;
                                while (!(batch = claimer.claim(7)).isEmpty()) {
                                    batch.forEach(
                                            c -> {
                                                all.add(c.id());
                                                seen.add(c.id());
                                            });
                                }
                                return null;
                            }));
        }
        for (Future<?> f : claimers) {
            f.get();
        }
        pool.shutdown();

        assertThat(all).hasSize(total);
        assertThat(seen).hasSize(total);
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'running' AND attempts = 1"))
                .isEqualTo(total);
    }

    @Test
    void aDelayedTaskIsNotClaimedBeforeItsRunAtByTheDatabaseClock() throws Exception {
        // Due in 5 s: room for the first claim below to come before it on a busy machine.
        Task delayed = kit.insert(kit.delayed("echo", 5));
        assertThat(delayed.state()).isEqualTo(TaskState.SCHEDULED);
        assertThat(Duration.between(delayed.createdAt(), delayed.runAt()))
                .isEqualTo(Duration.ofMillis(5000));

        TaskClaimer claimer = kit.claimer("node-a");
        assertThat(claimer.claim(10)).isEmpty();

        List<ClaimedTask> claimed = List.of();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (claimed.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            claimed = claimer.claim(10);
        }
        assertThat(claimed).hasSize(1);
        assertThat(claimed.get(0).startedAt()).isAfterOrEqualTo(delayed.runAt());
        kit.completer.succeed(claimed.get(0), kit.jsonOf("{}"), null);
        Instant attemptStart =
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT started_at FROM ended_attempts WHERE task_id = :id")
                                                .bind("id", delayed.id())
                                                .mapTo(OffsetDateTime.class)
                                                .one())
                        .toInstant();
        assertThat(attemptStart).isEqualTo(claimed.get(0).startedAt());
    }

    @Test
    void dueTimesComeFromTheDatabaseClockNotTheJvmClock() {
        // A node whose clock runs an hour ahead (or behind) must still queue "now" as now.
        Clock skewed = Clock.fixed(Instant.now().plus(Duration.ofHours(1)), ZoneOffset.UTC);
        try (QueueKit ahead = new QueueKit(skewed)) {
            Task task = ahead.insert(ahead.newTask("echo", 0));
            assertThat(task.state()).isEqualTo(TaskState.QUEUED);
            assertThat(ahead.claimer("node-a").claim(1))
                    .extracting(ClaimedTask::id)
                    .containsExactly(task.id());
        }
    }
}
