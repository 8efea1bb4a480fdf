package dev.pulse.workers.schedules;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.YearMonth;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;

/**
 * A 5-field crontab line (minute hour day-of-month month day-of-week) read the way cronie and Vixie
 * cron read it (their {@code entry.c} and {@code cron.c}): numbers, three-letter names
 * (case-insensitive) for months and days, ranges, lists, steps on {@code *} and on ranges, 0 and 7
 * both Sunday. When the day-of-month or the day-of-week field starts with {@code *} (so {@code *},
 * {@code *}{@code /2}, {@code *,5} all count) a day must match both fields; when neither does, it
 * must match either. A step on a single number ({@code 1/2}), which cronie silently reads as the
 * number alone, is refused rather than guessed.
 */
final class CrontabPattern implements WallClockPattern {

    private static final List<String> MONTH_NAMES =
            List.of(
                    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                    "DEC");
    // cronie's DowNames: SUN is 0 (its first match), so FRI-SUN is a backwards range there too.
    private static final List<String> DAY_NAMES =
            List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");

    private final long minutes;
    private final long hours;
    private final long daysOfMonth;
    private final long months;
    private final long daysOfWeek;
    private final boolean dayOfMonthStar;
    private final boolean dayOfWeekStar;
    private final boolean periodic;

    private CrontabPattern(String[] f) {
        minutes = Field.MINUTE.parse(f[0]);
        hours = Field.HOUR.parse(f[1]);
        daysOfMonth = Field.DAY_OF_MONTH.parse(f[2]);
        months = Field.MONTH.parse(f[3]);
        long dow = Field.DAY_OF_WEEK.parse(f[4]);
        daysOfWeek = (dow & 0b1000_0001L) != 0 ? dow | 0b1000_0001L : dow;
        dayOfMonthStar = f[2].startsWith("*");
        dayOfWeekStar = f[4].startsWith("*");
        periodic = f[0].startsWith("*") || f[1].startsWith("*");
    }

    /**
     * @throws IllegalArgumentException naming the field and what is wrong with it
     */
    static CrontabPattern parse(String[] fields) {
        CrontabPattern pattern = new CrontabPattern(fields);
        if (!pattern.canEverMatchADay()) {
            throw new IllegalArgumentException(
                    "never fires: no month in \""
                            + shown(fields[3])
                            + "\" has a day in \""
                            + shown(fields[2])
                            + "\"");
        }
        return pattern;
    }

    @Override
    public boolean periodic() {
        return periodic;
    }

    @Override
    public LocalDateTime nextAfter(LocalDateTime time) {
        LocalDateTime start = time.truncatedTo(ChronoUnit.MINUTES).plusMinutes(1);
        LocalDate day = start.toLocalDate();
        LocalTime from = start.toLocalTime();
        LocalDate end = day.plusYears(HORIZON_YEARS);
        while (!day.isAfter(end)) {
            if (matchesDay(day)) {
                LocalTime at = timeAtOrAfter(from);
                if (at != null) {
                    return day.atTime(at);
                }
            }
            day = day.plusDays(1);
            from = LocalTime.MIDNIGHT;
        }
        return null;
    }

    boolean matchesDay(LocalDate day) {
        if (!bit(months, day.getMonthValue())) {
            return false;
        }
        boolean dom = bit(daysOfMonth, day.getDayOfMonth());
        boolean dow = bit(daysOfWeek, day.getDayOfWeek().getValue() % 7);
        return dayOfMonthStar || dayOfWeekStar ? dom && dow : dom || dow;
    }

    private LocalTime timeAtOrAfter(LocalTime from) {
        for (int h = from.getHour(); h < 24; h++) {
            if (!bit(hours, h)) {
                continue;
            }
            for (int m = h == from.getHour() ? from.getMinute() : 0; m < 60; m++) {
                if (bit(minutes, m)) {
                    return LocalTime.of(h, m);
                }
            }
        }
        return null;
    }

