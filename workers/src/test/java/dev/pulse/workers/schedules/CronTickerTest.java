package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import dev.pulse.workers.testing.QueueKit;
import dev.pulse.workers.timing.WakeUp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scheduler nodes embedded in one JVM, as the tests and {@code pulse bench} run them: each node's
 * ticker is its own, so every tick becomes exactly one task while both run, and closing one node
 * leaves the other ticking. (Before, every node's Quartz scheduler was named "pulse", so Quartz's
 * static SchedulerRepository handed the second node the first node's scheduler; closing either
 * stopped ticking for both.)
 */
class CronTickerTest {

    private static final Duration PATIENCE = Duration.ofSeconds(60);

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void twoNodesInOneJvmTickOnTheirOwnAndEachTickIsOneTask() throws Exception {
        ScheduleStore store = new ScheduleStore(kit.database.jdbi(), kit.json, UUID::randomUUID);
        store.save(
                new ScheduleDefinition(
                        "every-second",
                        CronSpec.parse("* * * * * ?"),
                        ZoneId.of("UTC"),
                        "echo",
                        kit.json.createObjectNode(),
                        kit.json.createObjectNode(),
                        null,
                        Misfire.SKIP,
                        10,
                        Overlap.ALLOW,
                        true,
                        DstPolicy.DEFAULT,
                        null,
                        Bounds.NONE));
        LongSupplier tasks =
                () -> kit.count("SELECT count(*) FROM tasks WHERE schedule_name = 'every-second'");

        CronTicker a = ticker(store);
        try (CronTicker b = ticker(store)) {
            a.start();
            b.start();
            awaitAtLeast(tasks, 3);
            a.close();
            long afterClosingA = tasks.getAsLong();
            awaitAtLeast(tasks, afterClosingA + 3);
        } finally {
            a.close();
        }

        List<Instant> ticks =
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT fire_time FROM tasks WHERE schedule_name = 'every-second' ORDER BY fire_time")
                                                .map((rs, ctx) -> rs.getTimestamp(1).toInstant())
                                                .list());
        assertThat(ticks).as("one task per tick").doesNotHaveDuplicates();
        assertThat(ticks)
                .as("a tick every second, none missing, from the first to the last")
                .hasSize(
                        (int)
                                        Duration.between(ticks.get(0), ticks.get(ticks.size() - 1))
                                                .toSeconds()
                                + 1);
    }

    /**
     * A node starting after every scheduler was down: the misfire policy gets the missed ticks,
     * then fresh ticks fire.
     */
    @Test
    void missedTicksFollowTheMisfirePolicyBeforeFreshTicksFire() throws Exception {
        ScheduleStore store = new ScheduleStore(kit.database.jdbi(), kit.json, UUID::randomUUID);
        store.save(
                new ScheduleDefinition(
                        "minutely",
                        CronSpec.parse("* * * * *"),
                        ZoneId.of("UTC"),
                        "echo",
                        kit.json.createObjectNode(),
                        kit.json.createObjectNode(),
                        null,
                        Misfire.CATCH_UP,
                        3,
                        Overlap.ALLOW,
                        true,
                        DstPolicy.DEFAULT,
                        null,
                        Bounds.NONE));
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE schedules SET fired_through = now() - interval '10 minutes' WHERE name = 'minutely'"));
        ScheduleFirer firer = firer(store);
        try (CronTicker ticker = new CronTicker(store, firer, Duration.ofSeconds(2))) {
            ticker.round(firer.databaseNow());
        }
        // catch_up_max 3 older ticks, and the tick of the last minute unless it is the newest of
        // them
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE schedule_name = 'minutely'"))
                .isBetween(3L, 4L);
    }

    private ScheduleFirer firer(ScheduleStore store) {
        return new ScheduleFirer(
                kit.database.jdbi(),
                store,
                kit.tasks,
                new AgentRegistry(JavaAgents.discover().definitions()),
                new WakeUp());
    }

    private CronTicker ticker(ScheduleStore store) {
        ScheduleFirer firer =
                new ScheduleFirer(
                        kit.database.jdbi(),
                        store,
                        kit.tasks,
                        new AgentRegistry(JavaAgents.discover().definitions()),
                        new WakeUp());
        return new CronTicker(store, firer, Duration.ofSeconds(2));
    }

    private static void awaitAtLeast(LongSupplier count, long atLeast) throws InterruptedException {
        Instant deadline = Instant.now().plus(PATIENCE);
        while (count.getAsLong() < atLeast) {
            assertThat(Instant.now())
                    .as("%d tasks within %s", atLeast, PATIENCE)
                    .isBefore(deadline);
            Thread.sleep(100);
        }
    }
}
