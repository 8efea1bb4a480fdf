package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The two scans of a claim are statements of their own: a scan that met a moved row (40001) runs
 * again alone, and the scan before it, already committed, does not run twice.
 */
class ResumedScansTest {

    private static final RuntimeException MOVED =
            new RuntimeException(new SQLException("tuple to be locked was already moved", "40001"));

    private final List<String> calls = new ArrayList<>();

    @Test
    void aFromStartScanThatMetAMovedRowRunsAgainWithoutRunningTheResumedOne() {
        ResumedScans<Integer> scans = new ResumedScans<>(Duration.ofHours(1));
        scans.claim(3, (after, n) -> List.of(), rows(0, 0), r -> r);
        calls.clear();

        List<Integer> claimed = scans.claim(4, resumed(2), rows(1, 10), r -> r);

        assertThat(claimed).containsExactly(3, 4, 10, 11);
        assertThat(calls).containsExactly("resumed 4", "fromStart 2", "fromStart 2");
    }

    @Test
    void aResumedScanThatMetAMovedRowRunsAgainAlone() {
        ResumedScans<Integer> scans = new ResumedScans<>(Duration.ofHours(1));
        scans.claim(3, (after, n) -> List.of(), rows(0, 0), r -> r);
        calls.clear();
        int[] failures = {1};

        List<Integer> claimed =
                scans.claim(
                        2,
                        (after, n) -> {
                            calls.add("resumed " + n);
                            if (failures[0]-- > 0) {
                                throw MOVED;
                            }
                            return List.of(after + 1, after + 2);
                        },
                        rows(0, 10),
                        r -> r);

        assertThat(claimed).containsExactly(3, 4);
        assertThat(calls).containsExactly("resumed 2", "resumed 2");
    }

    @Test
    void otherErrorsAreNotRunAgain() {
        ResumedScans<Integer> scans = new ResumedScans<>(Duration.ofHours(1));
        RuntimeException other = new RuntimeException(new SQLException("boom", "57014"));

        assertThatThrownBy(
                        () ->
                                scans.<Integer>claim(
                                        2,
                                        (after, n) -> List.of(),
                                        n -> {
                                            calls.add("fromStart " + n);
                                            throw other;
                                        },
                                        r -> r))
                .isSameAs(other);
        assertThat(calls).containsExactly("fromStart 2");
    }

    /** A resumed scan that finds {@code found} rows past its position. */
    private BiFunction<Integer, Integer, List<Integer>> resumed(int found) {
        return (after, n) -> {
            calls.add("resumed " + n);
            return IntStream.rangeClosed(after + 1, after + found).boxed().toList();
        };
    }

    /**
     * A scan from the start that fails {@code failures} times, then finds rows from {@code first}.
     */
    private IntFunction<List<Integer>> rows(int failures, int first) {
        int[] left = {failures};
        return n -> {
            calls.add("fromStart " + n);
            if (left[0]-- > 0) {
                throw MOVED;
            }
            return IntStream.range(first, first + n).boxed().toList();
        };
    }
}
