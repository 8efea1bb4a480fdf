package dev.pulse.server.executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.pulse.executors.container.ContainerExecutor;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/**
 * A node shutting down while a container attempt runs hands the attempt back to the queue (outcome
 * {@code released}), as it does for every other executor: the container is killed and removed, and
 * the attempt is neither failed nor counted as a timeout. On a real Docker-API engine (rootful
 * podman from scripts/container-engine.sh, which .ci/run calls).
 */
class ContainerShutdownTest {

    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void aContainerAttemptRunningAtShutdownIsHandedBackNotTimedOut() throws Exception {
        try (ContainerExecutor probe = new ContainerExecutor(json, System::getenv)) {
            String reason =
                    "!!! SKIPPED: no Docker-API engine ("
                            + probe.availability().reason()
                            + "); run eval \"$(scripts/container-engine.sh)\" as .ci/run does";
            if (!probe.availability().available()) {
                System.err.println(reason);
            }
            assumeTrue(probe.availability().available(), reason);
        }
        DatabaseUrl database = TestDatabase.create();
        Map<String, String> env = new HashMap<>();
        env.put(
                "DOCKER_HOST",
                System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock"));
        env.put("PULSE_SHUTDOWN_GRACE", "1s");
        Jdbi jdbi = Jdbi.create(database.jdbcUrl());
        String id;
        try (TestNode node = new TestNode(database, env);
                DockerClient docker = engine(env.get("DOCKER_HOST"))) {
            var put =
                    node.send(
                            node.request("/v1/agents/box-sleeps")
                                    .PUT(
                                            HttpRequest.BodyPublishers.ofString(
                                                    """
                    {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "box-sleeps"},
                     "spec": {"executor": "container", "timeout": "120s",
                              "container": {"image": "localhost/pulse-test-busybox:1", "command": ["sleep", "120"]}}}
                    """))
                                    .build());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            id =
                    json.readTree(
                                    node.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"box-sleeps\", \"max_attempts\": 3}")
                                            .body())
                            .path("id")
                            .asText();

            long deadline = System.nanoTime() + 60_000_000_000L;
            while (docker.listContainersCmd()
                    .withLabelFilter(Map.of("dev.pulse.task", id))
                    .withStatusFilter(List.of("running"))
                    .exec()
                    .isEmpty()) {
                assertThat(System.nanoTime())
                        .as("the task's container never ran")
                        .isLessThan(deadline);
                Thread.sleep(50);
            }
        } // the node shuts down: 1 s of grace, then the running attempt is interrupted

        var task =
                jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT state, lease_token, finished_at FROM tasks WHERE id = CAST(:id AS uuid)")
                                        .bind("id", id)
                                        .mapToMap()
                                        .one());
        assertThat(task.get("state")).as("handed back to the queue: %s", task).isEqualTo("queued");
        assertThat(task.get("finished_at")).isNull();
        List<String> outcomes =
                jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT coalesce(outcome, 'open') FROM ended_attempts WHERE task_id = CAST(:id AS uuid) ORDER BY attempt")
                                        .bind("id", id)
                                        .mapTo(String.class)
                                        .list());
        assertThat(outcomes).as("attempt outcomes").containsExactly("released");
        try (DockerClient docker = engine(env.get("DOCKER_HOST"))) {
            assertThat(
                            docker.listContainersCmd()
                                    .withShowAll(true)
                                    .withLabelFilter(Map.of("dev.pulse.task", id))
                                    .exec())
                    .as("the container was removed")
                    .isEmpty();
        }
    }

    private static DockerClient engine(String host) {
        DefaultDockerClientConfig config =
                DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
        return DockerClientImpl.getInstance(
                config,
                new ZerodepDockerHttpClient.Builder().dockerHost(config.getDockerHost()).build());
    }
}
