package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.net.http.HttpResponse;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code POST /v1/tasks} with {@code delay} durations and {@code run_at} phrases read in {@code
 * timezone}. Expected instants are computed here with java.time (adjusters, day-by-day walks), not
 * by Pulse's parser; a phrase read just as the day turns is accepted for either day.
 */
class TimeFormsApiTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @AfterEach
    void cancelWhatWasQueued() {
        pulse.jdbi.useHandle(
                h ->
                        h.execute(
                                "UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE state = 'scheduled'"));
    }

    private static JsonNode queued(String body) throws Exception {
        HttpResponse<String> response = pulse.post("/v1/tasks", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
        return json.readTree(response.body());
    }

    /** run_at − created_at: both from the database clock in one statement when it was a span. */
    private static Duration delayOf(JsonNode task) {
        return Duration.between(
                Instant.parse(task.path("created_at").asText()),
                Instant.parse(task.path("run_at").asText()));
    }

    @Test
    void delayTakesDurationsCountedByTheDatabaseClock() throws Exception {
        assertThat(delayOf(queued("{\"agent\": \"echo\", \"delay\": \"5m\"}")))
                .isEqualTo(Duration.ofMinutes(5));
        assertThat(delayOf(queued("{\"agent\": \"echo\", \"delay\": \"90s\"}")))
                .isEqualTo(Duration.ofSeconds(90));
        assertThat(delayOf(queued("{\"agent\": \"echo\", \"delay\": \"2h30m\"}")))
                .isEqualTo(Duration.ofMinutes(150));
        assertThat(delayOf(queued("{\"agent\": \"echo\", \"delay\": \"1d\"}")))
                .isEqualTo(Duration.ofDays(1));
        JsonNode iso = queued("{\"agent\": \"echo\", \"delay\": \"PT5M\"}");
        assertThat(delayOf(iso)).isEqualTo(Duration.ofMinutes(5));
        assertThat(iso.path("state").asText()).isEqualTo("scheduled");
    }

    @Test
    void spansInRunAtAreDelaysToo() throws Exception {
        assertThat(delayOf(queued("{\"agent\": \"echo\", \"run_at\": \"in 10 minutes\"}")))
                .isEqualTo(Duration.ofMinutes(10));
        assertThat(
                        delayOf(
                                queued(
                                        "{\"agent\": \"echo\", \"run_at\": \"in 2 hours\", \"timezone\": \"Europe/Berlin\"}")))
                .isEqualTo(Duration.ofHours(2));
    }

    @Test
    void dayPhrasesAreReadInTheGivenZone() throws Exception {
        for (String zone : List.of("Europe/Berlin", "America/New_York", "UTC")) {
            ZoneId z = ZoneId.of(zone);
            check("tomorrow 9am", zone, d -> d.plusDays(1).atTime(9, 0).atZone(z).toInstant());
            check(
                    "tomorrow at 09:30",
                    zone,
                    d -> d.plusDays(1).atTime(9, 30).atZone(z).toInstant());
            check(
                    "next monday 9am",
                    zone,
                    d ->
                            d.with(TemporalAdjusters.next(DayOfWeek.MONDAY))
                                    .atTime(9, 0)
                                    .atZone(z)
                                    .toInstant());
            check(
                    "friday 18:00",
                    zone,
                    d -> {
                        Instant now = Instant.now();
                        for (LocalDate day = d; ; day = day.plusDays(1)) {
                            Instant t = day.atTime(LocalTime.of(18, 0)).atZone(z).toInstant();
                            if (day.getDayOfWeek() == DayOfWeek.FRIDAY && t.isAfter(now)) {
                                return t;
                            }
                        }
                    });
        }
        assertThat(
                        Instant.parse(
                                queued("{\"agent\": \"echo\", \"run_at\": \"tomorrow 9am\"}")
                                        .path("run_at")
                                        .asText()))
                .as("UTC without a timezone")
                .isEqualTo(
                        LocalDate.now(ZoneOffset.UTC)
                                .plusDays(1)
                                .atTime(9, 0)
                                .toInstant(ZoneOffset.UTC));
    }

    /**
     * "today": in a fixed-offset zone where it is now about 10:00, 17:00 is to come and 09:00 past.
     */
    @Test
    void todayIsTakenWhileItsTimeIsToComeAndRefusedOnceItIsPast() throws Exception {
        int hourUtc = Instant.now().atZone(ZoneOffset.UTC).getHour();
        int offset = 10 - hourUtc;
        offset = offset > 14 ? offset - 24 : offset < -12 ? offset + 24 : offset;
        // POSIX signs: Etc/GMT-3 is UTC+3.
        String zone =
                offset == 0 ? "Etc/GMT" : "Etc/GMT" + (offset > 0 ? "-" : "+") + Math.abs(offset);
        ZoneId z = ZoneId.of(zone);
        JsonNode later =
                queued(
                        "{\"agent\": \"echo\", \"run_at\": \"today 17:00\", \"timezone\": \""
                                + zone
                                + "\"}");
        assertThat(Instant.parse(later.path("run_at").asText()))
                .isEqualTo(LocalDate.now(z).atTime(17, 0).atZone(z).toInstant());

        JsonNode past =
                problem(
                        "{\"agent\": \"echo\", \"run_at\": \"today 09:00\", \"timezone\": \""
                                + zone
                                + "\"}",
                        "run_at");
        assertThat(past.path("errors").get(0).path("message").asText()).contains("is in the past");
    }

    @Test
    void anRfc3339TimeUpToAMinuteAgoRunsNowAndAnOlderOneIsRefused() throws Exception {
        String halfAMinuteAgo =
                Instant.now().minusSeconds(30).truncatedTo(ChronoUnit.SECONDS).toString();
        assertThat(
                        queued("{\"agent\": \"echo\", \"run_at\": \"" + halfAMinuteAgo + "\"}")
                                .path("run_at")
                                .asText())
                .isEqualTo(halfAMinuteAgo);
        String anHourAgo =
                Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString();
        JsonNode refused =
                problem("{\"agent\": \"echo\", \"run_at\": \"" + anHourAgo + "\"}", "run_at");
        assertThat(refused.path("errors").get(0).path("message").asText())
                .contains("is in the past");
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("{\"agent\": \"echo\", \"run_at\": \"whenever\"}", "run_at"),
                Arguments.of("{\"agent\": \"echo\", \"run_at\": \"tomorrow\"}", "run_at"),
                Arguments.of("{\"agent\": \"echo\", \"run_at\": \"tomorrow 25:00\"}", "run_at"),
                Arguments.of("{\"agent\": \"echo\", \"run_at\": 1700000000}", "run_at"),
                Arguments.of("{\"agent\": \"echo\", \"run_at\": \"in 500 days\"}", "run_at"),
                Arguments.of(
                        "{\"agent\": \"echo\", \"run_at\": \"tomorrow 9am\", \"timezone\": \"Mars/Olympus_Mons\"}",
                        "timezone"),
                Arguments.of("{\"agent\": \"echo\", \"timezone\": 3}", "timezone"),
                Arguments.of("{\"agent\": \"echo\", \"delay\": \"5 minutes\"}", "delay"),
                Arguments.of("{\"agent\": \"echo\", \"delay\": 300}", "delay"),
                Arguments.of("{\"agent\": \"echo\", \"delay\": \"-5m\"}", "delay"),
                Arguments.of("{\"agent\": \"echo\", \"delay\": \"400d\"}", "delay"),
                Arguments.of(
                        "{\"agent\": \"echo\", \"delay\": \"5m\", \"delay_seconds\": 300}",
                        "delay"),
                Arguments.of(
                        "{\"agent\": \"echo\", \"delay\": \"5m\", \"run_at\": \"tomorrow 9am\"}",
                        "delay"));
    }

    @ParameterizedTest
    @MethodSource
    void refused(String body, String field) throws Exception {
        problem(body, field);
    }

    /** A 422 problem naming exactly {@code field}; nothing queued. */
    private static JsonNode problem(String body, String field) throws Exception {
        long before = pulse.count("SELECT count(*) FROM tasks");
        HttpResponse<String> response = pulse.post("/v1/tasks", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(422);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValue("application/problem+json");
        JsonNode problem = json.readTree(response.body());
        assertThat(problem.path("errors").findValuesAsText("field"))
                .as(response.body())
                .containsExactly(field);
        if (field.equals("run_at") && body.contains("whenever")) {
            assertThat(problem.path("errors").get(0).path("message").asText())
                    .contains("RFC 3339", "'in 10 minutes'", "'tomorrow 9am'", "'next monday 9am'");
        }
        assertThat(pulse.count("SELECT count(*) FROM tasks")).isEqualTo(before);
        return problem;
    }

    private interface Expected {
        Instant from(LocalDate today);
    }

    /**
     * The run_at of the phrase is the expectation for today's date, before or after the request.
     */
    private static void check(String phrase, String zone, Expected expected) throws Exception {
        ZoneId z = ZoneId.of(zone);
        Instant before = expected.from(LocalDate.now(z));
        JsonNode task =
                queued(
                        "{\"agent\": \"echo\", \"run_at\": \""
                                + phrase
                                + "\", \"timezone\": \""
                                + zone
                                + "\"}");
        Instant after = expected.from(LocalDate.now(z));
        assertThat(Instant.parse(task.path("run_at").asText()))
                .as("'%s' in %s", phrase, zone)
                .isIn(before, after);
        assertThat(task.path("state").asText()).isEqualTo("scheduled");
    }
}
