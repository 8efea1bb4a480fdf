package dev.pulse.executors.standins;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for a Kubernetes cluster: fabric8's mock API server in CRUD mode (a real HTTP server
 * on loopback that stores what it is sent) plus a small loop standing in for the job controller,
 * the kubelet and the garbage collector, which CRUD mode lacks. When a Job appears, the loop makes
 * its pod and "runs" the pod's container by its command, a few scripted programs:
 *
 * <ul>
 *   <li>{@code [echo-input]}: logs a line of chatter, then {@code PULSE_INPUT}; succeeds;
 *   <li>{@code [print, TEXT]}: logs TEXT; succeeds;
 *   <li>{@code [fail, TEXT]}: logs TEXT; exits 3, the Job fails;
 *   <li>{@code [leak, VAR]}: logs the value of VAR (read from its Secret, as the kubelet would);
 *       exits 1;
 *   <li>{@code [hang]}: runs until its Job is deleted.
 * </ul>
 *
 * An image whose name contains {@code no-such-image} never starts ({@code ErrImagePull}); a
 * secretKeyRef to a missing Secret is a {@code CreateContainerConfigError}. The pod's log is served
 * at the API's log path, which the CRUD mock does not know.
 */
public final class KubernetesApiStandIn implements AutoCloseable {

    private static final Pattern LOG_PATH =
            Pattern.compile("/api/v1/namespaces/([^/]+)/pods/([^/?]+)/log(\\?.*)?");

    private final Map<String, String> logs = new ConcurrentHashMap<>();
    private final Set<String> handled = ConcurrentHashMap.newKeySet();
    private final List<Job> created = new CopyOnWriteArrayList<>();
    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final Thread cluster;
    private volatile boolean running = true;

