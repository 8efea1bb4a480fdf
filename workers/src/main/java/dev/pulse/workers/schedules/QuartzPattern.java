package dev.pulse.workers.schedules;

import java.text.ParseException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.TimeZone;
import org.quartz.CronExpression;

/**
 * Quartz's 6/7-field syntax (seconds first, optional year, days of week 1 = Sunday … 7 = Saturday),
 * read by Quartz itself. Quartz evaluates it in UTC, where no clock ever changes, so what comes out
 * are wall-clock times; the zone and the DST policy are applied afterwards like for any other
 * schedule.
 */
final class QuartzPattern implements WallClockPattern {

    private final CronExpression expression;
    private final boolean periodic;

    private QuartzPattern(CronExpression expression, boolean periodic) {
        this.expression = expression;
        this.periodic = periodic;
    }

    /**
     * @throws IllegalArgumentException with Quartz's own reason
     */
    static QuartzPattern parse(String[] fields) {
        try {
            CronExpression expression = new CronExpression(String.join(" ", fields));
            expression.setTimeZone(TimeZone.getTimeZone(ZoneOffset.UTC));
            return new QuartzPattern(
                    expression,
                    fields[0].startsWith("*")
                            || fields[1].startsWith("*")
                            || fields[2].startsWith("*"));
        } catch (ParseException e) {
            throw new IllegalArgumentException(
                    "is not a valid Quartz cron expression (" + e.getMessage() + ")");
        }
    }

    @Override
    public LocalDateTime nextAfter(LocalDateTime time) {
        Date next = expression.getNextValidTimeAfter(Date.from(time.toInstant(ZoneOffset.UTC)));
        if (next == null
                || next.toInstant()
                        .isAfter(time.plusYears(HORIZON_YEARS).toInstant(ZoneOffset.UTC))) {
            return null;
        }
        return LocalDateTime.ofInstant(next.toInstant(), ZoneOffset.UTC);
    }

    @Override
    public boolean periodic() {
        return periodic;
    }
}
