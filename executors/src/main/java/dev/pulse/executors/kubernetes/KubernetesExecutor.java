package dev.pulse.executors.kubernetes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.Availability;
import dev.pulse.executors.CompletionReports;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.LastJsonLine;
import dev.pulse.executors.Redactor;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.KubernetesSpec;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;

/**
 * The {@code kubernetes} executor: runs each attempt as a Kubernetes Job (see {@link JobManifest})
 * and waits for it by polling its status. The result is the last line of the pod's log that is
 * JSON, or what the agent reported to the complete URL ({@code spec.kubernetes.report}). The
 * executor's own timeout, an interrupt (cancellation, the node shutting down) and every ending
 * delete the Job with background propagation, which takes its pod with it.
 */
public final class KubernetesExecutor implements Executor, AutoCloseable {

    public static final String KIND = "kubernetes";
    private static final int MAX_LOG_CHARS = 64 << 10;
    private static final int LOG_LINES = 5_000;
    private static final long FIRST_POLL_MILLIS = 100;
    private static final long LAST_POLL_MILLIS = 2_000;
    private static final Duration REPORT_GRACE = Duration.ofSeconds(3);

    /** Container states in which the pod will never start by itself: the agent can't run here. */
    private static final Set<String> CANNOT_START =
            Set.of(
                    "ErrImagePull",
                    "ImagePullBackOff",
                    "InvalidImageName",
                    "ErrImageNeverPull",
                    "CreateContainerConfigError",
                    "CreateContainerError");

    /** How an executor reaches a cluster: a client per kubeconfig context. */
    public interface Clients extends AutoCloseable {
        /**
         * @throws IllegalStateException saying what configuration is missing
         */
        KubernetesClient forContext(String context);

        /** Where the configuration comes from, for messages. */
        String source();

        @Override
        void close();
    }

    private final ObjectMapper json;
    private final Function<String, String> environment;
    private final Clients clients;
    private final CompletionReports reports;

    /**
     * An executor configured from the node's environment (KUBECONFIG, in-cluster, ~/.kube), whose
     * agents can't report to the node.
     */
    public KubernetesExecutor(ObjectMapper json, Function<String, String> environment) {
        this(json, environment, CompletionReports.NONE);
    }

    /**
     * @param reports where agents with {@code spec.kubernetes.report} report, and how to wait
     */
    public KubernetesExecutor(
            ObjectMapper json, Function<String, String> environment, CompletionReports reports) {
        this(json, environment, fromEnvironment(new KubernetesClients(environment)), reports);
    }

    public KubernetesExecutor(
            ObjectMapper json,
            Function<String, String> environment,
            Clients clients,
            CompletionReports reports) {
        this.json = json;
        this.environment = environment;
        this.clients = clients;
        this.reports = reports;
    }

