package dev.pulse.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pulse.server.api.docs.ApiDocsRoutes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Dockerfile, docker-compose.yaml and the Kubernetes manifests can't be run here, so this
 * parses them and checks what ties them to the code: probes hit health routes that exist, the
 * image's user is the non-root user the manifests run as, names and labels refer to each other.
 */
class DeploymentFilesTest {

    private static final Path ROOT = Path.of("..");
    private static final Path KUBERNETES = ROOT.resolve("deploy/kubernetes");
    private static final YAMLMapper YAML = new YAMLMapper();

    @Test
    void theImageRunsAsANumericNonRootUserAndChecksItsHealth() throws IOException {
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile")).replace("\\\n", " ");
        assertThat(imageUid()).isPositive();
        Matcher healthcheck = Pattern.compile("(?m)^HEALTHCHECK .*$").matcher(dockerfile);
        assertThat(healthcheck.find()).as("the Dockerfile has a HEALTHCHECK").isTrue();
        assertThat(healthcheck.group()).contains("CMD curl").contains("/health/live");
        assertThat(healthPaths()).contains("/health/live");
        assertThat(dockerfile).containsPattern("apt-get install [^\\n]*\\bcurl\\b");
    }

    @Test
    void composeRunsPulseOnPostgres17WithHealthchecksAndANamedVolume() throws IOException {
        JsonNode compose = YAML.readTree(ROOT.resolve("docker-compose.yaml").toFile());
        JsonNode postgres = compose.path("services").path("postgres");
        JsonNode pulse = compose.path("services").path("pulse");

        assertThat(postgres.path("image").asText()).startsWith("postgres:17");
        assertThat(postgres.path("healthcheck").path("test").toString()).contains("pg_isready");
        String volume = postgres.path("volumes").get(0).asText();
        assertThat(volume).endsWith(":/var/lib/postgresql/data");
        assertThat(compose.path("volumes").has(volume.substring(0, volume.indexOf(':')))).isTrue();

        assertThat(pulse.path("build").asText()).isEqualTo(".");
        assertThat(pulse.path("depends_on").path("postgres").path("condition").asText())
                .isEqualTo("service_healthy");
        assertThat(pulse.path("environment").path("PULSE_DATABASE_URL").asText())
                .startsWith("postgres://")
                .contains("@postgres:5432/pulse");
        assertThat(pulse.path("environment").path("PULSE_LOG_FORMAT").asText()).contains("json");
        assertThat(healthPathIn(pulse.path("healthcheck").path("test").toString()))
                .isEqualTo("/health/ready");
    }

    @Test
    void everyManifestIsWellFormedAndListedInTheKustomization() throws IOException {
        Set<String> files = new TreeSet<>();
        for (Path file : manifestFiles()) {
            files.add(file.getFileName().toString());
            for (JsonNode doc : documents(file)) {
                assertThat(doc.path("apiVersion").asText()).as(file + " apiVersion").isNotBlank();
                assertThat(doc.path("kind").asText()).as(file + " kind").isNotBlank();
                if (!doc.path("kind").asText().equals("Kustomization")) {
                    assertThat(doc.path("metadata").path("name").asText())
                            .as(file + " metadata.name")
                            .isNotBlank();
                }
            }
        }
        JsonNode kustomization = YAML.readTree(KUBERNETES.resolve("kustomization.yaml").toFile());
        Set<String> listed = new TreeSet<>();
        kustomization.path("resources").forEach(r -> listed.add(r.asText()));
        files.remove("kustomization.yaml");
        assertThat(listed).isEqualTo(files);
    }

