package dev.pulse.workers.schedules;

import java.text.ParseException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;
import org.quartz.CronExpression;

/**
 * A schedule's cron expression: 5-field Unix cron, Quartz's 6/7-field syntax (with seconds),
 * or a macro such as {@code @daily}, turned into the Quartz form Pulse runs. Unix cron's
 * day-of-week numbers (0 or 7 = Sunday) become Quartz's names; Unix's "either day field" rule
 * can't be expressed in Quartz, so giving both day-of-month and day-of-week is refused.
 */
public record CronSpec(String original, String quartz) {

    private static final Map<String, String> MACROS = Map.of(
            "@yearly", "0 0 0 1 1 ?",
            "@annually", "0 0 0 1 1 ?",
            "@monthly", "0 0 0 1 * ?",
            "@weekly", "0 0 0 ? * SUN",
            "@daily", "0 0 0 * * ?",
            "@midnight", "0 0 0 * * ?",
            "@hourly", "0 0 * * * ?");
    public static final java.time.Duration MAX_LOOK_BACK = java.time.Duration.ofDays(7);
    private static final String[] DAY_NAMES = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

    /** @throws IllegalArgumentException saying what is wrong and what would be accepted */
    public static CronSpec parse(String cron) {
        if (cron == null || cron.isBlank()) {
            throw new IllegalArgumentException("is required: a 5-field cron such as \"30 2 * * *\", "
                    + "a 6/7-field Quartz cron such as \"0 30 2 * * ?\", or a macro such as @daily");
        }
        String trimmed = cron.trim();
        String quartz;
        if (trimmed.startsWith("@")) {
            quartz = MACROS.get(trimmed.toLowerCase(Locale.ROOT));
            if (quartz == null) {
                throw new IllegalArgumentException("unknown macro " + trimmed + "; use one of " + String.join(", ",
                        MACROS.keySet().stream().sorted().toList()));
            }
        } else {
            String[] fields = trimmed.split("\\s+");
            quartz = switch (fields.length) {
                case 5 -> fromUnix(fields);
                case 6, 7 -> String.join(" ", fields);
                default -> throw new IllegalArgumentException("has " + fields.length + " fields; use 5 (minute hour "
                        + "day-of-month month day-of-week) or Quartz's 6/7 (second first, optional year)");
            };
        }
        try {
            new CronExpression(quartz);
        } catch (ParseException e) {
            throw new IllegalArgumentException("is not a valid cron expression (" + e.getMessage() + ")"
                    + (quartz.equals(trimmed) ? "" : " in its Quartz form \"" + quartz + "\""));
        }
        return new CronSpec(trimmed, quartz);
    }

    private static String fromUnix(String[] f) {
        String dom = f[2];
        String dow = f[4];
        boolean domAny = dom.equals("*") || dom.equals("?");
        boolean dowAny = dow.equals("*") || dow.equals("?");
        if (!domAny && !dowAny) {
            throw new IllegalArgumentException("sets both day-of-month and day-of-week, which Quartz can't combine; "
                    + "set one of them to *");
        }
        String quartzDom = domAny && !dowAny ? "?" : dom;
        String quartzDow = dowAny ? "?" : unixDaysToQuartz(dow);
        return String.join(" ", "0", f[0], f[1], quartzDom, f[3], quartzDow);
    }

    /** Unix day numbers (0-7, 0 and 7 Sunday) to names, inside lists, ranges and steps. */
    private static String unixDaysToQuartz(String dow) {
        StringBuilder out = new StringBuilder();
        StringBuilder number = new StringBuilder();
        char previous = 0;
        for (char c : (dow + " ").toCharArray()) {
            if (Character.isDigit(c)) {
                number.append(c);
                continue;
            }
            if (number.length() > 0) {
                int n = Integer.parseInt(number.toString());
                // after '/' a number is a step, not a day
                if (previous == '/') {
                    out.append(n);
                } else if (n > 7) {
                    throw new IllegalArgumentException("day-of-week " + n + " is out of range 0-7");
                } else {
                    out.append(DAY_NAMES[n]);
                }
                number.setLength(0);
            }
            if (c != ' ') {
                out.append(c);
                previous = c;
            }
        }
        return out.toString();
    }

    /** The next {@code count} fire times strictly after {@code after}, in {@code zone}. */
    public List<Instant> nextFireTimes(ZoneId zone, Instant after, int count) {
        CronExpression expression = expression(zone);
        List<Instant> times = new ArrayList<>();
        Date cursor = Date.from(after);
        for (int i = 0; i < count; i++) {
            cursor = expression.getNextValidTimeAfter(cursor);
            if (cursor == null) {
                break;
            }
            times.add(cursor.toInstant());
        }
        return times;
    }

    /**
     * Fire times in ({@code after}, {@code until}], oldest first, at most {@code limit} of the
     * latest. Looks back at most {@link #MAX_LOOK_BACK}: older ticks are never caught up.
     */
    public List<Instant> fireTimesBetween(ZoneId zone, Instant after, Instant until, int limit) {
        CronExpression expression = expression(zone);
        java.util.ArrayDeque<Instant> latest = new java.util.ArrayDeque<>();
        Instant from = after.isBefore(until.minus(MAX_LOOK_BACK)) ? until.minus(MAX_LOOK_BACK) : after;
        Date cursor = Date.from(from);
        while ((cursor = expression.getNextValidTimeAfter(cursor)) != null && !cursor.toInstant().isAfter(until)) {
            latest.addLast(cursor.toInstant());
            if (latest.size() > limit) {
                latest.removeFirst();
            }
        }
        return List.copyOf(latest);
    }

    CronExpression expression(ZoneId zone) {
        try {
            CronExpression expression = new CronExpression(quartz);
            expression.setTimeZone(TimeZone.getTimeZone(zone));
            return expression;
        } catch (ParseException e) {
            throw new IllegalStateException("validated at parse time", e);
        }
    }
}
