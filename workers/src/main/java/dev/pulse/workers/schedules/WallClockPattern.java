package dev.pulse.workers.schedules;

import java.time.LocalDateTime;

/**
 * When a cron expression matches, as wall-clock times with no zone: the part of a schedule that
 * knows nothing of DST. {@link FireTimes} turns these into instants in a zone under a {@link
 * DstPolicy}.
 */
interface WallClockPattern {

    /** How far ahead {@link #nextAfter} looks before concluding the pattern never matches again. */
    int HORIZON_YEARS = 60;

    /**
     * The first matching wall-clock time strictly after {@code time}, or null within {@link
     * #HORIZON_YEARS}.
     */
    LocalDateTime nextAfter(LocalDateTime time);

    /**
     * Whether this is a periodic job rather than a fixed-time one: its minute or hour field starts
     * with {@code *} (cronie's MIN_STAR/HR_STAR, the same test cronie makes when clocks change). A
     * periodic job runs in every real hour; a fixed-time job follows the DST policy.
     */
    boolean periodic();
}