    @Test
    void apiAndWorkerDeploymentsAreNonRootWithProbesResourcesAndTheSecret() throws IOException {
        Map<String, JsonNode> deployments = byName("Deployment");
        assertThat(deployments).containsOnlyKeys("pulse-api", "pulse-worker");
        JsonNode secret = single("Secret");
        assertThat(fieldNames(secret.path("stringData")))
                .containsExactlyInAnyOrder(
                        "PULSE_ADMIN_KEY", "PULSE_WEBHOOK_SECRET", "PULSE_DATABASE_URL");

        for (JsonNode deployment : deployments.values()) {
            String name = deployment.path("metadata").path("name").asText();
            JsonNode pod = deployment.path("spec").path("template");
            deployment
                    .path("spec")
                    .path("selector")
                    .path("matchLabels")
                    .fields()
                    .forEachRemaining(
                            label ->
                                    assertThat(
                                                    pod.path("metadata")
                                                            .path("labels")
                                                            .path(label.getKey())
                                                            .asText())
                                            .as(name + " selector")
                                            .isEqualTo(label.getValue().asText()));
            JsonNode security = pod.path("spec").path("securityContext");
            assertThat(security.path("runAsNonRoot").asBoolean())
                    .as(name + " runAsNonRoot")
                    .isTrue();
            assertThat(security.path("runAsUser").asInt())
                    .as(name + " runAsUser")
                    .isEqualTo(imageUid());

            JsonNode container = pod.path("spec").path("containers").get(0);
            assertThat(container.path("image").asText()).isEqualTo("pulse");
            assertThat(
                            container
                                    .path("securityContext")
                                    .path("allowPrivilegeEscalation")
                                    .asBoolean(true))
                    .isFalse();
            for (String kind : List.of("requests", "limits")) {
                assertThat(fieldNames(container.path("resources").path(kind)))
                        .as(name + " resources." + kind)
                        .contains("cpu", "memory");
            }
            assertThat(container.path("envFrom").get(0).path("secretRef").path("name").asText())
                    .isEqualTo(secret.path("metadata").path("name").asText());

            Set<String> portNames = new HashSet<>();
            container.path("ports").forEach(p -> portNames.add(p.path("name").asText()));
            assertThat(probe(container, "livenessProbe", portNames)).isEqualTo("/health/live");
            assertThat(probe(container, "readinessProbe", portNames)).isEqualTo("/health/ready");
            assertThat(healthPaths()).contains(probe(container, "startupProbe", portNames));
        }
    }

    @Test
    void theServiceSelectsTheApiPodsAndTheAutoscalerScalesTheWorkers() throws IOException {
        Map<String, JsonNode> deployments = byName("Deployment");
        JsonNode service = single("Service");
        JsonNode apiLabels =
                deployments
                        .get("pulse-api")
                        .path("spec")
                        .path("template")
                        .path("metadata")
                        .path("labels");
        JsonNode workerLabels =
                deployments
                        .get("pulse-worker")
                        .path("spec")
                        .path("template")
                        .path("metadata")
                        .path("labels");
        service.path("spec")
                .path("selector")
                .fields()
                .forEachRemaining(
                        s ->
                                assertThat(apiLabels.path(s.getKey()).asText())
                                        .isEqualTo(s.getValue().asText()));
        assertThat(matches(service.path("spec").path("selector"), workerLabels))
                .as("the Service skips workers")
                .isFalse();
        assertThat(service.path("spec").path("ports").get(0).path("targetPort").asText())
                .isEqualTo("http");

        assertThat(env(deployments.get("pulse-api"), "PULSE_ROLES")).isEqualTo("api");
        assertThat(env(deployments.get("pulse-worker"), "PULSE_ROLES").split(","))
                .contains("worker")
                .doesNotContain("api");

        JsonNode hpa = single("HorizontalPodAutoscaler");
        assertThat(hpa.path("spec").path("scaleTargetRef").path("kind").asText())
                .isEqualTo("Deployment");
        assertThat(hpa.path("spec").path("scaleTargetRef").path("name").asText())
                .isEqualTo("pulse-worker");
        assertThat(hpa.path("spec").path("minReplicas").asInt())
                .isPositive()
                .isLessThanOrEqualTo(hpa.path("spec").path("maxReplicas").asInt());
        assertThat(deployments.get("pulse-worker").path("spec").has("replicas"))
                .as("the HPA owns the replicas")
                .isFalse();
    }

