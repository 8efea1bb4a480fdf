package dev.pulse.workers.db;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Claims from a queue index that resume where the last full claim stopped. A claim that scans from
 * the start of a queue index walks past the entries of every row claimed since the table was last
 * vacuumed (they stay, dead, at the front); under a backlog that walk was most of the database's
 * time (docs/benchmarks.md). So after a full claim the next one starts past its last row, and the
 * index is scanned from the start again at once when a resumed claim comes back short, and at least
 * every {@code rescanEvery}: a row that sorts before the resume point (a more urgent one, one
 * handed back) waits at most that long. The position is a hint: any value is safe, so threads
 * sharing one need not agree on it. Each scan is a statement of its own, committed before the next:
 * one that met a row a concurrent finish moved to another partition runs again alone ({@link
 * MovedRows#again}), never the scan before it.
 *
 * @param <P> a position in the index's order
 */
public final class ResumedScans<P> {

    private final Duration rescanEvery;
    private volatile P after;
    private volatile long rescanDue;

    public ResumedScans(Duration rescanEvery) {
        this.rescanEvery = rescanEvery;
    }

    /**
     * @param resumed claims at most the given number of rows past the given position
     * @param fromStart claims at most the given number of rows from the start of the index
     * @param position the position of a claimed row (the last one claimed is resumed after)
     */
    public <T> List<T> claim(
            int limit,
            BiFunction<P, Integer, List<T>> resumed,
            IntFunction<List<T>> fromStart,
            Function<T, P> position) {
        P from = after;
        List<T> claimed = new ArrayList<>(limit);
        if (from != null && System.nanoTime() - rescanDue < 0) {
            claimed.addAll(MovedRows.again(() -> resumed.apply(from, limit)));
        }
        if (claimed.size() < limit) {
            int rest = limit - claimed.size();
            claimed.addAll(MovedRows.again(() -> fromStart.apply(rest)));
            rescanDue = System.nanoTime() + rescanEvery.toNanos();
        }
        // Resume only after a full claim: a short one has reached the end of what is due.
        after = claimed.size() == limit ? position.apply(claimed.get(claimed.size() - 1)) : null;
        return claimed;
    }
}
