package dev.pulse.executors.kubernetes;

import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.agents.KubernetesSpec;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Job of one attempt: one pod that is never restarted ({@code backoffLimit: 0}, {@code
 * restartPolicy: Never}: Pulse owns retries), cut off by the cluster at the attempt's timeout
 * ({@code activeDeadlineSeconds}) should this node die mid-run, labelled with the task and attempt.
 * The input arrives in {@code PULSE_INPUT}; secret references become {@code secretKeyRef}s.
 */
final class JobManifest {

    static final String TASK_LABEL = "dev.pulse/task";
    static final String ATTEMPT_LABEL = "dev.pulse/attempt";

    /** On the pod template, so the executor finds the pod without the job controller's labels. */
    static final String JOB_LABEL = "dev.pulse/job";

    static final String CONTAINER = "agent";

    /**
     * A finished Job Pulse could not delete (its node died) is removed by the cluster after this.
     */
    static final int KEEP_FINISHED_SECONDS = 3600;

    /** A value that is exactly one reference: the only form that maps to a Secret key. */
    static final Pattern WHOLE_REFERENCE = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");

    private JobManifest() {}

    /** The Job's name: unique per attempt, at most 63 characters (a label value). */
    static String name(ExecutionRequest request) {
        return "pulse-" + request.taskId() + "-" + request.attempt();
    }

    /**
     * @param reportTo where the agent reports its result ({@code spec.kubernetes.report}), else
     *     null
     */
    static Job of(ExecutionRequest request, String input, URI reportTo) {
        KubernetesSpec spec = request.agent().kubernetes();
        String name = name(request);
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("app.kubernetes.io/managed-by", "pulse");
        labels.put("app.kubernetes.io/name", label(request.agent().name()));
        labels.put(TASK_LABEL, request.taskId().toString());
        labels.put(ATTEMPT_LABEL, Integer.toString(request.attempt()));
        Map<String, String> podLabels = new LinkedHashMap<>(labels);
        podLabels.put(JOB_LABEL, name);
        KubernetesSpec.Pod pod = spec.pod();
        return new JobBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(labels)
                .endMetadata()
                .withNewSpec()
                .withBackoffLimit(0)
                .withActiveDeadlineSeconds(Math.max(1, (request.timeout().toMillis() + 999) / 1000))
                .withTtlSecondsAfterFinished(KEEP_FINISHED_SECONDS)
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(podLabels)
                .endMetadata()
                .withNewSpec()
                .withRestartPolicy("Never")
                .withServiceAccountName(pod.serviceAccount())
                .withNodeSelector(pod.nodeSelector().isEmpty() ? null : pod.nodeSelector())
                .withTolerations(tolerations(pod.tolerations()))
                .addNewContainer()
                .withName(CONTAINER)
                .withImage(spec.image())
                .withCommand(spec.command().isEmpty() ? null : spec.command())
                .withEnv(env(request, spec, input, reportTo))
                .withResources(
                        new ResourceRequirementsBuilder()
                                .withRequests(quantities(pod.requests()))
                                .withLimits(quantities(pod.limits()))
                                .build())
                .endContainer()
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    private static List<EnvVar> env(
            ExecutionRequest request, KubernetesSpec spec, String input, URI reportTo) {
        List<EnvVar> env = new ArrayList<>();
        spec.env()
                .forEach(
                        (key, value) -> {
                            Matcher ref = WHOLE_REFERENCE.matcher(value);
                            if (ref.matches()) {
                                env.add(
                                        new EnvVarBuilder()
                                                .withName(key)
                                                .withNewValueFrom()
                                                .withNewSecretKeyRef()
                                                .withName(spec.secret())
                                                .withKey(ref.group(1))
                                                .endSecretKeyRef()
                                                .endValueFrom()
                                                .build());
                            } else {
                                env.add(new EnvVar(key, value, null));
                            }
                        });
        env.add(new EnvVar("PULSE_INPUT", input, null));
        env.add(new EnvVar("PULSE_TASK_ID", request.taskId().toString(), null));
        env.add(new EnvVar("PULSE_ATTEMPT", Integer.toString(request.attempt()), null));
        request.trace()
                .asEnvironment()
                .forEach((name, value) -> env.add(new EnvVar(name, value, null)));
        if (reportTo != null) {
            // the lease token fences this attempt only: a report with it after the attempt ended
            // is refused, so it is no standing credential (the agent's API key is, and comes
            // from a Secret)
            env.add(new EnvVar("PULSE_COMPLETE_URL", reportTo.toString(), null));
            env.add(new EnvVar("PULSE_LEASE_TOKEN", request.leaseToken().toString(), null));
        }
        return env;
    }

    private static List<Toleration> tolerations(List<Map<String, String>> specs) {
        List<Toleration> tolerations = new ArrayList<>();
        for (Map<String, String> t : specs) {
            String seconds = t.get("tolerationSeconds");
            tolerations.add(
                    new TolerationBuilder()
                            .withKey(t.get("key"))
                            .withOperator(t.get("operator"))
                            .withValue(t.get("value"))
                            .withEffect(t.get("effect"))
                            .withTolerationSeconds(seconds == null ? null : Long.valueOf(seconds))
                            .build());
        }
        return tolerations.isEmpty() ? null : tolerations;
    }

    private static Map<String, Quantity> quantities(Map<String, String> values) {
        if (values.isEmpty()) {
            return null;
        }
        Map<String, Quantity> quantities = new LinkedHashMap<>();
        values.forEach((k, v) -> quantities.put(k, new Quantity(v)));
        return quantities;
    }

    /** An agent name as a label value (agent names are already nearly label-safe). */
    private static String label(String value) {
        String cleaned = value.replaceAll("[^A-Za-z0-9._-]", "-");
        cleaned = cleaned.length() > 63 ? cleaned.substring(0, 63) : cleaned;
        return cleaned.replaceAll("^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "");
    }
}
