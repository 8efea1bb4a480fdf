package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Interval schedules ({@code every}) and bounds ({@code start_at}, {@code until}, {@code times}).
 */
class IntervalScheduleApiTest {

    private static final Duration PATIENCE = Duration.ofMinutes(2);
    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;

    @TempDir static Path schedulesDir;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(
                schedulesDir.resolve("hourly.yaml"),
                """
                apiVersion: pulse/v1
                kind: Schedule
                metadata: {name: hourly-from-file}
                spec:
                  every: 1h
                  times: 24
                  start_at: "2030-01-01T00:00:00Z"
                  agent: echo
                """);
        pulse =
                new TestNode(
                        TestDatabase.create(),
                        Map.of("PULSE_SCHEDULES_DIR", schedulesDir.toString()));
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @Test
    void anIntervalScheduleIsShownWithItsBoundsAndItsNextTicks() throws Exception {
        Instant start = Instant.now().plus(1, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
        HttpResponse<String> created =
                pulse.post(
                        "/v1/schedules",
                        """
                        {"name": "summariser", "every": "10m", "times": 6, "start_at": "%s",
                         "agent": "echo", "input": {"from": "every"}}
                        """
                                .formatted(start));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode schedule = json.readTree(created.body());
        assertThat(schedule.path("every").asText()).isEqualTo("10m");
        assertThat(schedule.path("cron").isNull()).isTrue();
        assertThat(schedule.path("times").asInt()).isEqualTo(6);
        assertThat(schedule.path("state").asText()).isEqualTo("active");
        assertThat(Instant.parse(schedule.path("start_at").asText())).isEqualTo(start);
        assertThat(schedule.path("until").isNull()).isTrue();
        List<Instant> next = new ArrayList<>();
        schedule.path("next_fire_times").forEach(t -> next.add(Instant.parse(t.asText())));
        assertThat(next)
                .containsExactly(
                        start,
                        start.plus(10, ChronoUnit.MINUTES),
                        start.plus(20, ChronoUnit.MINUTES),
                        start.plus(30, ChronoUnit.MINUTES),
                        start.plus(40, ChronoUnit.MINUTES));

        JsonNode listed = json.readTree(pulse.get("/v1/schedules").body()).path("items");
        JsonNode summariser = null;
        for (JsonNode item : listed) {
            if (item.path("name").asText().equals("summariser")) {
                summariser = item;
            }
        }
        assertThat(summariser).isNotNull();
        assertThat(summariser.path("every").asText()).isEqualTo("10m");
        assertThat(summariser.path("times").asInt()).isEqualTo(6);
        assertThat(Instant.parse(summariser.path("next_fire_time").asText())).isEqualTo(start);
    }

    @Test
    void untilCutsTheTicksOffAndPhrasesAreReadInTheScheduleZone() throws Exception {
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        Instant before = LocalDate.now(berlin).plusDays(1).atTime(9, 0).atZone(berlin).toInstant();
        HttpResponse<String> created =
                pulse.post(
                        "/v1/schedules",
                        """
                        {"name": "morning", "every": "PT1H", "start_at": "tomorrow 9am",
                         "until": "tomorrow 11:00", "timezone": "Europe/Berlin", "agent": "echo"}
                        """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        Instant after = LocalDate.now(berlin).plusDays(1).atTime(9, 0).atZone(berlin).toInstant();
        JsonNode schedule = json.readTree(created.body());
        Instant start = Instant.parse(schedule.path("start_at").asText());
        assertThat(start).isIn(before, after);
        assertThat(OffsetDateTime.parse(schedule.path("start_at").asText()).getOffset())
                .isEqualTo(berlin.getRules().getOffset(start));
        List<Instant> next = new ArrayList<>();
        schedule.path("next_fire_times").forEach(t -> next.add(Instant.parse(t.asText())));
        assertThat(next)
                .containsExactly(
                        start, start.plus(1, ChronoUnit.HOURS), start.plus(2, ChronoUnit.HOURS));
    }

    @Test
    void intervalSchedulesComeFromFilesToo() throws Exception {
        JsonNode schedule = json.readTree(pulse.get("/v1/schedules/hourly-from-file").body());
        assertThat(schedule.path("every").asText()).isEqualTo("1h");
        assertThat(schedule.path("times").asInt()).isEqualTo(24);
        assertThat(Instant.parse(schedule.path("next_fire_time").asText()))
                .isEqualTo(Instant.parse("2030-01-01T00:00:00Z"));
    }

    @Test
    void aScheduleThatFiredItsTimesIsCompletedWithThatManyTasks() throws Exception {
        HttpResponse<String> created =
                pulse.post(
                        "/v1/schedules",
                        "{\"name\": \"twice\", \"every\": \"1s\", \"times\": 2, \"agent\": \"echo\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode schedule = json.readTree(created.body());
        while (!schedule.path("state").asText().equals("completed")) {
            assertThat(System.nanoTime()).as(schedule.toString()).isLessThan(deadline);
            Thread.sleep(200);
            schedule = json.readTree(pulse.get("/v1/schedules/twice").body());
        }
        assertThat(schedule.path("next_fire_time").isNull()).isTrue();
        assertThat(schedule.path("next_fire_times")).isEmpty();
        assertThat(pulse.count("SELECT count(*) FROM tasks WHERE schedule_name = 'twice'"))
                .isEqualTo(2);
        List<Instant> ticks = new ArrayList<>();
        schedule.path("recent_fires")
                .forEach(f -> ticks.add(Instant.parse(f.path("fire_time").asText())));
        assertThat(ticks).hasSize(2);
        assertThat(Duration.between(ticks.get(1), ticks.get(0))).isEqualTo(Duration.ofSeconds(1));
    }

    static Stream<Arguments> badSchedules() {
        return Stream.of(
                Arguments.of("{\"name\": \"b\", \"agent\": \"echo\"}", "cron"),
                Arguments.of(
                        "{\"name\": \"b\", \"cron\": \"@daily\", \"every\": \"1h\", \"agent\": \"echo\"}",
                        "every"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"500ms\", \"agent\": \"echo\"}", "every"),
                Arguments.of("{\"name\": \"b\", \"every\": \"0s\", \"agent\": \"echo\"}", "every"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"often\", \"agent\": \"echo\"}", "every"),
                Arguments.of("{\"name\": \"b\", \"every\": 60, \"agent\": \"echo\"}", "every"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"1h\", \"times\": 0, \"agent\": \"echo\"}",
                        "times"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"1h\", \"times\": \"3\", \"agent\": \"echo\"}",
                        "times"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"1h\", \"start_at\": \"someday\", \"agent\": \"echo\"}",
                        "start_at"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"1h\", \"until\": \"later\", \"agent\": \"echo\"}",
                        "until"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"1h\", \"start_at\": \"2030-01-02T00:00:00Z\","
                                + " \"until\": \"2030-01-01T00:00:00Z\", \"agent\": \"echo\"}",
                        "until"),
                Arguments.of(
                        "{\"name\": \"b\", \"every\": \"1h\", \"timezone\": \"Mars/Olympus_Mons\", \"agent\": \"echo\"}",
                        "timezone"));
    }

    @ParameterizedTest
    @MethodSource("badSchedules")
    void invalidIntervalSchedulesGetAProblemNamingTheFieldAndAreNotStored(String body, String field)
            throws Exception {
        long before = pulse.count("SELECT count(*) FROM schedules");
        HttpResponse<String> response = pulse.post("/v1/schedules", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(422);
        assertThat(json.readTree(response.body()).path("errors").findValuesAsText("field"))
                .as(response.body())
                .containsExactly(field);
        assertThat(pulse.count("SELECT count(*) FROM schedules")).isEqualTo(before);
    }
}
