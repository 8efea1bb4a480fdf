package dev.pulse.workers.schedules;

import static org.assertj.core.api.Assertions.assertThat;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Property test: thousands of random crontab lines, each in random zones from random start instants
 * (a third of them within two days of a DST change), Pulse's next fire times against cron-utils
 * ({@code CronType.UNIX}), a cron implementation nobody here wrote. A failure names the seed, line,
 * zone and start.
 *
 * <p>Where cron-utils departs from cronie the test says so rather than bending Pulse:
 *
 * <ul>
 *   <li>cronie decides whether a day field is "restricted" on its first character, so {@code
 *       *}{@code /2} or {@code *,13} in one day field with the other day field restricted means
 *       both must match (entry.c: {@code if (ch == '*') e->flags |= DOM_STAR}); cron-utils treats
 *       those as restricted and ORs them. For such lines the oracle is cron-utils' own matching of
 *       each day field alone (the line with the other day field {@code *}), combined with cronie's
 *       AND.
 *   <li>cron-utils has its own DST handling, and Pulse has an explicit policy (DstPolicyTest has
 *       the hand-checked instants). So fire times are compared only from a day after one clock
 *       change up to the next one; across changes the test checks only that every Pulse fire time
 *       is a wall time the line matches (or, for a fixed-time line, the instant of a spring-forward
 *       jump) and that fire times strictly increase.
 *   <li>cron-utils numbers the day name SUN 7, cronie 0: cron-utils refuses {@code SUN-WED} and
 *       reads {@code Sun-7} as Sunday alone (cronie: every day). The oracle gets day names as
 *       cronie's numbers; the test counts the lines where cron-utils reads the names differently.
 *   <li>Lines cronie refuses ({@code FRI-SUN}) or misreads ({@code 1/2} is read as {@code 1}),
 *       which cron-utils accepts Quartz-style, are never generated: Pulse refuses them
 *       (CronSpecTest).
 * </ul>
 */
class CronOracleTest {

