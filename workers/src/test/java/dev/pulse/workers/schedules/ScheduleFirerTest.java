package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import dev.pulse.workers.schedules.ScheduleFirer.Outcome;
import dev.pulse.workers.testing.QueueKit;
import dev.pulse.workers.timing.WakeUp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Invariant 6 and the overlap and misfire policies, on a real PostgreSQL. */
class ScheduleFirerTest {

    private static final Instant TICK = Instant.parse("2026-11-21T10:00:00Z");
    @RegisterExtension final QueueKit kit = new QueueKit();
    private ScheduleStore store;
    private ScheduleFirer firer;

    @BeforeEach
    void setUp() {
        store = new ScheduleStore(kit.database.jdbi(), kit.json, UUID::randomUUID);
        firer =
                new ScheduleFirer(
                        kit.database.jdbi(),
                        store,
                        kit.tasks,
                        new AgentRegistry(JavaAgents.discover().definitions()),
                        new WakeUp());
    }

    @Test
    void manySchedulersFiringTheSameTickMakeOneTask() throws Exception {
        save("nightly", "0 2 * * *", Misfire.SKIP, Overlap.ALLOW, true);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Callable<ScheduleFirer.Fired>> firings = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            firings.add(() -> firer.fire("nightly", TICK));
        }
        List<Outcome> outcomes = new ArrayList<>();
        for (Future<ScheduleFirer.Fired> f : pool.invokeAll(firings)) {
            outcomes.add(f.get().outcome());
        }
        pool.shutdown();

