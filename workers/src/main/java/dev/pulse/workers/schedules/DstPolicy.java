package dev.pulse.workers.schedules;

import java.util.Locale;

/**
 * What a fixed-time schedule does on the two days a year its zone's clocks change (periodic
 * schedules, whose minute or hour field starts with {@code *}, simply run in every real hour).
 * {@code gap}: a wall time that doesn't exist (spring forward) runs at the jump ({@link
 * Gap#RUN_AFTER}) or not at all ({@link Gap#SKIP}). {@code repeat}: a wall time that occurs twice
 * (fall back) runs once, at its {@link Repeat#FIRST} or {@link Repeat#SECOND} occurrence.
 * Documented with instants in docs/api.md ("Time zones and DST").
 */
public record DstPolicy(Gap gap, Repeat repeat) {

    public static final DstPolicy DEFAULT = new DstPolicy(Gap.RUN_AFTER, Repeat.FIRST);

    public enum Gap {
        /** Run once, at the instant the clocks jump (a 02:30 that doesn't exist runs at 03:00). */
        RUN_AFTER,
        /** Don't run that day. */
        SKIP
    }

    public enum Repeat {
        /** Run at the first of the two occurrences (still on summer time). */
        FIRST,
        /** Run at the second occurrence (already on standard time). */
        SECOND
    }

    public DstPolicy {
        if (gap == null || repeat == null) {
            throw new IllegalArgumentException("gap and repeat are both required");
        }
    }

    public static String wire(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /**
     * @throws IllegalArgumentException if {@code text} isn't one of the enum's wire names
     */
    public static <E extends Enum<E>> E parse(Class<E> type, String text) {
        for (E option : type.getEnumConstants()) {
            if (wire(option).equals(text)) {
                return option;
            }
        }
        throw new IllegalArgumentException("unknown value " + text);
    }
}
