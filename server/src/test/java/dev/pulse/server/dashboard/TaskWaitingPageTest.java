package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The task page shows a task's concurrency key and why it waits in the queue. */
class TaskWaitingPageTest {

    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void aTaskHeldBackByItsAgentsLimitSaysSoOnItsPage() throws Exception {
        try (TestNode node = new TestNode()) {
            HttpResponse<String> put =
                    node.send(
                            node.request("/v1/agents/one-at-a-time")
                                    .PUT(
                                            HttpRequest.BodyPublishers.ofString(
                                                    """
                                                    {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "one-at-a-time"},
                                                     "spec": {"executor": "local", "max_concurrency": 1, "timeout": "60s",
                                                              "local": {"java_agent": "sleep"}}}"""))
                                    .build());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            String body =
                    "{\"agent\": \"one-at-a-time\", \"input\": {\"ms\": 30000}, \"concurrency_key\": \"tenant-7\"}";
            String first = id(node.post("/v1/tasks", body));
            String second = id(node.post("/v1/tasks", body));
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!json.readTree(node.get("/v1/tasks/" + first).body())
                    .path("state")
                    .asText()
                    .equals("running")) {
                assertThat(System.nanoTime()).as("the first task never ran").isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(
                            json.readTree(node.get("/v1/tasks/" + second).body())
                                    .path("waiting_reason")
                                    .asText())
                    .isEqualTo("concurrency_limited");

            DashboardClient browser = new DashboardClient(node);
            browser.signIn(TestNode.ADMIN_KEY);
            String page = browser.get("/dashboard/tasks/" + second).body();
            assertThat(page).contains("tenant-7").contains("concurrency_limited");
            node.post("/v1/tasks/" + first + "/cancel", "");
            node.post("/v1/tasks/" + second + "/cancel", "");
        }
    }

    private static String id(HttpResponse<String> created) throws Exception {
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }
}