    private static final int LINES = Integer.getInteger("cron.oracle.lines", 5000);
    private static final int STARTS_PER_LINE = 2;
    private static final int FIRE_TIMES = 12;
    private static final List<ZoneId> ZONES =
            List.of(
                            "UTC",
                            "Europe/Berlin",
                            "America/New_York",
                            "Australia/Lord_Howe",
                            "Asia/Kolkata",
                            "Pacific/Chatham",
                            "America/Sao_Paulo",
                            "America/St_Johns",
                            "Asia/Kathmandu",
                            "Australia/Adelaide",
                            "America/Santiago",
                            "Europe/London")
                    .stream()
                    .map(ZoneId::of)
                    .toList();
    private static final String[] MONTHS = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
    };
    private static final String[] DAYS = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    private static final CronParser UNIX =
            new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    @Test
    void pulseReadsRandomCrontabLinesAsCronUtilsDoes() {
        // cron-utils logs every candidate it rejects at DEBUG: millions of lines here.
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("com.cronutils"))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        long seed = Long.getLong("cron.oracle.seed", 20271031L);
        System.out.println(
                "CronOracleTest seed " + seed + " (rerun with -Dcron.oracle.seed=" + seed + ")");
        Random random = new Random(seed);
        List<String> differences = new ArrayList<>();
        TreeMap<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < LINES; i++) {
            String line = line(random);
            CronSpec pulse;
            try {
                pulse = CronSpec.parse(line);
            } catch (IllegalArgumentException refused) {
                // only lines that can never fire (0 0 30 2 *: cronie takes them and never runs
                // them)
                assertThat(refused).as(line).hasMessageContaining("never fires");
                List<Instant> theirs =
                        Oracle.of(numericDays(line))
                                .next(ZonedDateTime.parse("2024-01-01T00:00:00Z"), 1);
                if (!theirs.isEmpty()) {
                    differences.add(
                            "seed "
                                    + seed
                                    + ": Pulse refuses \""
                                    + line
                                    + "\" as never firing; cron-utils fires it at "
                                    + theirs.get(0));
                }
                count(counts, "lines refused as never firing (cron-utils agrees they never fire)");
                i--;
                continue;
            }
            // cron-utils numbers the day name SUN 7 (cronie: 0, its first match in DowNames), so it
            // reads SUN-WED as 7-3 (refused) and Sun-7 as Sunday alone (cronie: every day). The
            // oracle is given the days as cronie's numbers; names are checked by hand in
            // CronSpecTest.
            Oracle oracle = Oracle.of(numericDays(line));
            if (!numericDays(line).equals(line) && readsDayNamesDifferently(line)) {
                if (!counts.containsKey(
                        "lines whose day names cron-utils reads unlike cronie (SUN as 7)")) {
                    System.out.println(
                            "CronOracleTest e.g. cron-utils reads \""
                                    + line
                                    + "\" unlike \""
                                    + numericDays(line)
                                    + "\"");
                }
                count(counts, "lines whose day names cron-utils reads unlike cronie (SUN as 7)");
            }
            count(
                    counts,
                    oracle.cronieAnd
                            ? "lines where cronie's leading-* rule applies (oracle: AND of cron-utils per day field)"
                            : "lines compared with cron-utils directly");
            long began = System.nanoTime();
            for (int s = 0; s < STARTS_PER_LINE; s++) {
                ZoneId zone = ZONES.get(random.nextInt(ZONES.size()));
                Instant start = start(random, zone);
                String where = "seed " + seed + ": \"" + line + "\" in " + zone + " from " + start;
                compareBetweenClockChanges(pulse, oracle, zone, start, where, differences, counts);
                checkAcrossClockChanges(pulse, oracle, zone, start, where, differences, counts);
            }
            long ms = (System.nanoTime() - began) / 1_000_000;
            if (ms > 500) {
                System.out.println("CronOracleTest slow line (" + ms + " ms): " + line);
            }
        }
        counts.forEach((what, n) -> System.out.println("CronOracleTest " + what + ": " + n));
        differences.stream()
                .limit(40)
                .forEach(d -> System.out.println("CronOracleTest DIFFERENCE " + d));
        assertThat(differences)
                .as("lines where Pulse and the oracle differ (first 40 above)")
                .isEmpty();
        assertThat(counts.getOrDefault("fire times compared", 0))
                .isGreaterThan(LINES * STARTS_PER_LINE * 3);
    }

    private static void compareBetweenClockChanges(
            CronSpec pulse,
            Oracle oracle,
            ZoneId zone,
            Instant start,
            String where,
            List<String> differences,
            TreeMap<String, Integer> counts) {
        ZoneRules rules = zone.getRules();
        ZoneOffsetTransition previous = rules.previousTransition(start.plusNanos(1));
        Instant from =
                previous != null && previous.getInstant().plus(Duration.ofHours(25)).isAfter(start)
                        ? previous.getInstant().plus(Duration.ofHours(25))
                        : start;
        ZoneOffsetTransition next = rules.nextTransition(from);
        // a fall-back repeats the wall times just before it: stop before their first occurrence
        Instant until =
                next == null
                        ? Instant.MAX
                        : next.isOverlap()
                                ? next.getInstant().plus(next.getDuration())
                                : next.getInstant();
        long began = System.nanoTime();
        List<Instant> ours =
                pulse.nextFireTimes(zone, from, FIRE_TIMES).stream()
                        .filter(t -> t.isBefore(until))
                        .toList();
        long ms = (System.nanoTime() - began) / 1_000_000;
        if (ms > 200) {
            System.out.println("CronOracleTest Pulse took " + ms + " ms: " + where);
        }
        List<Instant> theirs =
                oracle.next(ZonedDateTime.ofInstant(from, zone), FIRE_TIMES).stream()
                        .filter(t -> t.isBefore(until))
                        .toList();
        if (!ours.equals(theirs)) {
            differences.add(
                    where
                            + " (compared from "
                            + from
                            + " to "
                            + until
                            + "): Pulse "
                            + local(ours, zone)
                            + ", cron-utils "
                            + local(theirs, zone));
        }
        count(counts, "fire times compared", ours.size());
        count(counts, "windows compared", 1);
    }

    /**
     * Around clock changes: every fire time is a wall time the line matches, or a jump a fixed-time
     * line runs at.
     */
    private static void checkAcrossClockChanges(
            CronSpec pulse,
            Oracle oracle,
            ZoneId zone,
            Instant start,
            String where,
            List<String> differences,
            TreeMap<String, Integer> counts) {
        List<Instant> ours = pulse.nextFireTimes(zone, start, FIRE_TIMES);
        Instant previous = start;
        for (Instant t : ours) {
            LocalDateTime wall = LocalDateTime.ofInstant(t, zone);
            ZoneOffsetTransition jump = zone.getRules().nextTransition(t.minusNanos(1));
            boolean atAJump = jump != null && jump.getInstant().equals(t) && jump.isGap();
            boolean ok = oracle.matches(wall) || (atAJump && !pulse.periodic());
            if (!ok || !t.isAfter(previous)) {
                differences.add(
                        where
                                + ": Pulse fires at "
                                + t.atZone(zone)
                                + ", which "
                                + (ok ? "is not after the one before" : "the line does not match"));
                return;
            }
            if (atAJump) {
                count(counts, "fire times at a spring-forward jump (fixed-time lines)", 1);
            }
            previous = t;
        }
        count(counts, "fire times checked across clock changes", ours.size());
    }

    private static boolean readsDayNamesDifferently(String line) {
        ZonedDateTime from = ZonedDateTime.parse("2027-01-01T00:00:00Z");
        try {
            return !Oracle.of(line)
                    .next(from, FIRE_TIMES)
                    .equals(Oracle.of(numericDays(line)).next(from, FIRE_TIMES));
        } catch (IllegalArgumentException refused) {
            return true;
        }
    }

    private static String numericDays(String line) {
        String[] f = line.split(" ");
        String dow = f[4].toLowerCase(Locale.ROOT);
        for (int i = 0; i < DAYS.length; i++) {
            dow = dow.replace(DAYS[i], Integer.toString(i));
        }
        f[4] = dow;
        return String.join(" ", f);
    }

    private static String local(List<Instant> times, ZoneId zone) {
        return times.stream()
                .map(t -> t.atZone(zone).toOffsetDateTime().toString())
                .toList()
                .toString();
    }

    private static void count(TreeMap<String, Integer> counts, String what) {
        count(counts, what, 1);
    }

    private static void count(TreeMap<String, Integer> counts, String what, int n) {
        counts.merge(what, n, Integer::sum);
    }

    private static Instant start(Random random, ZoneId zone) {
        Instant somewhen =
                Instant.parse("2024-01-01T00:00:00Z")
                        .plusSeconds((long) (random.nextDouble() * 12 * 365 * 86400));
        ZoneOffsetTransition near = zone.getRules().nextTransition(somewhen);
        if (random.nextInt(3) == 0 && near != null) {
            return near.getInstant().plusSeconds(random.nextInt(4 * 86400) - 2 * 86400L);
        }
        return somewhen;
    }

    // ---- generating crontab lines cronie accepts ----

    private static String line(Random r) {
        return String.join(
                " ",
                field(r, 0, 59, null, 0.3),
                field(r, 0, 23, null, 0.3),
                dayField(r, 1, 31, null),
                field(r, 1, 12, MONTHS, 0.5),
                dayField(r, 0, 7, DAYS));
    }

    /** Day fields are * half the time, so both the AND and the OR rule come up often. */
    private static String dayField(Random r, int low, int high, String[] names) {
        return r.nextBoolean() ? "*" : field(r, low, high, names, 0.0);
    }

    private static String field(Random r, int low, int high, String[] names, double star) {
        if (r.nextDouble() < star) {
            return "*";
        }
        int elements = 1 + r.nextInt(3);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < elements; i++) {
            parts.add(element(r, low, high, names, i == 0));
        }
        return String.join(",", parts);
    }

    private static String element(Random r, int low, int high, String[] names, boolean first) {
        int kind = r.nextInt(first ? 5 : 4);
        int a = low + r.nextInt(high - low + 1);
        int b = a + r.nextInt(high - a + 1);
        int step = 1 + r.nextInt(Math.max(1, (high - low) / 2));
        return switch (kind) {
            case 0 -> value(r, a, names);
            case 1 -> value(r, a, names) + "-" + value(r, b, names);
            case 2 -> value(r, a, names) + "-" + value(r, b, names) + "/" + step;
            case 3 -> value(r, a, names);
            default -> "*/" + step;
        };
    }

    /** A number, or (sometimes, and in any case) its name; 7 has no name of its own. */
    private static String value(Random r, int n, String[] names) {
        if (names == null || r.nextInt(3) != 0) {
            return Integer.toString(n);
        }
        int index = names == DAYS ? n : n - 1;
        if (index >= names.length) {
            return Integer.toString(n);
        }
        String name = names[index];
        return switch (r.nextInt(3)) {
            case 0 -> name.toUpperCase(Locale.ROOT);
            case 1 -> Character.toUpperCase(name.charAt(0)) + name.substring(1);
            default -> name;
        };
    }

    /** cron-utils' reading of a line, with cronie's day rule where cron-utils' differs. */
    private static final class Oracle {
        private final ExecutionTime whole;
        private final ExecutionTime dayOfMonthOnly;
        private final ExecutionTime dayOfWeekOnly;
        final boolean cronieAnd;

        private Oracle(
                ExecutionTime whole,
                ExecutionTime dayOfMonthOnly,
                ExecutionTime dayOfWeekOnly,
                boolean cronieAnd) {
            this.whole = whole;
            this.dayOfMonthOnly = dayOfMonthOnly;
            this.dayOfWeekOnly = dayOfWeekOnly;
            this.cronieAnd = cronieAnd;
        }

        static Oracle of(String line) {
            String[] f = line.split(" ");
            boolean domStarred = f[2].startsWith("*") && !f[2].equals("*");
            boolean dowStarred = f[4].startsWith("*") && !f[4].equals("*");
            boolean cronieAnd =
                    (domStarred && !f[4].equals("*")) || (dowStarred && !f[2].equals("*"));
            return new Oracle(
                    ExecutionTime.forCron(UNIX.parse(line)),
                    ExecutionTime.forCron(
                            UNIX.parse(String.join(" ", f[0], f[1], f[2], f[3], "*"))),
                    ExecutionTime.forCron(
                            UNIX.parse(String.join(" ", f[0], f[1], "*", f[3], f[4]))),
                    cronieAnd);
        }

        boolean matches(LocalDateTime wall) {
            ZonedDateTime z = wall.atZone(ZoneOffset.UTC);
            return cronieAnd
                    ? dayOfMonthOnly.isMatch(z) && dayOfWeekOnly.isMatch(z)
                    : whole.isMatch(z);
        }

        List<Instant> next(ZonedDateTime from, int count) {
            List<Instant> times = new ArrayList<>();
            ZonedDateTime cursor = from;
            int steps = 0;
            while (times.size() < count && steps++ < 2_000_000) {
                Optional<ZonedDateTime> next =
                        (cronieAnd ? dayOfMonthOnly : whole).nextExecution(cursor);
                if (next.isEmpty()) {
                    break;
                }
                cursor = next.get();
                if (!cronieAnd || dayOfWeekOnly.isMatch(cursor)) {
                    times.add(cursor.toInstant());
                } else {
                    // not this day of the week: on to the last minute of the day
                    cursor =
                            cursor.toLocalDate()
                                    .plusDays(1)
                                    .atStartOfDay(cursor.getZone())
                                    .minusMinutes(1);
                }
            }
            return times;
        }
    }
}
