package dev.pulse.workers.tasks;

import java.time.Duration;

/**
 * What the two retention duties ({@link DayPartitionDrops}, {@link RowPruning}) run by.
 *
 * @param retention how long terminal tasks are kept after they finished; positive
 * @param every how often a pass runs
 * @param pauseBetweenBatches how long a pass rests between two batches of deletes, so that it never
 *     holds the database for long
 */
public record RetentionSchedule(Duration retention, Duration every, Duration pauseBetweenBatches) {

    public RetentionSchedule {
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException("retention must be positive");
        }
    }

    /** Passes every {@code every}, resting 20 ms between batches. */
    public RetentionSchedule(Duration retention, Duration every) {
        this(retention, every, Duration.ofMillis(20));
    }

    /** The retention as the {@code retention_seconds} the statements bind. */
    double retentionSeconds() {
        return retention.toMillis() / 1000.0;
    }
}
