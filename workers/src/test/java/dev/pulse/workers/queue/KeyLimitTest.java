package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.executors.agents.FlowLimits;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Queued;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Per-key concurrency limits are leased in the claim's first statement under the keys' advisory
 * locks (docs/architecture.md invariant 2): the running tasks of a key are counted after its lock
 * is held, whatever the statement's own snapshot saw.
 */
class KeyLimitTest {

    private static final Map<String, AgentLimits> ONE_PER_KEY =
            Map.of("llm", new AgentLimits(null, new FlowLimits(1, null, null)));

    /**
     * A claim's stand-in: its snapshot is taken when it starts, then it waits for key (llm, a)'s
     * lock, then counts the key's running tasks in its own snapshot and through {@code
     * pulse_lock_keys}.
     */
    private static final String LATE_CLAIM =
            """
            WITH waited AS MATERIALIZED (SELECT pg_advisory_xact_lock(%d, pulse_key_lock('llm', 'a')))
            SELECT (SELECT count(*) FROM tasks WHERE state = 'running') AS in_snapshot,
                   (SELECT running FROM pulse_lock_keys(ARRAY(SELECT text 'llm' FROM waited),
                                                        ARRAY(SELECT text 'a' FROM waited)))
                       AS under_lock"""
                    .formatted(TaskClaimer.KEY_LOCK_CLASS);

    private static final String HOLD_KEY_LOCK =
            "SELECT pg_advisory_xact_lock("
                    + TaskClaimer.KEY_LOCK_CLASS
                    + ", pulse_key_lock(?, ?))";

    @RegisterExtension final QueueKit kit = new QueueKit();

    private TaskClaimer claimer(String node) {
        return new TaskClaimer(
                kit.database.jdbi(),
                kit.json,
                TaskClaimer.Settings.of(node, Duration.ofSeconds(30))
                        .withLimits(() -> ONE_PER_KEY));
    }

