package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.QueueKit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Per-agent max_concurrency is enforced at claim time, across nodes. */
class AgentLimitTest {

    private static final Map<String, Integer> LIMITS = Map.of("llm", 2);
    @RegisterExtension
    final QueueKit kit = new QueueKit();

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
            nodes.add(pool.submit(() -> {
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
        assertThat(kit.claimer("node-0", LIMITS).claim(10)).as("a finished run frees one slot").hasSize(1);
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
}