    private static Clients fromEnvironment(KubernetesClients clients) {
        return new Clients() {
            @Override
            public KubernetesClient forContext(String context) {
                return clients.forContext(context);
            }

            @Override
            public String source() {
                return clients.source();
            }

            @Override
            public void close() {
                clients.close();
            }
        };
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public Availability availability() {
        KubernetesClient client;
        try {
            client = clients.forContext(null);
        } catch (RuntimeException e) {
            return Availability.unavailable(e.getMessage());
        }
        try {
            client.getKubernetesVersion();
            return Availability.AVAILABLE;
        } catch (RuntimeException e) {
            return Availability.unavailable(
                    "no Kubernetes API server answers at "
                            + client.getMasterUrl()
                            + " (configured from "
                            + clients.source()
                            + "; set KUBECONFIG, or run Pulse in the cluster): "
                            + e.getMessage());
        }
    }

    @Override
    public List<String> validate(AgentDefinition agent) {
        return agent.kubernetes() == null
                ? List.of("spec.kubernetes: is required for executor kubernetes")
                : SpecChecks.problems(agent.kubernetes());
    }

    @Override
    public ExecutionResult execute(ExecutionRequest request) throws InterruptedException {
        KubernetesSpec spec = request.agent().kubernetes();
        if (spec == null) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "agent '" + request.agent().name() + "' has no spec.kubernetes settings");
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("stopped before its Job was created");
        }
        URI reportTo = null;
        if (spec.report()) {
            reportTo = reports.url(request.taskId()).orElse(null);
            if (reportTo == null) {
                return ExecutionResult.failure(
                        ExecutionError.EXECUTOR_UNAVAILABLE,
                        "spec.kubernetes.report needs the address where the agent reports its"
                                + " result: set PULSE_PUBLIC_URL to this Pulse's API URL");
            }
        }
        KubernetesClient client;
        try {
            client = clients.forContext(spec.context());
        } catch (RuntimeException e) {
            return ExecutionResult.failure(ExecutionError.EXECUTOR_UNAVAILABLE, e.getMessage());
        }
        String namespace =
                spec.namespace() != null
                        ? spec.namespace()
                        : Optional.ofNullable(client.getNamespace()).orElse("default");
        Job job = JobManifest.of(request, write(request.input()), reportTo);
        String name = job.getMetadata().getName();
        try {
            client.batch().v1().jobs().inNamespace(namespace).resource(job).create();
        } catch (KubernetesClientException e) {
            if (cutShortByInterrupt(e)) {
                // the API server may have made the Job before the call was cut short
                delete(client, namespace, name);
                throw new InterruptedException("stopped while creating its Job: " + e.getMessage());
            }
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "cannot create the Job "
                            + name
                            + " in namespace "
                            + namespace
                            + " at "
                            + client.getMasterUrl()
                            + ": "
                            + e.getMessage());
        }
        try {
            return new Attempt(client, namespace, name, request, redactor(spec)).await();
        } catch (KubernetesClientException e) {
            if (cutShortByInterrupt(e)) {
                throw new InterruptedException("stopped while " + e.getMessage());
            }
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "the Kubernetes API server failed while watching the Job "
                            + name
                            + ": "
                            + e.getMessage());
        } finally {
            Thread.interrupted(); // an interrupt is thrown on already; the delete must not be cut
            // short
            delete(client, namespace, name);
        }
    }

    /**
     * The secret values are never in the Job, but the node may hold the same variables: redact
     * those from what the agent printed.
     */
    private Redactor redactor(KubernetesSpec spec) {
        List<String> values = new ArrayList<>();
        spec.env()
                .values()
                .forEach(
                        v -> {
                            Matcher ref = JobManifest.WHOLE_REFERENCE.matcher(v);
                            if (ref.matches()) {
                                String value = environment.apply(ref.group(1));
                                if (value != null && !value.isEmpty()) {
                                    values.add(value);
                                }
                            }
                        });
        return Redactor.of(values);
    }

    /** One Job being waited for. */
    private final class Attempt {
        private final KubernetesClient client;
        private final String namespace;
        private final String name;
        private final ExecutionRequest request;
        private final Redactor redactor;
        private final boolean report;

        Attempt(
                KubernetesClient client,
                String namespace,
                String name,
                ExecutionRequest request,
                Redactor redactor) {
            this.client = client;
            this.namespace = namespace;
            this.name = name;
            this.request = request;
            this.redactor = redactor;
            this.report = request.agent().kubernetes().report();
        }

        ExecutionResult await() throws InterruptedException {
            long deadline = System.nanoTime() + request.timeout().toNanos();
            long pause = FIRST_POLL_MILLIS;
            while (true) {
                Job job = client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
                if (job == null) {
                    return ExecutionResult.failure(
                            ExecutionError.EXECUTOR_UNAVAILABLE,
                            "the Job "
                                    + name
                                    + " in namespace "
                                    + namespace
                                    + " was deleted by someone else");
                }
                JobStatus status = job.getStatus();
                Optional<Pod> pod = pod();
                boolean succeeded = status != null && count(status.getSucceeded()) > 0;
                boolean failed =
                        status != null && (count(status.getFailed()) > 0 || failed(status) != null);
                if ((succeeded || failed) && report) {
                    // the agent reports before it exits; the report reaches this node within a
                    // pass of AgentReports
                    Optional<ExecutionResult> reported = reported(REPORT_GRACE);
                    if (reported.isPresent()) {
                        return reported.get();
                    }
                }
                if (succeeded) {
                    return result(logs(pod));
                }
                if (failed) {
                    return failure(status, pod);
                }
                Optional<ContainerStateWaiting> stuck = pod.flatMap(Attempt::cannotStart);
                if (stuck.isPresent()) {
                    return ExecutionResult.failure(
                            ExecutionError.EXECUTOR_UNAVAILABLE,
                            "the pod of Job "
                                    + name
                                    + " cannot start its image "
                                    + request.agent().kubernetes().image()
                                    + ": "
                                    + stuck.get().getReason()
                                    + (stuck.get().getMessage() == null
                                            ? ""
                                            : " (" + stuck.get().getMessage() + ")"));
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return ExecutionResult.failure(
                            new ExecutionError(
                                    ExecutionError.TIMEOUT,
                                    "the Job "
                                            + name
                                            + " did not finish within "
                                            + request.timeout().toMillis()
                                            + " ms and was deleted"),
                            logs(pod));
                }
                long wait = Math.min(pause, Math.max(1, left / 1_000_000));
                if (report) {
                    Optional<ExecutionResult> reported = reported(Duration.ofMillis(wait));
                    if (reported.isPresent()) {
                        return reported.get();
                    }
                } else {
                    Thread.sleep(wait);
                }
                pause = Math.min(LAST_POLL_MILLIS, pause * 2);
            }
        }

        /** The attempt's outcome if its agent reported it within {@code limit}. */
        private Optional<ExecutionResult> reported(Duration limit) throws InterruptedException {
            return reports.await(request.taskId(), request.leaseToken(), limit)
                    .map(state -> ExecutionResult.reportedByAgent("succeeded".equals(state)));
        }

        private Optional<Pod> pod() {
            return client
                    .pods()
                    .inNamespace(namespace)
                    .withLabel(JobManifest.JOB_LABEL, name)
                    .list()
                    .getItems()
                    .stream()
                    .findFirst();
        }

        private ExecutionResult failure(JobStatus status, Optional<Pod> pod) {
            JobCondition failed = failed(status);
            String logs = logs(pod);
            if (failed != null && "DeadlineExceeded".equals(failed.getReason())) {
                return ExecutionResult.failure(
                        new ExecutionError(
                                ExecutionError.TIMEOUT,
                                "the Job "
                                        + name
                                        + " did not finish within "
                                        + request.timeout().toMillis()
                                        + " ms (activeDeadlineSeconds) and was deleted"),
                        logs);
            }
            ContainerStateTerminated ended = pod.flatMap(Attempt::terminated).orElse(null);
            StringBuilder why = new StringBuilder("the Job ").append(name).append(" failed");
            if (ended != null) {
                why.append(": its container exited with code ").append(ended.getExitCode());
                if (ended.getReason() != null) {
                    why.append(" (").append(ended.getReason()).append(')');
                }
            } else if (failed != null && failed.getMessage() != null) {
                why.append(": ").append(failed.getMessage());
            }
            return ExecutionResult.failure(
                    new ExecutionError(ExecutionError.AGENT_ERROR, redactor.scrub(why.toString())),
                    logs);
        }

        /** The pod's log (its last lines), secrets redacted; empty if there is no pod or log. */
        private String logs(Optional<Pod> pod) {
            if (pod.isEmpty()) {
                return "";
            }
            try {
                String log =
                        client.pods()
                                .inNamespace(namespace)
                                .withName(pod.get().getMetadata().getName())
                                .inContainer(JobManifest.CONTAINER)
                                .tailingLines(LOG_LINES)
                                .getLog();
                return redactor.scrub(log == null ? "" : log);
            } catch (KubernetesClientException e) {
                if (cutShortByInterrupt(e)) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                return "(the pod's log could not be read: " + e.getMessage() + ")";
            }
        }

        /** The last line of the log that parses as JSON is the result. */
        private ExecutionResult result(String log) {
            String kept =
                    log.length() > MAX_LOG_CHARS
                            ? log.substring(log.length() - MAX_LOG_CHARS)
                            : log;
            return LastJsonLine.result(
                    json,
                    log,
                    kept,
                    "the pod's log has no JSON line; its last JSON line is its result");
        }

        private static Optional<ContainerStatus> container(Pod pod) {
            if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
                return Optional.empty();
            }
            return pod.getStatus().getContainerStatuses().stream()
                    .filter(c -> JobManifest.CONTAINER.equals(c.getName()))
                    .findFirst();
        }

        private static Optional<ContainerStateWaiting> cannotStart(Pod pod) {
            return container(pod)
                    .map(c -> c.getState() == null ? null : c.getState().getWaiting())
                    .filter(w -> CANNOT_START.contains(w.getReason()));
        }

        private static Optional<ContainerStateTerminated> terminated(Pod pod) {
            return container(pod)
                    .map(c -> c.getState() == null ? null : c.getState().getTerminated());
        }
    }

    private static JobCondition failed(JobStatus status) {
        if (status.getConditions() == null) {
            return null;
        }
        return status.getConditions().stream()
                .filter(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()))
                .findFirst()
                .orElse(null);
    }

    private static int count(Integer n) {
        return n == null ? 0 : n;
    }

    private static void delete(KubernetesClient client, String namespace, String name) {
        try {
            client.batch()
                    .v1()
                    .jobs()
                    .inNamespace(namespace)
                    .withName(name)
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND)
                    .delete();
        } catch (KubernetesClientException ignored) {
            // already gone, or the API server is; the cluster removes it after its TTL
        }
    }

    /**
     * Whether an API call failed because the calling thread was interrupted (the attempt is being
     * cancelled or handed back). Clears the interrupt so the clean-up that follows isn't cut short.
     */
    private static boolean cutShortByInterrupt(RuntimeException e) {
        boolean interrupted = Thread.interrupted();
        for (Throwable t = e;
                t != null && !interrupted;
                t = t.getCause() == t ? null : t.getCause()) {
            interrupted =
                    t instanceof InterruptedException
                            || (t instanceof InterruptedIOException
                                    && !(t instanceof SocketTimeoutException));
        }
        return interrupted;
    }

    private String write(JsonNode node) {
        try {
            return json.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    @Override
    public void close() {
        clients.close();
    }
}
