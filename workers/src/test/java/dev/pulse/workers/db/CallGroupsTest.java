package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * How calls are gathered: a group's gathering thread sleeps through its window rather than waking
 * for each call, so what ends a window early (a full group) must wake it.
 */
class CallGroupsTest {

    private static final Duration LONGER_THAN_THE_TEST = Duration.ofMinutes(10);

    @Test
    void callsArrivingWhileTheWindowIsOpenJoinItsGroupAndAFullGroupIsServedAtOnce()
            throws Exception {
        List<List<Integer>> served = new CopyOnWriteArrayList<>();
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try (CallGroups<Integer, Integer> groups =
                new CallGroups<>(
                        "test",
                        group -> {
                            served.add(group);
                            return group.stream().map(n -> n * 10).toList();
                        },
                        LONGER_THAN_THE_TEST,
                        3,
                        1)) {
            List<Future<Integer>> answers = new ArrayList<>();
            for (int n = 1; n <= 3; n++) {
                int request = n;
                answers.add(callers.submit(() -> groups.call(request)));
                // Spaced out, so that the later calls come while the first one's group is
                // already gathering (its thread asleep for the window), not before it starts.
                Thread.sleep(200);
            }
            List<Integer> got = new ArrayList<>();
            for (Future<Integer> answer : answers) {
                // Far shorter than the window: only a wake-up by the call that filled the group
                // answers in time.
                got.add(answer.get(2, TimeUnit.MINUTES));
            }
            assertThat(got).containsExactly(10, 20, 30);
            assertThat(served).containsExactly(List.of(1, 2, 3));
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void withNoWindowALoneCallIsServedAlone() {
        List<List<Integer>> served = new CopyOnWriteArrayList<>();
        try (CallGroups<Integer, Integer> groups =
                new CallGroups<>(
                        "test",
                        group -> {
                            served.add(group);
                            return group;
                        },
                        Duration.ZERO,
                        100,
                        1)) {
            assertThat(groups.call(7)).isEqualTo(7);
            assertThat(groups.call(8)).isEqualTo(8);
        }
        assertThat(served).containsExactly(List.of(7), List.of(8));
    }
}
