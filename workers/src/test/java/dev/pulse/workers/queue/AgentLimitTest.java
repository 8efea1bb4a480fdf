package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Per-agent max_concurrency is enforced at claim time, across nodes. */
class AgentLimitTest {

    private static final Map<String, Integer> LIMITS = Map.of("llm", 2);
    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void aLimitedAgentNeverRunsMoreThanItsLimitEvenWhenNodesClaimTogether() throws Exception {
        for (int i = 0; i < 20; i++) {
            kit.insert(kit.newTask("llm", 0));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<ClaimedTask> claimed = Collections.synchronizedList(new ArrayList<>());
        List<Future<?>> nodes = new ArrayList<>();
        for (int n = 0; n < 4; n++) {
            TaskClaimer claimer = kit.claimer("node-" + n, LIMITS);
            nodes.add(
                    pool.submit(
                            () -> {
                                for (int round = 0; round < 5; round++) {
                                    claimed.addAll(claimer.claim(10));
                                }
                            }));
        }
        for (Future<?> f : nodes) {
            f.get();
        }
        pool.shutdown();

        assertThat(claimed).hasSize(2);
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'running'")).isEqualTo(2);

        kit.completer.succeed(claimed.get(0), kit.json.nullNode(), null);
        assertThat(kit.claimer("node-0", LIMITS).claim(10))
                .as("a finished run frees one slot")
                .hasSize(1);
        assertThat(kit.claimer("node-1", LIMITS).claim(10)).isEmpty();
    }

    @Test
    void otherAgentsAreClaimedPastABlockedAgentsBacklog() {
        for (int i = 0; i < 50; i++) {
            kit.insert(kit.newTask("llm", -1)); // ahead in priority
        }
        for (int i = 0; i < 5; i++) {
            kit.insert(kit.newTask("echo", 0));
        }
        TaskClaimer claimer = kit.claimer("node-a", LIMITS);

        List<ClaimedTask> first = claimer.claim(4);
        assertThat(first).extracting(c -> c.task().agent()).containsExactly("llm", "llm");

        List<ClaimedTask> next = claimer.claim(10);
        assertThat(next).extracting(c -> c.task().agent()).containsOnly("echo").hasSize(5);
    }

    @Test
    void aClaimerTakesOneLimitedAgentsTasksWhileAnotherClaimerHoldsAnotherLimitedAgentsLock()
            throws Exception {
        Map<String, Integer> limits = Map.of("llm", 1, "scraper", 1);
        for (int i = 0; i < 3; i++) {
            kit.insert(kit.newTask("llm", 0));
            kit.insert(kit.newTask("scraper", 0));
            kit.insert(kit.newTask("echo", 0));
        }
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Handle llmClaimer = kit.database.jdbi().open()) {
            llmClaimer.begin(); // a claimer in the middle of filling llm's slot
            assertThat(
                            llmClaimer
                                    .createQuery(TaskClaimer.TRY_LOCKS)
                                    .bind("agents", new String[] {"llm"})
                                    .bind("keys", new String[] {null})
                                    .bind("agent_locks", new Integer[] {TaskClaimer.lockKey("llm")})
                                    .mapToMap()
                                    .list())
                    .hasSize(1);

            Future<List<ClaimedTask>> scraperClaim =
                    pool.submit(() -> kit.claimer("node-b", limits).claim(10));
            List<ClaimedTask> claimed = scraperClaim.get(60, TimeUnit.SECONDS);
            assertThat(claimed)
                    .extracting(c -> c.task().agent())
                    .as(
                            "scraper's slot and every echo task, llm's rows left to the claimer holding its lock")
                    .containsExactlyInAnyOrder("scraper", "echo", "echo", "echo");
            llmClaimer.rollback();
        } finally {
            pool.shutdown();
        }
        assertThat(kit.claimer("node-c", limits).claim(10))
                .extracting(c -> c.task().agent())
                .as("llm's lock released")
                .containsExactly("llm");
        assertThat(kit.claimer("node-d", limits).claim(10))
                .as("both limited agents full")
                .isEmpty();
    }

    @Test
    void limitsAreReadAtEveryClaimSoASetRaisedOrRemovedLimitAppliesToTheNextClaim() {
        for (int i = 0; i < 10; i++) {
            kit.insert(kit.newTask("llm", 0));
        }
        AtomicReference<Map<String, AgentLimits>> limits = new AtomicReference<>(Map.of());
        TaskClaimer claimer =
                new TaskClaimer(
                        kit.database.jdbi(),
                        kit.json,
                        TaskClaimer.Settings.of("node-a", Duration.ofSeconds(30))
                                .withLimits(limits::get));

        limits.set(Map.of("llm", AgentLimits.concurrency(1)));
        assertThat(claimer.claim(10)).as("a limit set after the claimer was made").hasSize(1);
        assertThat(claimer.claim(10)).isEmpty();

        limits.set(Map.of("llm", AgentLimits.concurrency(3)));
        assertThat(claimer.claim(10)).as("raised to 3 with 1 running").hasSize(2);
        assertThat(claimer.claim(10)).isEmpty();

        limits.set(Map.of());
        assertThat(claimer.claim(10)).as("removed").hasSize(7);
    }

    /**
     * Four claimers that finish what they claim and claim again, over two limited agents and an
     * unlimited one, until every task is done. Each claimer counts a task as running from its claim
     * until just before its result is written, so the counts are never above what the database
     * holds as running; they are checked against the limits at every claim.
     */
    @Test
    void claimersThatFinishAndClaimAgainNeverExceedAnyLimit() throws Exception {
        Map<String, Integer> limits = Map.of("llm", 2, "scraper", 3);
        for (int i = 0; i < 60; i++) {
            kit.insert(kit.newTask("llm", i % 3));
            kit.insert(kit.newTask("scraper", i % 2));
            kit.insert(kit.newTask("echo", 1));
        }
        Map<String, AtomicInteger> running =
                Map.of(
                        "llm",
                        new AtomicInteger(),
                        "scraper",
                        new AtomicInteger(),
                        "echo",
                        new AtomicInteger());
        Map<String, AtomicInteger> most =
                Map.of(
                        "llm",
                        new AtomicInteger(),
                        "scraper",
                        new AtomicInteger(),
                        "echo",
                        new AtomicInteger());
        AtomicInteger done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> claimers = new ArrayList<>();
        for (int n = 0; n < 4; n++) {
            TaskClaimer claimer = kit.claimer("node-" + n, limits);
            claimers.add(
                    pool.submit(
                            () -> {
                                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                                while (done.get() < 180) {
                                    if (System.nanoTime() > deadline) {
                                        throw new AssertionError(
                                                "not done after 120 s: " + done.get());
                                    }
                                    List<ClaimedTask> claimed = claimer.claim(4);
                                    for (ClaimedTask c : claimed) {
                                        String agent = c.task().agent();
                                        most.get(agent)
                                                .accumulateAndGet(
                                                        running.get(agent).incrementAndGet(),
                                                        Math::max);
                                    }
                                    for (ClaimedTask c : claimed) {
                                        running.get(c.task().agent()).decrementAndGet();
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
                .isEqualTo(180);
        assertThat(most.get("llm").get()).as("llm at once").isBetween(1, 2);
        assertThat(most.get("scraper").get()).as("scraper at once").isBetween(1, 3);
    }
}
