package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.MutableClock;
import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * docs/architecture.md invariant 4. Time is driven deterministically: the JVM side through an
 * injected clock, the database side by moving a lease's expiry into the past, which is exactly what
 * the passing of database time does to it.
 */
class LeaseTest {

    private static final Duration LEASE = Duration.ofSeconds(30);

    @RegisterExtension final QueueKit kit = new QueueKit();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T10:00:00Z"));

    @Test
    void aHeartbeatRenewsTheLeasesThisNodeHoldsAndRecordsTheNode() {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        expireLease(claimed.id(), Duration.ofSeconds(25)); // 5 s left
        RunningAttempts running = new RunningAttempts();
        running.add(claimed);

        double before = dbEpochSeconds();
        heartbeat("node-a", running).beat();
        double after = dbEpochSeconds();

        // A full lease from the beat's own moment, whenever (however late) that came.
        assertThat(leaseExpiresEpochSeconds(claimed.id()))
                .isBetween(before + LEASE.toSeconds() - 0.001, after + LEASE.toSeconds() + 0.001);
        assertThat(kit.count("SELECT running FROM nodes WHERE id = 'node-a'")).isEqualTo(1);
    }

    @Test
    void aHeartbeatStopsAnAttemptWhoseLeaseWasLostOrWhoseTaskWasCancelled() throws Exception {
        kit.insert(kit.newTask("echo", 0));
        kit.insert(kit.newTask("echo", 1));
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(2);
        RunningAttempts running = new RunningAttempts();
        RunningAttempt rescuedElsewhere = running.add(claimed.get(0));
        RunningAttempt cancelled = running.add(claimed.get(1));
        CountDownLatch interrupted = new CountDownLatch(2);
        Thread a = blockedThread(rescuedElsewhere, interrupted);
        Thread b = blockedThread(cancelled, interrupted);

        kit.completer.release(
                claimed.get(0)); // as a rescue does: the lease token is no longer ours
        kit.tasks.cancel(claimed.get(1).id());
        heartbeat("node-a", running).beat();

        assertThat(interrupted.await(2, TimeUnit.MINUTES)).isTrue();
        a.join();
        b.join();
        assertThat(rescuedElsewhere.finished()).isEqualTo(StopReason.LEASE_LOST);
        assertThat(cancelled.finished()).isEqualTo(StopReason.CANCELLED);
    }

    @Test
    void anExpiredLeaseIsRescuedToQueuedAndItsAttemptClosedAsLost() {
        Task task = kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        Rescuer rescuer = rescuer();

        assertThat(rescuer.rescueBatch()).as("lease still valid").isZero();
        expireLease(claimed.id(), LEASE.plusSeconds(1));
        assertThat(rescuer.rescueBatch()).isEqualTo(1);

        Task rescued = kit.tasks.find(task.id()).orElseThrow();
        assertThat(rescued.state()).isEqualTo(TaskState.QUEUED);
        assertThat(rescued.error().path("code").asText()).isEqualTo("lease_expired");
        assertThat(kit.count("SELECT count(*) FROM ended_attempts WHERE outcome = 'lost'"))
                .isEqualTo(1);
        assertThat(kit.completer.succeed(claimed, kit.jsonOf("\"late\""), null))
                .as("late result is stale")
                .isEmpty();
        assertThat(kit.claimer("node-b").claim(1))
                .extracting(ClaimedTask::attempt)
                .containsExactly(2);
    }

    @Test
    void aLeaseOfANodeThatStillBeatsIsLeftAloneUntilItIsThreeLeasesOverdue() {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        heartbeat("node-a", new RunningAttempts())
                .beat(); // alive, but (by a bug, say) not renewing this lease
        Rescuer rescuer = rescuer();

        expireLease(claimed.id(), LEASE.plusSeconds(1));
        assertThat(rescuer.rescueBatch())
                .as("its node is alive: it may still be renewing after an outage")
                .isZero();
        expireLease(claimed.id(), LEASE.multipliedBy(3));
        assertThat(rescuer.rescueBatch())
                .as("so overdue that it can't be an outage: never stuck forever")
                .isEqualTo(1);
    }