    public KubernetesApiStandIn() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMixedDispatcher crud = new KubernetesMixedDispatcher(responses);
        Dispatcher dispatcher =
                new Dispatcher() {
                    @Override
                    public MockResponse dispatch(RecordedRequest request) {
                        Matcher log = LOG_PATH.matcher(request.getPath());
                        if (log.matches() && "GET".equals(request.getMethod())) {
                            String text = logs.get(log.group(1) + "/" + log.group(2));
                            return text == null
                                    ? new MockResponse().setResponseCode(404).setBody("{}")
                                    : new MockResponse().setResponseCode(200).setBody(text);
                        }
                        return crud.dispatch(request);
                    }
                };
        server =
                new KubernetesMockServer(
                        new Context(), new MockWebServer(), responses, dispatcher, false);
        server.init();
        client = server.createClient();
        cluster = new Thread(this::runCluster, "kubernetes-stand-in-cluster");
        cluster.setDaemon(true);
        cluster.start();
    }

    /** A new client of the stand-in API server. */
    public KubernetesClient newClient() {
        return server.createClient();
    }

    /** The client the stand-in uses itself, for tests to look at what is stored. */
    public KubernetesClient client() {
        return client;
    }

    /** The API server's URL, for a kubeconfig. */
    public String url() {
        return "http://" + server.getHostName() + ":" + server.getPort();
    }

    /** Every Job as the API server first stored it. */
    public List<Job> createdJobs() {
        return List.copyOf(created);
    }

    private void runCluster() {
        while (running) {
            try {
                step();
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (running) {
                    System.err.println("kubernetes stand-in: " + e);
                }
            }
        }
    }

    private void step() {
        List<Job> jobs = client.batch().v1().jobs().inAnyNamespace().list().getItems();
        Set<String> alive = ConcurrentHashMap.newKeySet();
        for (Job job : jobs) {
            String key = job.getMetadata().getNamespace() + "/" + job.getMetadata().getName();
            alive.add(key);
            if (handled.add(key)) {
                created.add(job);
                start(job);
            }
        }
        // the garbage collector: a deleted Job's pod goes too (background propagation)
        for (Pod pod : client.pods().inAnyNamespace().list().getItems()) {
            String owner = pod.getMetadata().getLabels().get("dev.pulse/job");
            if (owner != null && !alive.contains(pod.getMetadata().getNamespace() + "/" + owner)) {
                client.pods()
                        .inNamespace(pod.getMetadata().getNamespace())
                        .withName(pod.getMetadata().getName())
                        .delete();
            }
        }
    }

    /** The job controller makes the pod; the kubelet runs it. */
    private void start(Job job) {
        String namespace = job.getMetadata().getNamespace();
        String podName = job.getMetadata().getName() + "-x7k2p";
        Container container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        List<String> command = container.getCommand() == null ? List.of() : container.getCommand();
        String program = command.isEmpty() ? "" : command.get(0);
        String argument = command.size() > 1 ? command.get(1) : "";
        ContainerStateBuilder state = new ContainerStateBuilder();
        String phase;
        Integer exit = null;
        String log = "";
        String missingSecret = missingSecret(namespace, container);
        if (container.getImage().contains("no-such-image")) {
            phase = "Pending";
            state.withNewWaiting()
                    .withReason("ErrImagePull")
                    .withMessage(
                            "rpc error: pull access denied for "
                                    + container.getImage()
                                    + ", repository does not exist")
                    .endWaiting();
        } else if (missingSecret != null) {
            phase = "Pending";
            state.withNewWaiting()
                    .withReason("CreateContainerConfigError")
                    .withMessage("secret \"" + missingSecret + "\" not found")
                    .endWaiting();
        } else {
            switch (program) {
                case "echo-input" ->
                        log = "warming up\n" + env(namespace, container, "PULSE_INPUT") + "\n";
                case "print" -> log = argument + "\n";
                case "fail" -> {
                    log = argument + "\n";
                    exit = 3;
                }
                case "leak" -> {
                    log = "login failed with token " + env(namespace, container, argument) + "\n";
                    exit = 1;
                }
                case "hang" -> {}
                default -> {
                    log = "stand-in kubelet: no program " + command + "\n";
                    exit = 127;
                }
            }
            if (program.equals("hang")) {
                phase = "Running";
                state.withNewRunning().withStartedAt("2026-01-01T00:00:00Z").endRunning();
            } else {
                if (exit == null) {
                    exit = 0;
                }
                phase = exit == 0 ? "Succeeded" : "Failed";
                state.withNewTerminated()
                        .withExitCode(exit)
                        .withReason(exit == 0 ? "Completed" : "Error")
                        .endTerminated();
            }
        }
        logs.put(namespace + "/" + podName, log);
        Pod pod =
                new PodBuilder()
                        .withNewMetadata()
                        .withName(podName)
                        .withNamespace(namespace)
                        .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
                        .endMetadata()
                        .withSpec(job.getSpec().getTemplate().getSpec())
                        .withNewStatus()
                        .withPhase(phase)
                        .withContainerStatuses(
                                new ContainerStatusBuilder()
                                        .withName(container.getName())
                                        .withImage(container.getImage())
                                        .withState(state.build())
                                        .build())
                        .endStatus()
                        .build();
        client.pods().inNamespace(namespace).resource(pod).create();
        if (exit != null) {
            JobStatusBuilder status = new JobStatusBuilder();
            if (exit == 0) {
                status.withSucceeded(1)
                        .withConditions(
                                new JobConditionBuilder()
                                        .withType("Complete")
                                        .withStatus("True")
                                        .build());
            } else {
                status.withFailed(1)
                        .withConditions(
                                new JobConditionBuilder()
                                        .withType("Failed")
                                        .withStatus("True")
                                        .withReason("BackoffLimitExceeded")
                                        .withMessage("Job has reached the specified backoff limit")
                                        .build());
            }
            job.setStatus(status.build());
            client.batch().v1().jobs().inNamespace(namespace).resource(job).updateStatus();
        }
    }

    /** What the kubelet would put in the container's environment variable {@code name}. */
    private String env(String namespace, Container container, String name) {
        for (EnvVar var : container.getEnv()) {
            if (!var.getName().equals(name)) {
                continue;
            }
            if (var.getValueFrom() == null) {
                return var.getValue();
            }
            var ref = var.getValueFrom().getSecretKeyRef();
            Secret secret = client.secrets().inNamespace(namespace).withName(ref.getName()).get();
            String data = secret.getData() == null ? null : secret.getData().get(ref.getKey());
            if (data != null) {
                return new String(Base64.getDecoder().decode(data), StandardCharsets.UTF_8);
            }
            return secret.getStringData().get(ref.getKey());
        }
        return "";
    }

    private String missingSecret(String namespace, Container container) {
        for (EnvVar var : container.getEnv()) {
            if (var.getValueFrom() != null && var.getValueFrom().getSecretKeyRef() != null) {
                String name = var.getValueFrom().getSecretKeyRef().getName();
                if (client.secrets().inNamespace(namespace).withName(name).get() == null) {
                    return name;
                }
            }
        }
        return null;
    }

    @Override
    public void close() {
        running = false;
        cluster.interrupt();
        try {
            cluster.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        client.close();
        server.destroy();
    }
}