    /**
     * deploy/kubernetes/keda is the base with KEDA in place of the CPU autoscaler: its ScaledObject
     * scales the worker Deployment on the query TaskFigures documents (so the two can't drift),
     * reading the connection string from the base's Secret, and it removes the base's HPA (two
     * autoscalers must not own one Deployment).
     */
    @Test
    void theKedaOverlayScalesTheWorkersOnReadyTasksInsteadOfTheCpuAutoscaler() throws IOException {
        Path keda = KUBERNETES.resolve("keda");
        JsonNode kustomization = YAML.readTree(keda.resolve("kustomization.yaml").toFile());
        List<String> resources = new ArrayList<>();
        kustomization.path("resources").forEach(r -> resources.add(r.asText()));
        assertThat(resources).contains("..", "worker-scaledobject.yaml");
        assertThat(kustomization.path("namespace").asText()).isEqualTo("pulse");
        JsonNode deleted =
                YAML.readTree(kustomization.path("patches").get(0).path("patch").asText());
        assertThat(deleted.path("$patch").asText()).isEqualTo("delete");
        assertThat(deleted.path("kind").asText()).isEqualTo("HorizontalPodAutoscaler");
        assertThat(byName("HorizontalPodAutoscaler"))
                .containsKey(deleted.path("metadata").path("name").asText());

        Map<String, JsonNode> overlay = new TreeMap<>();
        for (JsonNode doc : documents(keda.resolve("worker-scaledobject.yaml"))) {
            overlay.put(doc.path("kind").asText(), doc);
        }
        JsonNode scaled = overlay.get("ScaledObject");
        assertThat(scaled.path("apiVersion").asText()).isEqualTo("keda.sh/v1alpha1");
        JsonNode target = scaled.path("spec").path("scaleTargetRef");
        assertThat(target.path("kind").asText()).isEqualTo("Deployment");
        assertThat(target.path("name").asText()).isEqualTo("pulse-worker");
        assertThat(byName("Deployment")).containsKey(target.path("name").asText());
        assertThat(scaled.path("spec").path("minReplicaCount").asInt()).isPositive();
        JsonNode trigger = scaled.path("spec").path("triggers").get(0);
        assertThat(trigger.path("type").asText()).isEqualTo("postgresql");
        assertThat(trigger.path("metadata").path("query").asText())
                .isEqualTo(dev.pulse.workers.tasks.TaskFigures.READY_FOR_AUTOSCALER);
        assertThat(Integer.parseInt(trigger.path("metadata").path("targetQueryValue").asText()))
                .isPositive();

        JsonNode auth = overlay.get("TriggerAuthentication");
        assertThat(auth.path("metadata").path("name").asText())
                .isEqualTo(trigger.path("authenticationRef").path("name").asText());
        JsonNode ref = auth.path("spec").path("secretTargetRef").get(0);
        assertThat(ref.path("parameter").asText()).isEqualTo("connection");
        JsonNode secret = single("Secret");
        assertThat(ref.path("name").asText())
                .isEqualTo(secret.path("metadata").path("name").asText());
        assertThat(fieldNames(secret.path("stringData"))).contains(ref.path("key").asText());
        assertThat(secret.path("stringData").path(ref.path("key").asText()).asText())
                .as("KEDA's scaler takes a postgres:// URL as it is")
                .startsWith("postgres://");
    }

    private static String env(JsonNode deployment, String name) {
        for (JsonNode var :
                deployment
                        .path("spec")
                        .path("template")
                        .path("spec")
                        .path("containers")
                        .get(0)
                        .path("env")) {
            if (var.path("name").asText().equals(name)) {
                return var.path("value").asText();
            }
        }
        throw new AssertionError(
                deployment.path("metadata").path("name").asText() + " does not set " + name);
    }

    private static String probe(JsonNode container, String name, Set<String> portNames) {
        JsonNode get = container.path(name).path("httpGet");
        assertThat(portNames).as(name + " port").contains(get.path("port").asText());
        return get.path("path").asText();
    }

    private static boolean matches(JsonNode selector, JsonNode labels) {
        boolean[] all = {true};
        selector.fields()
                .forEachRemaining(
                        s ->
                                all[0] &=
                                        labels.path(s.getKey())
                                                .asText()
                                                .equals(s.getValue().asText()));
        return all[0];
    }

    /**
     * The public health routes of the API, from the OpenAPI document (which a test keeps equal to
     * the routes).
     */
    private static Set<String> healthPaths() {
        Set<String> paths = new TreeSet<>();
        ApiDocsRoutes.document()
                .path("paths")
                .fieldNames()
                .forEachRemaining(
                        p -> {
                            if (p.startsWith("/health/")) {
                                paths.add(p);
                            }
                        });
        return paths;
    }

    private static String healthPathIn(String text) {
        return healthPaths().stream()
                .filter(text::contains)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no health path in " + text));
    }

    private static int imageUid() throws IOException {
        Matcher user =
                Pattern.compile("(?m)^USER\\s+(\\d+)(:\\d+)?\\s*$")
                        .matcher(Files.readString(ROOT.resolve("Dockerfile")));
        assertThat(user.find()).as("the Dockerfile has a numeric USER").isTrue();
        return Integer.parseInt(user.group(1));
    }

    private static List<Path> manifestFiles() throws IOException {
        try (Stream<Path> files = Files.list(KUBERNETES)) {
            return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    private static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it =
                YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNextValue()) {
                docs.add(it.nextValue());
            }
        }
        return docs;
    }

    private static Map<String, JsonNode> byName(String kind) throws IOException {
        Map<String, JsonNode> found = new TreeMap<>();
        for (Path file : manifestFiles()) {
            for (JsonNode doc : documents(file)) {
                if (doc.path("kind").asText().equals(kind)) {
                    found.put(doc.path("metadata").path("name").asText(), doc);
                }
            }
        }
        return found;
    }

    private static JsonNode single(String kind) throws IOException {
        Map<String, JsonNode> found = byName(kind);
        assertThat(found).as(kind).hasSize(1);
        return found.values().iterator().next();
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