    @Test
    void aStalledPassCountsAsRegainingTheDatabase() {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        expireLease(claimed.id(), LEASE.plusSeconds(1));
        Rescuer rescuer = rescuer();
        assertThat(rescuer.rescue()).isZero();
        clock.advance(Duration.ofSeconds(14));
        assertThat(rescuer.rescue()).isZero();
        clock.advance(
                Duration.ofSeconds(
                        45)); // the next pass came late: it sat blocked on an unreachable database
        assertThat(rescuer.rescue()).as("waits a lease again after the stall").isZero();
        clock.advance(Duration.ofSeconds(14));
        assertThat(rescuer.rescue()).isZero();
        clock.advance(Duration.ofSeconds(16));
        assertThat(rescuer.rescue()).isEqualTo(1);
    }

    @Test
    void theLastAttemptRescuedFailsTheTaskAndACancelRequestedOneEndsCancelled() {
        Task lastTry = kit.insert(kit.withCallback("echo", "http://127.0.0.1:9/x", 1));
        Task toCancel = kit.insert(kit.withCallback("echo", "http://127.0.0.1:9/x", 3));
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(2);
        kit.tasks.cancel(toCancel.id());
        claimed.forEach(c -> expireLease(c.id(), LEASE.plusSeconds(1)));

        assertThat(rescuer().rescueBatch()).isEqualTo(2);

        assertThat(kit.tasks.find(lastTry.id()).orElseThrow().state()).isEqualTo(TaskState.FAILED);
        assertThat(kit.tasks.find(toCancel.id()).orElseThrow().state())
                .isEqualTo(TaskState.CANCELLED);
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(2);
    }

    @Test
    void aRescuerWaitsOneLeaseAfterReachingTheDatabaseBeforeItRescues() {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        expireLease(claimed.id(), LEASE.plusSeconds(1));
        Rescuer rescuer = rescuer();

        assertThat(rescuer.rescue()).isZero();
        clock.advance(LEASE.minusSeconds(1));
        assertThat(rescuer.rescue()).isZero();
        clock.advance(Duration.ofSeconds(1));
        assertThat(rescuer.rescue()).isEqualTo(1);
    }

    @Test
    void onlyOneRescuerRunsAtATime() throws Exception {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        expireLease(claimed.id(), LEASE.plusSeconds(1));
        try (var handle = kit.database.jdbi().open()) {
            handle.begin();
            handle.createQuery("SELECT 1 FROM pg_advisory_xact_lock(:key)")
                    .bind("key", Rescuer.LOCK_KEY)
                    .mapTo(Integer.class)
                    .one();
            assertThat(rescuer().rescueBatch()).as("another node holds the rescuer lock").isZero();
            handle.rollback();
        }
        assertThat(rescuer().rescueBatch()).isEqualTo(1);
    }

    private Rescuer rescuer() {
        return new Rescuer(kit.database.jdbi(), kit.json, kit.outbox, clock, LEASE);
    }

    private Heartbeat heartbeat(String node, RunningAttempts running) {
        return new Heartbeat(
                kit.database.jdbi(),
                new Heartbeat.Node(node, "host", 1, List.of("worker")),
                running,
                LEASE);
    }

    /**
     * Moves a lease's expiry back by {@code by}: database time passing, as far as that lease can
     * tell.
     */
    private void expireLease(UUID id, Duration by) {
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET lease_expires_at = lease_expires_at - make_interval(secs => ?) WHERE id = ?",
                                        (double) by.toSeconds(),
                                        id));
    }

    private double leaseExpiresEpochSeconds(UUID id) {
        return kit.database
                .jdbi()
                .withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT extract(epoch FROM lease_expires_at) FROM tasks WHERE id = :id")
                                        .bind("id", id)
                                        .mapTo(Double.class)
                                        .one());
    }

    private double dbEpochSeconds() {
        return kit.database
                .jdbi()
                .withHandle(
                        h ->
                                h.createQuery("SELECT extract(epoch FROM now())")
                                        .mapTo(Double.class)
                                        .one());
    }

    private static Thread blockedThread(RunningAttempt attempt, CountDownLatch interrupted)
            throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        Thread t =
                new Thread(
                        () -> {
                            attempt.executingOn(Thread.currentThread());
                            started.countDown();
                            try {
                                Thread.sleep(60_000);
                            } catch (InterruptedException e) {
                                interrupted.countDown();
                            }
                        });
        t.start();
        started.await();
        return t;
    }
}
