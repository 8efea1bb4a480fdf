package dev.pulse.workers.db;

import java.util.Arrays;

/**
 * The columns of a batch statement that reads its rows from one multi-array {@code unnest}.
 *
 * <p>A column whose every element is NULL is sent as an empty array: {@code unnest} with several
 * arrays pads the shorter ones with NULLs (PostgreSQL's documentation, "Array Functions and
 * Operators"), so while another column (the ids) holds every row, the rows come out the same, and
 * neither the driver writes nor the database parses a thousand NULLs. Most optional columns of a
 * batch are all NULL (no callback, idempotency key, schedule, trace, error), and parsing them was
 * about half of the array parsing in a 1,000-task insert (docs/benchmarks.md).
 */
public final class UnnestColumns {

    private UnnestColumns() {}

    /** {@code column}, or an empty array when every element is null. */
    public static <T> T[] orEmpty(T[] column) {
        return allNull(column) ? Arrays.copyOf(column, 0) : column;
    }

    static boolean allNull(Object[] column) {
        for (Object element : column) {
            if (element != null) {
                return false;
            }
        }
        return true;
    }
}
