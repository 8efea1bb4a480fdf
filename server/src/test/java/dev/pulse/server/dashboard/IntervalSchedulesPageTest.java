package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The schedules page shows an interval schedule's period, bounds and state. */
class IntervalSchedulesPageTest {

    private static final Duration PATIENCE = Duration.ofMinutes(2);
    private static TestNode node;

    @BeforeAll
    static void start() {
        node = new TestNode();
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void intervalSchedulesShowTheirPeriodBoundsAndState() throws Exception {
        assertThat(
                        node.post(
                                        "/v1/schedules",
                                        "{\"name\": \"summariser\", \"every\": \"10m\", \"times\": 6,"
                                                + " \"start_at\": \"2030-01-01T09:00:00Z\", \"agent\": \"echo\"}")
                                .statusCode())
                .isEqualTo(201);
        assertThat(
                        node.post(
                                        "/v1/schedules",
                                        "{\"name\": \"once\", \"every\": \"1s\", \"times\": 1, \"agent\": \"echo\"}")
                                .statusCode())
                .isEqualTo(201);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!node.get("/v1/schedules/once").body().contains("\"state\":\"completed\"")) {
            assertThat(System.nanoTime()).as("'once' completed").isLessThan(deadline);
            Thread.sleep(200);
        }
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);

        String page = browser.get("/dashboard/schedules").body();

        assertThat(page)
                .contains(
                        "every 10m",
                        "6 times, from Tue 2030-01-01 09:00 UTC",
                        "id=\"completed-once\"")
                .doesNotContain("id=\"completed-summariser\"", "id=\"paused-summariser\"");
    }
}
