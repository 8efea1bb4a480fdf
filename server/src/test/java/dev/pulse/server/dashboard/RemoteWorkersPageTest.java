package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** The nodes page lists remote workers with the tasks they hold; their keys can't sign in. */
class RemoteWorkersPageTest {

    private static final ObjectMapper json = JsonMapper.create();

    @Test
    void theNodesPageShowsARemoteWorkerWithItsRunningTask() throws Exception {
        try (TestNode pulse = new TestNode()) {
            HttpResponse<String> put =
                    pulse.send(
                            pulse.request("/v1/agents/far-away")
                                    .PUT(
                                            HttpRequest.BodyPublishers.ofString(
                                                    """
                                                    {"apiVersion": "pulse/v1", "kind": "Agent",
                                                     "metadata": {"name": "far-away"},
                                                     "spec": {"executor": "remote"}}
                                                    """))
                                    .build());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            String id =
                    json.readTree(pulse.post("/v1/tasks", "{\"agent\": \"far-away\"}").body())
                            .path("id")
                            .asText();
            JsonNode claimed =
                    json.readTree(
                            pulse.post(
                                            "/v1/workers/claim",
                                            "{\"worker\": \"gpu-box-1\", \"agents\": [\"far-away\"],"
                                                    + " \"wait_seconds\": 30}")
                                    .body());
            assertThat(claimed.path("tasks").get(0).path("id").asText()).isEqualTo(id);

            DashboardClient admin = new DashboardClient(pulse);
            assertThat(admin.signIn(TestNode.ADMIN_KEY).statusCode()).isEqualTo(303);
            String page = admin.get("/dashboard/nodes").body();
            assertThat(page).contains("Remote workers").contains("gpu-box-1").contains(id);

            String workKey =
                    new ApiKeyStore(pulse.jdbi, new SecureRandom())
                            .create("worker-only", EnumSet.of(Scope.TASKS_WORK));
            assertThat(new DashboardClient(pulse).signIn(workKey).statusCode())
                    .as("a remote worker's key")
                    .isEqualTo(403);
        }
    }
}
