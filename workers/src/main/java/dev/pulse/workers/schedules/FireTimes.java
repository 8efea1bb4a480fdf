package dev.pulse.workers.schedules;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.ArrayDeque;
import java.util.List;
import java.util.TreeSet;

/**
 * A schedule's wall-clock pattern turned into instants in its zone under its DST policy. Each
 * matching wall time is one instant, except: in a spring-forward gap a periodic job has none and a
 * fixed-time job has the instant of the jump ({@code gap: run_after}) or none ({@code skip}); in a
 * fall-back repeat a periodic job has both occurrences and a fixed-time job the first or the second
 * ({@code repeat}). Two wall times that land on the same instant fire once.
 */
final class FireTimes {

    private final WallClockPattern pattern;
    private final ZoneId zone;
    private final ZoneRules rules;
    private final DstPolicy policy;

    FireTimes(WallClockPattern pattern, ZoneId zone, DstPolicy policy) {
        this.pattern = pattern;
        this.zone = zone;
        this.rules = zone.getRules();
        this.policy = policy;
    }

    /**
     * The next {@code count} fire times strictly after {@code after}, oldest first. Wall times are
     * walked in order; because a fall-back repeats up to {@code overlap} of wall time, instants can
     * come out of order by at most that much, so the walk starts that much early and goes on that
     * much past the last instant it keeps.
     */
    List<Instant> next(Instant after, int count) {
        TreeSet<Instant> found = new TreeSet<>();
        if (count <= 0) {
            return List.of();
        }
        Duration slack = overlapAround(after);
        LocalDateTime wall = LocalDateTime.ofInstant(after, zone).minus(slack).minusNanos(1);
        while ((wall = pattern.nextAfter(wall)) != null) {
            Instant earliest = null;
            for (Instant t : instants(wall)) {
                earliest = earliest == null || t.isBefore(earliest) ? t : earliest;
                if (t.isAfter(after)) {
                    found.add(t);
                }
            }
            while (found.size() > count) {
                found.pollLast(); // a repeated wall time adds two
            }
            if (found.size() == count
                    && earliest != null
                    && earliest.minus(overlapAround(found.last())).isAfter(found.last())) {
                break;
            }
        }
        return List.copyOf(found);
    }

    /** The instants at which wall time {@code wall} fires under the policy: none, one or two. */
    List<Instant> instants(LocalDateTime wall) {
        ZoneOffsetTransition transition = rules.getTransition(wall);
        if (transition == null) {
            return List.of(wall.atZone(zone).toInstant());
        }
        if (transition.isGap()) {
            return pattern.periodic() || policy.gap() == DstPolicy.Gap.SKIP
                    ? List.of()
                    : List.of(transition.getInstant());
        }
        Instant first = wall.toInstant(transition.getOffsetBefore());
        Instant second = wall.toInstant(transition.getOffsetAfter());
        if (pattern.periodic()) {
            return List.of(first, second);
        }
        return List.of(policy.repeat() == DstPolicy.Repeat.FIRST ? first : second);
    }

    /**
     * The longest fall-back repeat within a day of {@code t} (zero in most places, most of the
     * year).
     */
    private Duration overlapAround(Instant t) {
        Duration longest = Duration.ZERO;
        Instant end = t.plus(Duration.ofDays(1));
        ZoneOffsetTransition transition = rules.nextTransition(t.minus(Duration.ofDays(1)));
        while (transition != null && !transition.getInstant().isAfter(end)) {
            if (transition.isOverlap()
                    && transition.getDuration().negated().compareTo(longest) > 0) {
                longest = transition.getDuration().negated();
            }
            transition = rules.nextTransition(transition.getInstant());
        }
        return longest;
    }

    /** The latest {@code limit} fire times in ({@code after}, {@code until}], oldest first. */
    List<Instant> between(Instant after, Instant until, int limit) {
        ArrayDeque<Instant> latest = new ArrayDeque<>();
        Instant cursor = after;
        while (true) {
            List<Instant> batch = next(cursor, 256);
            for (Instant t : batch) {
                if (t.isAfter(until)) {
                    return List.copyOf(latest);
                }
                latest.addLast(t);
                if (latest.size() > limit) {
                    latest.removeFirst();
                }
            }
            if (batch.size() < 256) {
                return List.copyOf(latest);
            }
            cursor = batch.get(batch.size() - 1);
        }
    }
}