    /**
     * Under the "both" rule a line like {@code 0 0 30 2 *} can never fire; cronie accepts it
     * silently.
     */
    private boolean canEverMatchADay() {
        if (!dayOfMonthStar && !dayOfWeekStar) {
            return true;
        }
        for (int m = 1; m <= 12; m++) {
            int length = m == 2 ? 29 : YearMonth.of(2001, m).lengthOfMonth();
            if (bit(months, m) && (daysOfMonth & ((1L << (length + 1)) - 2)) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Enough of what the user wrote to find it, however long it is. */
    private static String shown(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "…";
    }

    private static boolean bit(long bits, int n) {
        return (bits & (1L << n)) != 0;
    }

    /**
     * One field's bounds and names, and how cronie's {@code get_list}/{@code get_range} read it.
     */
    private enum Field {
        MINUTE("minute", 0, 59, List.of()),
        HOUR("hour", 0, 23, List.of()),
        DAY_OF_MONTH("day-of-month", 1, 31, List.of()),
        MONTH("month", 1, 12, MONTH_NAMES),
        DAY_OF_WEEK("day-of-week", 0, 7, DAY_NAMES);

        private final String label;
        private final int low;
        private final int high;
        private final List<String> names;

        Field(String label, int low, int high, List<String> names) {
            this.label = label;
            this.low = low;
            this.high = high;
            this.names = names;
        }

        long parse(String text) {
            long bits = 0;
            for (String range : text.split(",", -1)) {
                bits |= range(range, text);
            }
            return bits;
        }

        private long range(String range, String field) {
            if (range.isEmpty()) {
                throw bad(field, "has an empty list element");
            }
            String span = range;
            int step = 1;
            int slash = range.indexOf('/');
            if (slash >= 0) {
                span = range.substring(0, slash);
                step = step(range.substring(slash + 1), field);
            }
            int first;
            int last;
            if (span.equals("*")) {
                first = low;
                last = high;
            } else {
                int dash = span.indexOf('-');
                if (dash < 0) {
                    if (slash >= 0) {
                        throw bad(
                                field,
                                "has a step on a single value (\""
                                        + shown(range)
                                        + "\"); crontab steps a range: "
                                        + "write \""
                                        + shown(span)
                                        + "-"
                                        + high
                                        + "/"
                                        + step
                                        + "\" or \"*/"
                                        + step
                                        + "\"");
                    }
                    first = value(span, field);
                    last = first;
                } else {
                    first = value(span.substring(0, dash), field);
                    last = value(span.substring(dash + 1), field);
                    if (first > last) {
                        throw bad(
                                field,
                                "has the range "
                                        + shown(span)
                                        + ", which runs backwards"
                                        + (this == DAY_OF_WEEK
                                                ? " (Sunday is 0, or 7 at the end of a range: FRI-7)"
                                                : ""));
                    }
                }
            }
            long bits = 0;
            for (int n = first; n <= last; n += step) {
                bits |= 1L << n;
            }
            return bits;
        }

        private int step(String text, String field) {
            if (!text.matches("[0-9]{1,3}")) {
                throw bad(field, "has a step \"" + shown(text) + "\" that is not a number");
            }
            int step = Integer.parseInt(text);
            if (step < 1 || step > high - low + 1) {
                throw bad(
                        field,
                        "has a step of " + step + "; steps run from 1 to " + (high - low + 1));
            }
            return step;
        }

        private int value(String text, String field) {
            int n;
            if (text.matches("[0-9]{1,3}")) {
                n = Integer.parseInt(text);
            } else {
                n = names.indexOf(text.toUpperCase(Locale.ROOT));
                if (n < 0) {
                    throw bad(
                            field,
                            "has \""
                                    + shown(text)
                                    + "\", which is neither a number"
                                    + (names.isEmpty()
                                            ? ""
                                            : " nor one of " + String.join(" ", names)));
                }
                n += low;
            }
            if (n < low || n > high) {
                throw bad(field, "has " + n + ", out of range " + low + "-" + high);
            }
            return n;
        }

        private IllegalArgumentException bad(String field, String what) {
            return new IllegalArgumentException(label + " \"" + shown(field) + "\" " + what);
        }
    }
}
