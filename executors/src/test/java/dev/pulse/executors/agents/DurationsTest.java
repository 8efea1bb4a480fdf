package dev.pulse.executors.agents;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({
        "90s, PT1M30S",
        "5m, PT5M",
        "2h, PT2H",
        "2h30m, PT2H30M",
        "1d, PT24H",
        "1d12h, PT36H",
        "1h 30m, PT1H30M",
        "1m30s, PT1M30S",
        "500ms, PT0.5S",
        "1s500ms, PT1.5S",
        "0s, PT0S",
        "' 5m ', PT5M",
        "PT5M, PT5M",
        "pt5m, PT5M",
        "PT1H30M, PT1H30M",
        "P1D, PT24H",
        "P1DT2H, PT26H",
        "PT0.25S, PT0.25S"
    })
    void readsShortAndIsoDurations(String text, String expected) {
        assertThat(Durations.parse(text)).hasValue(Duration.parse(expected));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                " ",
                "5",
                "m",
                "5x",
                "5 m",
                "-5m",
                "1.5h",
                "30m2h",
                "5m5m",
                "2h  30m",
                "5M",
                "1w",
                "in 5m",
                "5m ago",
                "PT",
                "P",
                "PT-5M",
                "-PT5M",
                "P1M",
                "PT5X",
                "9999999999s",
                "1h30"
            })
    void rejectsEverythingElse(String text) {
        assertThat(Durations.parse(text)).as(text).isEmpty();
    }

    @org.junit.jupiter.api.Test
    void nullIsNoDuration() {
        assertThat(Durations.parse(null)).isEmpty();
    }
}
