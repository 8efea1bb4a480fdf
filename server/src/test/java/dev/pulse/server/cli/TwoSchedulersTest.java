package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
 * Two scheduler processes on one database, a schedule firing every second until it has fired 20
 * times (counted, not waited out: a busy machine only takes longer): exactly one task per tick,
 * none missing (docs/architecture.md invariant 6). The count is read once both processes have
 * stopped, so no tick is still in flight.
 */
class TwoSchedulersTest {

    private static final int TICKS = 20;

    /**
     * How long anything awaited here may take on a busy machine; the happy path returns as soon as
     * it holds.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(3);

    @TempDir Path logs;

    @Test
    void twoSchedulersEnqueueEachTickExactlyOnce() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (Database db = Database.connect(database, 2)) {
            db.migrate();
        }
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(database));
        try (PulseProcess a = PulseProcess.start("scheduler-a", env, logs);
                PulseProcess b = PulseProcess.start("scheduler-b", env, logs)) {
            a.awaitReady(PATIENCE);
            b.awaitReady(PATIENCE);
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> created =
                    DocumentedHttp.checked(
                            http.send(
                                    HttpRequest.newBuilder(URI.create(a.url("/v1/schedules")))
                                            .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                            .header("Content-Type", "application/json")
                                            .POST(
                                                    HttpRequest.BodyPublishers.ofString(
                                                            "{\"name\": \"every-second\", \"cron\": \"* * * * * ?\", \"agent\": \"echo\"}"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString()));
            assertThat(created.statusCode()).isEqualTo(201);

            Jdbi jdbi = Jdbi.create(database.jdbcUrl());
            long deadline = System.nanoTime() + PATIENCE.toNanos();
            long queued = 0;
            while ((queued =
                            jdbi.withHandle(
                                    h ->
                                            h.createQuery(
                                                            "SELECT count(*) FROM tasks WHERE schedule_name = 'every-second'")
                                                    .mapTo(Long.class)
                                                    .one()))
                    < TICKS) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(
                            queued
                                    + " of "
                                    + TICKS
                                    + " ticks within "
                                    + PATIENCE
                                    + "\n"
                                    + a.logTail()
                                    + "\n"
                                    + b.logTail());
                }
                Thread.sleep(200);
            }
            DocumentedHttp.checked(
                    http.send(
                            HttpRequest.newBuilder(
                                            URI.create(b.url("/v1/schedules/every-second/pause")))
                                    .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                    .POST(HttpRequest.BodyPublishers.noBody())
                                    .build(),
                            HttpResponse.BodyHandlers.ofString()));
            // A tick may be in flight as the pause lands: stopping both processes ends every one.
            assertThat(a.terminate(PATIENCE)).as("scheduler-a exit status").isZero();
            assertThat(b.terminate(PATIENCE)).as("scheduler-b exit status").isZero();

            List<Instant> ticks =
                    jdbi
                            .withHandle(
                                    h ->
                                            h.createQuery(
                                                            "SELECT fire_time FROM tasks WHERE schedule_name = 'every-second' ORDER BY fire_time")
                                                    .mapTo(OffsetDateTime.class)
                                                    .list())
                            .stream()
                            .map(OffsetDateTime::toInstant)
                            .toList();
            long distinct = ticks.stream().distinct().count();
            long span = Duration.between(ticks.get(0), ticks.get(ticks.size() - 1)).toSeconds() + 1;
            System.out.printf(
                    "two schedulers: %d tasks for %d distinct ticks over %d s%n",
                    ticks.size(), distinct, span);

            assertThat(ticks.size()).as("ticks").isGreaterThanOrEqualTo(TICKS);
            assertThat(distinct).as("no tick enqueued twice").isEqualTo(ticks.size());
            assertThat(span)
                    .as("no tick missing between the first and the last")
                    .isEqualTo(ticks.size());
            long fires =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery("SELECT count(*) FROM schedule_fires")
                                            .mapTo(Long.class)
                                            .one());
            assertThat(fires).isEqualTo(ticks.size());
        }
    }
}
