package dev.pulse.executors.http;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Until when a provider asked to be left alone, read from the headers of its 429 or 503 answer:
 * {@code Retry-After} (seconds or an HTTP date), {@code retry-after-ms}, OpenAI's {@code
 * x-ratelimit-remaining-*} at 0 with the matching {@code x-ratelimit-reset-*} (a duration such as
 * {@code 6m0s} or {@code 20ms}), and Anthropic's {@code anthropic-ratelimit-*-remaining} at 0 with
 * the matching {@code anthropic-ratelimit-*-reset} (an RFC 3339 time). The latest of them wins: a
 * provider that says both "retry after 2 s" and "your token window resets in 30 s" is not called
 * again for 30 s. Other answers, and throttling answers without any of these headers, ask for
 * nothing: they stay ordinary failures.
 */
public final class ProviderBackoff {

    /** The longest hold a header can ask for: a bad header must not park an agent for days. */
    public static final Duration MAX_HOLD = Duration.ofHours(1);

    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

    private ProviderBackoff() {}

    /** Whether {@code status} is a provider saying "too many" or "not now". */
    public static boolean throttling(int status) {
        return status == 429 || status == 503;
    }

    /**
     * Until when the answer asks callers to wait, or empty if it is not a throttling answer or
     * names no time.
     *
     * @param headers the answer's headers, names in any case
     */
    public static Optional<Instant> until(
            int status, Map<String, List<String>> headers, Instant now) {
        if (!throttling(status) || headers == null) {
            return Optional.empty();
        }
        Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        headers.forEach(
                (name, values) -> {
                    if (name != null && values != null && !values.isEmpty()) {
                        h.put(name, values.get(0).trim());
                    }
                });
        Instant latest = null;
        latest = later(latest, retryAfter(h.get("retry-after"), now));
        latest = later(latest, millis(h.get("retry-after-ms"), now));
        for (Map.Entry<String, String> e : h.entrySet()) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (name.startsWith("x-ratelimit-remaining-") && isZero(e.getValue())) {
                String reset = h.get("x-ratelimit-reset-" + name.substring(22));
                latest = later(latest, goDuration(reset).map(now::plus).orElse(null));
            } else if (name.startsWith("anthropic-ratelimit-")
                    && name.endsWith("-remaining")
                    && isZero(e.getValue())) {
                String reset = h.get(name.substring(0, name.length() - 10) + "-reset");
                latest = later(latest, instant(reset));
            }
        }
        if (latest == null) {
            return Optional.empty();
        }
        if (latest.isBefore(now)) {
            latest = now;
        }
        Instant cap = now.plus(MAX_HOLD);
        return Optional.of(latest.isAfter(cap) ? cap : latest);
    }

    private static Instant later(Instant a, Instant b) {
        return a == null ? b : b == null || a.isAfter(b) ? a : b;
    }

    private static boolean isZero(String value) {
        return value != null && value.matches("0+(\\.0+)?");
    }

    private static Instant retryAfter(String value, Instant now) {
        if (value == null) {
            return null;
        }
        if (value.matches("\\d{1,9}(\\.\\d+)?")) {
            return now.plusMillis((long) (Double.parseDouble(value) * 1000));
        }
        try {
            return ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static Instant millis(String value, Instant now) {
        return value != null && value.matches("\\d{1,12}(\\.\\d+)?")
                ? now.plusMillis((long) Double.parseDouble(value))
                : null;
    }

    private static Instant instant(String value) {
        if (value == null) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            try {
                return ZonedDateTime.parse(value, DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                        .toInstant();
            } catch (DateTimeParseException again) {
                return null;
            }
        }
    }

    /** OpenAI's reset durations: {@code 1s}, {@code 6m0s}, {@code 20ms}, {@code 1h2m3.5s}. */
    static Optional<Duration> goDuration(String value) {
        if (value == null || value.isEmpty()) {
            return Optional.empty();
        }
        if (value.matches("\\d+(\\.\\d+)?")) {
            return Optional.of(Duration.ofMillis((long) (Double.parseDouble(value) * 1000)));
        }
        Matcher m = DURATION_PART.matcher(value);
        long millis = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                return Optional.empty();
            }
            end = m.end();
            double n = Double.parseDouble(m.group(1));
            millis +=
                    (long)
                            switch (m.group(2)) {
                                case "h" -> n * 3_600_000;
                                case "m" -> n * 60_000;
                                case "s" -> n * 1000;
                                default -> n;
                            };
        }
        return end == value.length() ? Optional.of(Duration.ofMillis(millis)) : Optional.empty();
    }
}
