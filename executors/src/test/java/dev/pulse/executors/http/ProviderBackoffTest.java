package dev.pulse.executors.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProviderBackoffTest {

    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

    private static Map<String, List<String>> headers(String... pairs) {
        java.util.Map<String, List<String>> h = new java.util.HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            h.put(pairs[i], List.of(pairs[i + 1]));
        }
        return h;
    }

    @Test
    void retryAfterSecondsAndDates() {
        assertThat(ProviderBackoff.until(429, headers("Retry-After", "2"), NOW))
                .contains(NOW.plusSeconds(2));
        assertThat(
                        ProviderBackoff.until(
                                503, headers("retry-after", "Mon, 07 Dec 2026 12:00:30 GMT"), NOW))
                .contains(NOW.plusSeconds(30));
        assertThat(ProviderBackoff.until(429, headers("retry-after-ms", "250"), NOW))
                .contains(NOW.plusMillis(250));
    }

    @Test
    void openAiRateLimitHeadersCountOnlyWhenALimitIsSpent() {
        assertThat(
                        ProviderBackoff.until(
                                429,
                                headers(
                                        "x-ratelimit-remaining-requests", "0",
                                        "x-ratelimit-reset-requests", "1m6s",
                                        "x-ratelimit-remaining-tokens", "5000",
                                        "x-ratelimit-reset-tokens", "2h"),
                                NOW))
                .contains(NOW.plusSeconds(66));
        assertThat(ProviderBackoff.goDuration("20ms")).contains(Duration.ofMillis(20));
        assertThat(ProviderBackoff.goDuration("1.5s")).contains(Duration.ofMillis(1500));
        assertThat(ProviderBackoff.goDuration("1x")).isEmpty();
    }

    @Test
    void anthropicRateLimitHeadersAndTheLatestWins() {
        assertThat(
                        ProviderBackoff.until(
                                429,
                                headers(
                                        "Retry-After", "3",
                                        "anthropic-ratelimit-tokens-remaining", "0",
                                        "anthropic-ratelimit-tokens-reset", "2026-12-07T12:00:20Z"),
                                NOW))
                .contains(NOW.plusSeconds(20));
    }

    @Test
    void otherAnswersAndNamelessThrottlingAskForNothingAndHoldsAreCapped() {
        assertThat(ProviderBackoff.until(500, headers("Retry-After", "2"), NOW)).isEmpty();
        assertThat(ProviderBackoff.until(429, headers(), NOW)).isEmpty();
        assertThat(ProviderBackoff.until(429, headers("Retry-After", "999999"), NOW))
                .contains(NOW.plus(ProviderBackoff.MAX_HOLD));
    }
}
