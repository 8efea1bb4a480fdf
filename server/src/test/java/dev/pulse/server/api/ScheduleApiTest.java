package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code /v1/schedules} end to end on one node, with its ticker firing real ticks. */
class ScheduleApiTest {

    /**
     * How long anything awaited here may take on a busy machine; the happy path returns as soon as
     * it holds.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(2);

    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;

    @TempDir static Path schedulesDir;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(
                schedulesDir.resolve("nightly.yaml"),
                """
                apiVersion: pulse/v1
                kind: Schedule
                metadata: {name: from-file}
                spec:
                  cron: "0 3 * * *"
                  timezone: Europe/Berlin
                  agent: echo
                  input: {report: nightly}
                  dst: {repeat: second}
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
    void aScheduleIsCreatedShownWithItsNextFiveFireTimesInItsZoneAndListed() throws Exception {
        HttpResponse<String> created =
                pulse.post(
                        "/v1/schedules",
                        """
                {"name": "digest", "cron": "30 7 * * 1-5", "timezone": "America/New_York", "agent": "echo",
                 "input": {"kind": "digest"}, "misfire": "run_once", "overlap": "skip"}
                """);
        assertThat(created.statusCode()).isEqualTo(201);

        JsonNode schedule = json.readTree(pulse.get("/v1/schedules/digest").body());
        assertThat(schedule.path("quartz_cron").isNull())
                .as("a crontab line is read as crontab, not translated to Quartz")
                .isTrue();
        assertThat(schedule.path("dst").path("gap").asText()).isEqualTo("run_after");
        assertThat(schedule.path("dst").path("repeat").asText()).isEqualTo("first");
        assertThat(schedule.path("misfire").asText()).isEqualTo("run_once");
        JsonNode next = schedule.path("next_fire_times");
        assertThat(next).hasSize(5);
        next.forEach(
                t -> {
                    OffsetDateTime local = OffsetDateTime.parse(t.asText());
                    assertThat(local.getHour()).isEqualTo(7);
                    assertThat(local.getMinute()).isEqualTo(30);
                    assertThat(local.getOffset())
                            .isIn(ZoneOffset.ofHours(-5), ZoneOffset.ofHours(-4));
                    assertThat(local.getDayOfWeek().getValue()).isBetween(1, 5);
                });

        assertThat(json.readTree(pulse.get("/v1/schedules").body()).path("items"))
                .extracting(i -> i.path("name").asText())
                .contains("digest", "from-file");
        assertThat(
                        pulse.post(
                                        "/v1/schedules",
                                        "{\"name\": \"digest\", \"cron\": \"@daily\", \"agent\": \"echo\"}")
                                .statusCode())
                .as("a second create of the same name")
                .isEqualTo(409);
    }

    @Test
    void bothDayFieldsAndADstPolicyAreAcceptedAndShown() throws Exception {
        HttpResponse<String> created =
                pulse.post(
                        "/v1/schedules",
                        """
                {"name": "payday", "cron": "0 0 1,15 * 5", "timezone": "Europe/Berlin", "agent": "echo",
                 "dst": {"gap": "skip", "repeat": "second"}}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode schedule = json.readTree(pulse.get("/v1/schedules/payday").body());
        assertThat(schedule.path("dst").path("gap").asText()).isEqualTo("skip");
        assertThat(schedule.path("dst").path("repeat").asText()).isEqualTo("second");
        schedule.path("next_fire_times")
                .forEach(
                        t -> {
                            OffsetDateTime local = OffsetDateTime.parse(t.asText());
                            assertThat(
                                            local.getDayOfMonth() == 1
                                                    || local.getDayOfMonth() == 15
                                                    || local.getDayOfWeek().getValue() == 5)
                                    .as(
                                            "%s is the 1st, the 15th or a Friday (crontab: either day field)",
                                            local)
                                    .isTrue();
                        });
        assertThat(
                        pulse.count(
                                "SELECT count(*) FROM schedules WHERE name = 'payday' AND dst_gap = 'skip' AND dst_repeat = 'second'"))
                .isEqualTo(1);
    }

    @Test
    void schedulesFromFilesAreAppliedAtStart() throws Exception {
        JsonNode schedule = json.readTree(pulse.get("/v1/schedules/from-file").body());
        assertThat(schedule.path("timezone").asText()).isEqualTo("Europe/Berlin");
        assertThat(schedule.path("input").path("report").asText()).isEqualTo("nightly");
        assertThat(schedule.path("dst").path("repeat").asText()).isEqualTo("second");
        assertThat(schedule.path("dst").path("gap").asText())
                .as("the default")
                .isEqualTo("run_after");
    }

    @Test
    void everyTickOfAnEverySecondScheduleBecomesATaskCarryingItsFireTime() throws Exception {
        assertThat(
                        pulse.send(
                                        pulse.request("/v1/schedules/ticker")
                                                .PUT(
                                                        HttpRequest.BodyPublishers.ofString(
                                                                "{\"cron\": \"* * * * * ?\", \"agent\": \"echo\"}"))
                                                .build())
                                .statusCode())
                .isEqualTo(201);

        JsonNode tasks = awaitTasks("ticker", 3, PATIENCE);
        tasks.forEach(
                t -> {
                    assertThat(t.path("schedule_name").asText()).isEqualTo("ticker");
                    assertThat(OffsetDateTime.parse(t.path("fire_time").asText()).getNano())
                            .isZero();
                });
        JsonNode detail = json.readTree(pulse.get("/v1/schedules/ticker").body());
        assertThat(detail.path("recent_fires").get(0).path("outcome").asText())
                .isEqualTo("enqueued");

        assertThat(pulse.post("/v1/schedules/ticker/pause", "").statusCode()).isEqualTo(200);
        // A tick may be in flight as the pause lands, but its fire time is before the pause; any
        // tick fired later is one the pause let through. An unpaused schedule beside it shows the
        // scheduler kept firing meanwhile: three of its ticks, however long they take to come.
        OffsetDateTime pausedAt =
                pulse.jdbi.withHandle(
                        h -> h.createQuery("SELECT now()").mapTo(OffsetDateTime.class).one());
        assertThat(
                        pulse.send(
                                        pulse.request("/v1/schedules/control")
                                                .PUT(
                                                        HttpRequest.BodyPublishers.ofString(
                                                                "{\"cron\": \"* * * * * ?\", \"agent\": \"echo\"}"))
                                                .build())
                                .statusCode())
                .isEqualTo(201);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (firedAfter("control", pausedAt) < 3) {
            assertThat(System.nanoTime())
                    .as("three ticks of the control schedule within %s", PATIENCE)
                    .isLessThan(deadline);
            Thread.sleep(200);
        }
        assertThat(pulse.send(pulse.request("/v1/schedules/control").DELETE().build()).statusCode())
                .isEqualTo(204);
        assertThat(firedAfter("ticker", pausedAt)).as("ticks fired while paused").isZero();
        long paused = pulse.count("SELECT count(*) FROM tasks WHERE schedule_name = 'ticker'");
        assertThat(json.readTree(pulse.get("/v1/schedules/ticker").body()).path("next_fire_times"))
                .isEmpty();

        assertThat(pulse.post("/v1/schedules/ticker/resume", "").statusCode()).isEqualTo(200);
        awaitTasks("ticker", (int) paused + 2, PATIENCE);
        assertThat(pulse.send(pulse.request("/v1/schedules/ticker").DELETE().build()).statusCode())
                .isEqualTo(204);
        assertThat(pulse.get("/v1/schedules/ticker").statusCode()).isEqualTo(404);
    }

    @Test
    void triggerRunsAScheduleNow() throws Exception {
        pulse.post(
                "/v1/schedules",
                "{\"name\": \"yearly\", \"cron\": \"@yearly\", \"agent\": \"echo\"}");
        HttpResponse<String> triggered = pulse.post("/v1/schedules/yearly/trigger", "");
        assertThat(triggered.statusCode()).isEqualTo(201);
        JsonNode body = json.readTree(triggered.body());
        assertThat(body.path("outcome").asText()).isEqualTo("enqueued");
        assertThat(body.path("task").path("schedule_name").asText()).isEqualTo("yearly");
        assertThat(pulse.post("/v1/schedules/nope/trigger", "").statusCode()).isEqualTo(404);
    }

    static Stream<Arguments> badSchedules() {
        return Stream.of(
                Arguments.of("{\"name\": \"a\", \"agent\": \"echo\"}", "cron"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"61 * * * *\", \"agent\": \"echo\"}", "cron"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"0 9 * * 1/2\", \"agent\": \"echo\"}",
                        "cron"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"0 9 * * FRI-SUN\", \"agent\": \"echo\"}",
                        "cron"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"dst\": \"skip\"}",
                        "dst"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"dst\": {\"gap\": \"later\"}}",
                        "dst.gap"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"dst\": {\"repeat\": \"both\"}}",
                        "dst.repeat"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"dst\": {\"fold\": \"first\"}}",
                        "dst.fold"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@sometimes\", \"agent\": \"echo\"}", "cron"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"timezone\": \"Mars/Olympus\"}",
                        "timezone"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"ghost\"}", "agent"),
                Arguments.of(
                        "{\"name\": \"Bad Name\", \"cron\": \"@daily\", \"agent\": \"echo\"}",
                        "name"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"misfire\": \"later\"}",
                        "misfire"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"overlap\": 3}",
                        "overlap"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"catch_up_max\": 0}",
                        "catch_up_max"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"enabled\": \"yes\"}",
                        "enabled"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"callback_url\": \"ftp://x\"}",
                        "callback_url"),
                Arguments.of(
                        "{\"name\": \"a\", \"cron\": \"@daily\", \"agent\": \"echo\", \"every\": 5}",
                        "every"));
    }

    @ParameterizedTest
    @MethodSource("badSchedules")
    void invalidSchedulesGetAProblemNamingTheFieldAndAreNotStored(String body, String field)
            throws Exception {
        long before = pulse.count("SELECT count(*) FROM schedules");
        HttpResponse<String> response = pulse.post("/v1/schedules", body);
        assertThat(response.statusCode()).isEqualTo(422);
        assertThat(json.readTree(response.body()).path("errors"))
                .extracting(e -> e.path("field").asText())
                .contains(field);
        assertThat(pulse.count("SELECT count(*) FROM schedules")).isEqualTo(before);
    }

    private static long firedAfter(String schedule, OffsetDateTime instant) {
        return pulse.jdbi.withHandle(
                h ->
                        h.createQuery(
                                        "SELECT count(*) FROM tasks WHERE schedule_name = :schedule AND fire_time > :instant")
                                .bind("schedule", schedule)
                                .bind("instant", instant)
                                .mapTo(Long.class)
                                .one());
    }

    private static JsonNode awaitTasks(String schedule, int atLeast, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode items = null;
        while (System.nanoTime() < deadline) {
            items =
                    json.readTree(pulse.get("/v1/tasks?schedule=" + schedule + "&limit=500").body())
                            .path("items");
            if (items.size() >= atLeast) {
                return items;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(
                "schedule "
                        + schedule
                        + " produced "
                        + (items == null ? 0 : items.size())
                        + " tasks, expected at least "
                        + atLeast);
    }
}
