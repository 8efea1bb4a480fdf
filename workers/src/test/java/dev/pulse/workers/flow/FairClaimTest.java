package dev.pulse.workers.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.executors.agents.FlowLimits;
import dev.pulse.executors.agents.RateLimit;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.queue.TaskClaimer;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.testing.QueueKit;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The claim order rotates across concurrency keys within a priority; per-key and rate limits hold
 * back exactly the rows they should, and say so through {@link WaitingReasons}.
 */
class FairClaimTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    private List<NewTask> keyed(String agent, String key, int n) {
        List<NewTask> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(
                    NewTask.builder(agent, kit.json.createObjectNode(), kit.json.createObjectNode())
                            .maxAttempts(1)
                            .timeoutSeconds(60)
                            .concurrencyKey(key)
                            .build());
        }
        return tasks;
    }

    @Test
    void aKeyQueuedAfterAFloodIsClaimedBesideItsNextTasksNotBehindThemAll() {
        kit.tasks.enqueueAll(keyed("echo", "flood", 500), TaskStore.NO_OWNER);
        kit.tasks.enqueueAll(keyed("echo", "flood", 500), TaskStore.NO_OWNER);
        kit.tasks.enqueueAll(keyed("echo", "other", 3), TaskStore.NO_OWNER);

        List<ClaimedTask> first = kit.claimer("node-a").claim(6);
        assertThat(first)
                .extracting(c -> c.task().concurrencyKey())
                .containsExactly("flood", "other", "flood", "other", "flood", "other");
    }

    @Test
    void tasksWithoutAKeyKeepTheirDueTimeOrder() {
        Task a = kit.insert(kit.newTask("echo", 0));
        Task b = kit.insert(kit.newTask("echo", 0));
        kit.tasks.enqueueAll(keyed("echo", "k", 3), TaskStore.NO_OWNER);
        Task c = kit.insert(kit.newTask("echo", 0));

        List<ClaimedTask> claimed = kit.claimer("node-a").claim(3);
        assertThat(claimed)
                .extracting(ClaimedTask::id)
                .as("unkeyed tasks in due order, the key's first task among them")
                .startsWith(a.id(), b.id());
        assertThat(kit.claimer("node-a").claim(10)).extracting(ClaimedTask::id).contains(c.id());
    }

    @Test
    void perKeyConcurrencyHoldsBackOnlyTheFullKeyAndSaysSo() {
        Map<String, AgentLimits> limits =
                Map.of("llm", new AgentLimits(null, new FlowLimits(1, null, null)));
        kit.tasks.enqueueAll(keyed("llm", "a", 5), TaskStore.NO_OWNER);
        kit.tasks.enqueueAll(keyed("llm", "b", 5), TaskStore.NO_OWNER);
        TaskClaimer claimer =
                new TaskClaimer(
                        kit.database.jdbi(),
                        kit.json,
                        TaskClaimer.Settings.of("node-a", Duration.ofSeconds(30))
                                .withLimits(() -> limits));

        List<ClaimedTask> claimed = claimer.claim(10);
        assertThat(claimed)
                .extracting(c -> c.task().concurrencyKey())
                .containsExactlyInAnyOrder("a", "b");
        assertThat(claimer.claim(10)).isEmpty();

        WaitingReasons waiting =
                new WaitingReasons(kit.database.jdbi(), () -> limits, Clock.systemUTC());
        List<Task> queued =
                kit
                        .tasks
                        .list(dev.pulse.workers.tasks.TaskFilter.of(null, "llm", null, null, 50))
                        .items()
                        .stream()
                        .filter(t -> t.state() == dev.pulse.workers.tasks.TaskState.QUEUED)
                        .toList();
        assertThat(waiting.of(queued).values())
                .hasSize(8)
                .allSatisfy(
                        w ->
                                assertThat(w.reason())
                                        .isEqualTo(WaitingReason.KEY_CONCURRENCY_LIMITED));
        assertThat(waiting.countsByReason(1000)).containsEntry("key_concurrency_limited", 8L);

        kit.completer.succeed(claimed.get(0), kit.json.nullNode(), null);
        assertThat(claimer.claim(10))
                .extracting(c -> c.task().concurrencyKey())
                .as("the key whose run ended gets its next")
                .containsExactly(claimed.get(0).task().concurrencyKey());
    }

    @Test
    void aRateLimitStartsNoMoreThanItsLimitInAWindowAndSaysUntilWhen() {
        Map<String, AgentLimits> limits =
                Map.of(
                        "llm",
                        new AgentLimits(
                                null,
                                new FlowLimits(null, new RateLimit(3, Duration.ofHours(1)), null)));
        kit.tasks.enqueueAll(keyed("llm", null, 5), TaskStore.NO_OWNER);
        TaskClaimer claimer =
                new TaskClaimer(
                        kit.database.jdbi(),
                        kit.json,
                        TaskClaimer.Settings.of("node-a", Duration.ofSeconds(30))
                                .withLimits(() -> limits));

        List<ClaimedTask> claimed = claimer.claim(10);
        assertThat(claimed).hasSize(3);
        claimed.forEach(c -> kit.completer.succeed(c, kit.json.nullNode(), null));
        assertThat(claimer.claim(10)).as("ended runs still count as starts").isEmpty();
        assertThat(kit.count("SELECT count(*) FROM flow_starts WHERE agent = 'llm'")).isEqualTo(3);

        WaitingReasons waiting =
                new WaitingReasons(kit.database.jdbi(), () -> limits, Clock.systemUTC());
        Task queued =
                kit.tasks
                        .list(
                                dev.pulse.workers.tasks.TaskFilter.of(
                                        dev.pulse.workers.tasks.TaskState.QUEUED,
                                        "llm",
                                        null,
                                        null,
                                        10))
                        .items()
                        .get(0);
        Waiting w = waiting.of(queued).orElseThrow();
        assertThat(w.reason()).isEqualTo(WaitingReason.RATE_LIMITED);
        assertThat(w.until()).isAfter(claimed.get(0).startedAt().plus(Duration.ofMinutes(59)));
    }
}
