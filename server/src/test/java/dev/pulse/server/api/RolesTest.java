package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * PULSE_ROLES splits a fleet: API nodes take requests, worker nodes run tasks; all serve health and
 * metrics.
 */
class RolesTest {

    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void anApiNodeQueuesAndAWorkerNodeRuns() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (TestNode api = new TestNode(database, Map.of("PULSE_ROLES", "api"));
                TestNode worker = new TestNode(database, Map.of("PULSE_ROLES", "worker"))) {
            assertThat(worker.get("/v1/tasks").statusCode())
                    .as("no API on a worker node")
                    .isEqualTo(404);
            assertThat(worker.get("/health/ready").statusCode()).isEqualTo(200);
            assertThat(worker.get("/metrics").statusCode()).isEqualTo(200);

            String id =
                    json.readTree(
                                    api.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"echo\", \"input\": {\"hi\": 1}}")
                                            .body())
                            .path("id")
                            .asText();
            long deadline = System.nanoTime() + 120_000_000_000L;
            String state = "";
            while (!state.equals("succeeded") && System.nanoTime() < deadline) {
                Thread.sleep(50);
                state = json.readTree(api.get("/v1/tasks/" + id).body()).path("state").asText();
            }
            assertThat(state).isEqualTo("succeeded");
            String ranOn =
                    api.jdbi.withHandle(
                            h ->
                                    h.createQuery("SELECT node FROM ended_attempts")
                                            .mapTo(String.class)
                                            .one());
            String workerNode =
                    api.jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT id FROM nodes WHERE roles = ARRAY['worker']")
                                            .mapTo(String.class)
                                            .one());
            assertThat(ranOn).isEqualTo(workerNode);
        }
    }
}