        assertThat(outcomes)
                .containsOnlyOnce(Outcome.ENQUEUED)
                .filteredOn(o -> o != Outcome.ENQUEUED)
                .containsOnly(Outcome.DUPLICATE);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM tasks WHERE schedule_name = 'nightly' AND fire_time = '"
                                        + TICK
                                        + "'"))
                .isEqualTo(1);
    }

    @Test
    void aPausedOrDeletedScheduleDoesNotFire() {
        save("paused", "* * * * *", Misfire.SKIP, Overlap.ALLOW, false);
        assertThat(firer.fire("paused", TICK).outcome()).isEqualTo(Outcome.NOT_FIRED);
        assertThat(firer.fire("never-existed", TICK).outcome()).isEqualTo(Outcome.NOT_FIRED);
        assertThat(kit.count("SELECT count(*) FROM tasks")).isZero();
    }

    @Test
    void overlapSkipDropsATickWhileTheLastRunIsActive() {
        save("report", "* * * * *", Misfire.SKIP, Overlap.SKIP, true);
        assertThat(firer.fire("report", TICK).outcome()).isEqualTo(Outcome.ENQUEUED);
        assertThat(firer.fire("report", TICK.plusSeconds(60)).outcome())
                .isEqualTo(Outcome.SKIPPED_OVERLAP);
        finishActiveRun();
        assertThat(firer.fire("report", TICK.plusSeconds(120)).outcome())
                .isEqualTo(Outcome.ENQUEUED);
        assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(2);
    }

    @Test
    void overlapQueueHoldsTicksAndReleasesThemOneAtATimeInOrder() {
        save("sync", "* * * * *", Misfire.SKIP, Overlap.QUEUE, true);
        firer.fire("sync", TICK);
        assertThat(firer.fire("sync", TICK.plusSeconds(60)).outcome()).isEqualTo(Outcome.WAITING);
        assertThat(firer.fire("sync", TICK.plusSeconds(120)).outcome()).isEqualTo(Outcome.WAITING);
        assertThat(firer.releaseWaiting()).as("the first run is still active").isZero();

        finishActiveRun();
        assertThat(firer.releaseWaiting()).isEqualTo(1);
        assertThat(firer.releaseWaiting()).as("one at a time").isZero();
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM tasks WHERE fire_time = '"
                                        + TICK.plusSeconds(60)
                                        + "'"))
                .isEqualTo(1);

        finishActiveRun();
        assertThat(firer.releaseWaiting()).isEqualTo(1);
        assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(3);
    }

    @Test
    void overlapAllowRunsEveryTick() {
        save("fanout", "* * * * *", Misfire.SKIP, Overlap.ALLOW, true);
        firer.fire("fanout", TICK);
        firer.fire("fanout", TICK.plusSeconds(60));
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'queued'")).isEqualTo(2);
    }

    @Test
    void misfireSkipRunsNoneOfTheMissedTicks() {
        missedTenMinutes("skipper", Misfire.SKIP, 3);
        assertThat(firer.recoverMissedTicks(Duration.ofSeconds(60))).isZero();
        assertThat(kit.count("SELECT count(*) FROM tasks")).isZero();
        assertThat(firer.recoverMissedTicks(Duration.ofSeconds(60))).as("accounted for").isZero();
    }

    @Test
    void misfireRunOnceRunsTheLatestMissedTickOnce() {
        missedTenMinutes("once", Misfire.RUN_ONCE, 3);
        assertThat(firer.recoverMissedTicks(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(firer.recoverMissedTicks(sinceLastTick("once")))
                .isZero(); // see the catch-up test
        assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(1);
    }

    @Test
    void misfireCatchUpRunsTheLatestMissedTicksUpToItsMaximum() {
        missedTenMinutes("catcher", Misfire.CATCH_UP, 3);
        assertThat(firer.recoverMissedTicks(Duration.ofSeconds(60))).isEqualTo(3);
        // The second time, the grace reaches back to the last tick fired: with the first call's, a
        // minute boundary passing between the two calls would make a new tick due (a flake seen in
        // CI), not a tick fired twice. (A fixed longer grace only narrows that window.)
        assertThat(firer.recoverMissedTicks(sinceLastTick("catcher"))).isZero();
        List<Instant> ticks =
                kit
                        .database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT fire_time FROM tasks ORDER BY fire_time")
                                                .mapTo(OffsetDateTime.class)
                                                .list())
                        .stream()
                        .map(OffsetDateTime::toInstant)
                        .toList();
        assertThat(ticks).hasSize(3);
        assertThat(Duration.between(ticks.get(0), ticks.get(2))).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void triggerNowRunsOutsideTheCronAndLeavesTickAccountingAlone() {
        save("manual", "0 0 1 1 *", Misfire.CATCH_UP, Overlap.ALLOW, false);
        ScheduleFirer.Fired fired = firer.triggerNow("manual").orElseThrow();
        assertThat(fired.outcome()).isEqualTo(Outcome.ENQUEUED);
        assertThat(fired.task().scheduleName()).isEqualTo("manual");
        assertThat(firer.triggerNow("nope")).isEmpty();
    }

    @Test
    void savingTheSameScheduleTwiceChangesNothing() {
        assertThat(save("same", "@hourly", Misfire.SKIP, Overlap.ALLOW, true).change())
                .isEqualTo(ScheduleStore.Change.CREATED);
        assertThat(save("same", "@hourly", Misfire.SKIP, Overlap.ALLOW, true).change())
                .isEqualTo(ScheduleStore.Change.UNCHANGED);
        assertThat(save("same", "@daily", Misfire.SKIP, Overlap.ALLOW, true).change())
                .isEqualTo(ScheduleStore.Change.UPDATED);
    }

    @Test
    void theRecentFiresOfEveryScheduleAreReadTogetherNewestFirstAndAtMostTheLimitEach() {
        save("every-minute", "* * * * *", Misfire.SKIP, Overlap.ALLOW, true);
        save("once", "* * * * *", Misfire.SKIP, Overlap.ALLOW, true);
        save("never-fired", "* * * * *", Misfire.SKIP, Overlap.ALLOW, true);
        for (int i = 0; i < 3; i++) {
            firer.fire("every-minute", TICK.plusSeconds(60L * i));
        }
        firer.fire("once", TICK);

        Map<String, List<ScheduleStore.Fire>> fires = store.recentFiresOfAll(2);

        assertThat(fires.keySet()).containsExactlyInAnyOrder("every-minute", "once");
        assertThat(fires.get("every-minute"))
                .extracting(ScheduleStore.Fire::fireTime)
                .containsExactly(TICK.plusSeconds(120), TICK.plusSeconds(60));
        assertThat(fires.get("every-minute")).isEqualTo(store.recentFires("every-minute", 2));
        assertThat(fires.get("once"))
                .extracting(ScheduleStore.Fire::outcome, ScheduleStore.Fire::taskState)
                .containsExactly(Tuple.tuple("enqueued", "queued"));
    }

    private void missedTenMinutes(String name, Misfire misfire, int catchUpMax) {
        ScheduleDefinition d =
                new ScheduleDefinition(
                        name,
                        CronSpec.parse("* * * * *"),
                        ZoneId.of("UTC"),
                        "echo",
                        kit.json.createObjectNode(),
                        kit.json.createObjectNode(),
                        null,
                        misfire,
                        catchUpMax,
                        Overlap.ALLOW,
                        true,
                        DstPolicy.DEFAULT,
                        null,
                        Bounds.NONE);
        store.save(d);
        // As if every scheduler had been down for the last ten minutes.
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE schedules SET fired_through = date_trunc('minute', now()) - interval '10 minutes' WHERE name = ?",
                                        name));
    }

    /**
     * A grace that makes the last tick fired the latest one due, wherever the clock's minute is
     * now.
     */
    private Duration sinceLastTick(String name) {
        return Duration.ofMillis(
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT (extract(epoch FROM now() - max(fire_time)) * 1000)::bigint FROM tasks WHERE schedule_name = ?")
                                                .bind(0, name)
                                                .mapTo(Long.class)
                                                .one()));
    }

    private ScheduleStore.Saved save(
            String name, String cron, Misfire misfire, Overlap overlap, boolean enabled) {
        return store.save(
                new ScheduleDefinition(
                        name,
                        CronSpec.parse(cron),
                        ZoneId.of("UTC"),
                        "echo",
                        kit.json.createObjectNode(),
                        kit.json.createObjectNode(),
                        null,
                        misfire,
                        10,
                        overlap,
                        enabled,
                        DstPolicy.DEFAULT,
                        null,
                        Bounds.NONE));
    }

    private void finishActiveRun() {
        ClaimedTask running = kit.claimer("node-a").claim(1).get(0);
        kit.completer.succeed(running, kit.json.nullNode(), null);
    }
}
