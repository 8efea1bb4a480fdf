package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.server.api.docs.DocumentedHttp;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code every: 2s, times: 3} on two node processes sharing one database: exactly three tasks, two
 * seconds apart by their tick instants, and the schedule ends {@code completed}. Nothing is timed:
 * the test waits for the state with a generous deadline and counts once both processes stopped.
 */
class TwoNodesIntervalScheduleTest {

    private static final Duration PATIENCE = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path logs;

    @Test
    void everyTwoSecondsThreeTimesQueuesExactlyThreeTasksAcrossTwoNodes() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (Database db = Database.connect(database, 2)) {
            db.migrate();
        }
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(database));
        Jdbi jdbi = Jdbi.create(database.jdbcUrl());
        try (PulseProcess a = PulseProcess.start("node-a", env, logs);
                PulseProcess b = PulseProcess.start("node-b", env, logs)) {
            a.awaitReady(PATIENCE);
            b.awaitReady(PATIENCE);
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> created =
                    send(
                            http,
                            HttpRequest.newBuilder(URI.create(a.url("/v1/schedules")))
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"name\": \"thrice\", \"every\": \"2s\", \"times\": 3, \"agent\": \"echo\"}")));
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);

            long deadline = System.nanoTime() + PATIENCE.toNanos();
            JsonNode schedule = JSON.readTree(created.body());
            while (!schedule.path("state").asText().equals("completed")) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(
                            "not completed within "
                                    + PATIENCE
                                    + ": "
                                    + schedule
                                    + "\n"
                                    + a.logTail()
                                    + "\n"
                                    + b.logTail());
                }
                Thread.sleep(200);
                // Read from either node: both see the same row.
                PulseProcess reader = System.nanoTime() % 2 == 0 ? a : b;
                schedule =
                        JSON.readTree(
                                send(
                                                http,
                                                HttpRequest.newBuilder(
                                                                URI.create(
                                                                        reader.url(
                                                                                "/v1/schedules/thrice")))
                                                        .GET())
                                        .body());
            }
            assertThat(schedule.path("next_fire_time").isNull()).isTrue();
            assertThat(a.terminate(PATIENCE)).as("node-a exit status").isZero();
            assertThat(b.terminate(PATIENCE)).as("node-b exit status").isZero();
        }

        List<Instant> ticks =
                jdbi
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT fire_time FROM tasks WHERE schedule_name = 'thrice' ORDER BY fire_time")
                                                .mapTo(OffsetDateTime.class)
                                                .list())
                        .stream()
                        .map(OffsetDateTime::toInstant)
                        .toList();
        assertThat(ticks).hasSize(3);
        assertThat(Duration.between(ticks.get(0), ticks.get(1))).isEqualTo(Duration.ofSeconds(2));
        assertThat(Duration.between(ticks.get(1), ticks.get(2))).isEqualTo(Duration.ofSeconds(2));
        long fires =
                jdbi.withHandle(
                        h ->
                                h.createQuery("SELECT count(*) FROM schedule_fires")
                                        .mapTo(Long.class)
                                        .one());
        assertThat(fires).isEqualTo(3);
    }

    private static HttpResponse<String> send(HttpClient http, HttpRequest.Builder request)
            throws Exception {
        return DocumentedHttp.checked(
                http.send(
                        request.header("Authorization", "Bearer " + TestNode.ADMIN_KEY).build(),
                        HttpResponse.BodyHandlers.ofString()));
    }
}