    private List<UUID> keyed(String key, int n) {
        List<NewTask> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(
                    NewTask.builder("llm", kit.json.createObjectNode(), kit.json.createObjectNode())
                            .maxAttempts(1)
                            .timeoutSeconds(60)
                            .concurrencyKey(key)
                            .build());
        }
        return kit.tasks.enqueueAll(tasks, TaskStore.NO_OWNER).stream().map(Queued::id).toList();
    }

    /**
     * The race the two-step claim existed for: a claim whose snapshot was taken while another
     * claimer held a key's lock and was leasing its last slot, and that gets the lock once that
     * claimer has committed. The statement below stands for such a claim: its snapshot is taken
     * before the other claimer commits (it then waits for the key's lock, which the other claimer
     * holds), and it calls {@code pulse_lock_keys} only after that commit. It waits on the key's
     * lock itself, not on a row lock: a committing backend releases its row and transaction locks a
     * moment before its advisory locks, so a waiter woken by the row could still find the key
     * locked (and, as a claim would, skip it).
     */
    @Test
    void keysAreCountedAfterTheirLockEvenWhenTheStatementsSnapshotIsOlder() throws Exception {
        UUID task = keyed("a", 1).get(0);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Handle other = kit.database.jdbi().open()) {
            other.begin(); // another claimer, leasing key a's last slot under its lock
            other.createQuery(HOLD_KEY_LOCK).bind(0, "llm").bind(1, "a").mapToMap().one();
            other.createUpdate(
                            """
                            UPDATE tasks SET state = 'running', lease_token = gen_random_uuid(),
                                   lease_owner = 'node-a', lease_expires_at = now() + interval '30 seconds',
                                   attempts = attempts + 1
                             WHERE id = ?""")
                    .bind(0, task)
                    .execute();

            Future<Map<String, Object>> late =
                    pool.submit(
                            () ->
                                    kit.database
                                            .jdbi()
                                            .withHandle(
                                                    h ->
                                                            h.createQuery(LATE_CLAIM)
                                                                    .mapToMap()
                                                                    .one()));
            awaitWaitingOnALock();
            other.commit();

            assertThat(late.get(60, TimeUnit.SECONDS))
                    .as(
                            "the statement's snapshot missed the lease; the count under the lock did not")
                    .containsEntry("in_snapshot", 0L)
                    .containsEntry("under_lock", 1L);
        } finally {
            pool.shutdown();
        }
    }

    private void awaitWaitingOnALock() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (kit.count(
                        "SELECT count(*) FROM pg_stat_activity"
                                + " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                                + " AND query LIKE '%pulse_lock_keys%'"
                                + " AND pid <> pg_backend_pid()")
                == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the late claim never waited on the row lock");
            }
            Thread.sleep(10);
        }
    }

    @Test
    void aClaimerSkipsAKeyWhoseLockAnotherHoldsAndTakesTheOtherKeys() {
        keyed("a", 3);
        keyed("b", 3);
        keyed("c", 3);
        try (Handle other = kit.database.jdbi().open()) {
            other.begin(); // a claimer in the middle of filling key b's slot
            other.createQuery(HOLD_KEY_LOCK).bind(0, "llm").bind(1, "b").mapToMap().one();

            assertThat(claimer("node-b").claim(10))
                    .extracting(c -> c.task().concurrencyKey())
                    .containsExactlyInAnyOrder("a", "c");
            other.rollback();
        }
        assertThat(claimer("node-c").claim(10))
                .extracting(c -> c.task().concurrencyKey())
                .as("b's lock released; a and c full")
                .containsExactly("b");
        assertThat(claimer("node-d").claim(10)).isEmpty();
    }

    /**
     * A claim with limits resumes its scan past the last row it picked, leased or not (invariant
     * 13): rows it left because their keys were full count as picked, so the claim was full.
     */
    @Test
    void aClaimResumesPastTheRowsOfFullKeysItPickedAndRescansOnceShort() {
        keyed("a", 2);
        keyed("b", 2);
        TaskClaimer claimer =
                new TaskClaimer(
                        kit.database.jdbi(),
                        kit.json,
                        TaskClaimer.Settings.of("node-a", Duration.ofSeconds(30))
                                .withLimits(() -> ONE_PER_KEY)
                                .withRescanEvery(Duration.ofHours(1)));
        assertThat(claimer.claim(2))
                .extracting(c -> c.task().concurrencyKey())
                .containsExactlyInAnyOrder("a", "b");
        UUID urgent =
                kit.insert(
                                NewTask.builder(
                                                "llm",
                                                kit.json.createObjectNode(),
                                                kit.json.createObjectNode())
                                        .priority(-1)
                                        .maxAttempts(1)
                                        .timeoutSeconds(60)
                                        .concurrencyKey("c")
                                        .build())
                        .id();

        assertThat(claimer.claim(2))
                .as(
                        "resumed past a's and b's first tasks: picked a's and b's second, both keys full")
                .isEmpty();
        assertThat(claimer.claim(2))
                .extracting(ClaimedTask::id)
                .as("a resumed claim found nothing, so the scan started again from the start")
                .containsExactly(urgent);
    }

    /**
     * Four claimers that finish what they claim and claim again, over five keys of one at a time
     * each and tasks without a key; every claim is checked against the keys' running counts, which
     * each claimer keeps from its claim until just before its result is written.
     */
    @Test
    void claimersThatFinishAndClaimAgainNeverRunTwoOfAKeyAtOnce() throws Exception {
        for (String key : List.of("a", "b", "c", "d", "e")) {
            keyed(key, 20);
        }
        for (int i = 0; i < 20; i++) {
            kit.insert(kit.newTask("llm", 0));
        }
        Map<String, AtomicInteger> running = new ConcurrentHashMap<>();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> claimers = new ArrayList<>();
        for (int n = 0; n < 4; n++) {
            TaskClaimer claimer = claimer("node-" + n);
            claimers.add(
                    pool.submit(
                            () -> {
                                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                                while (done.get() < 120) {
                                    if (System.nanoTime() > deadline) {
                                        throw new AssertionError(
                                                "not done after 120 s: " + done.get());
                                    }
                                    List<ClaimedTask> claimed = claimer.claim(4);
                                    for (ClaimedTask c : claimed) {
                                        String key = c.task().concurrencyKey();
                                        if (key != null) {
                                            most.accumulateAndGet(
                                                    running.computeIfAbsent(
                                                                    key, k -> new AtomicInteger())
                                                            .incrementAndGet(),
                                                    Math::max);
                                        }
                                    }
                                    for (ClaimedTask c : claimed) {
                                        String key = c.task().concurrencyKey();
                                        if (key != null) {
                                            running.get(key).decrementAndGet();
                                        }
                                        kit.completer.succeed(c, kit.json.nullNode(), null);
                                        done.incrementAndGet();
                                    }
                                }
                                return null;
                            }));
        }
        for (Future<?> f : claimers) {
            f.get();
        }
        pool.shutdown();

        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'succeeded'"))
                .isEqualTo(120);
        assertThat(most.get()).as("tasks of one key at once").isEqualTo(1);
    }
}
