package dev.pulse.executors.agents;

import java.util.List;
import java.util.Map;

/**
 * Settings of the {@code kubernetes} executor: each attempt runs as a Kubernetes Job of {@code
 * image} in {@code namespace} (null: the namespace of the client's configuration). {@code env}
 * values are literals or a whole {@code ${env:NAME}} reference, which becomes a {@code
 * secretKeyRef} to key {@code NAME} of the Secret named {@code secret}: the value itself is never
 * written into the Job. {@code context} picks a context of the node's kubeconfig (null: its current
 * one). With {@code report} the agent posts its result to the complete URL ({@code
 * PULSE_COMPLETE_URL}, with {@code PULSE_LEASE_TOKEN}) instead of printing it; a Job that ends
 * without reporting falls back to its log.
 */
public record KubernetesSpec(
        String image,
        List<String> command,
        Map<String, String> env,
        String secret,
        String namespace,
        String context,
        Pod pod,
        boolean report) {

    /**
     * Where and how the pod runs: its service account, node selector, tolerations (each a mapping
     * of key, operator, value, effect, tolerationSeconds) and resource requests and limits
     * (Kubernetes quantities such as {@code 500m} or {@code 256Mi}).
     */
    public record Pod(
            String serviceAccount,
            Map<String, String> nodeSelector,
            List<Map<String, String>> tolerations,
            Map<String, String> requests,
            Map<String, String> limits) {

        public static final Pod DEFAULT = new Pod(null, Map.of(), List.of(), Map.of(), Map.of());
    }

    /** A spec with only an image and a command, everything else by default. */
    public static KubernetesSpec of(String image, List<String> command) {
        return new KubernetesSpec(image, command, Map.of(), null, null, null, Pod.DEFAULT, false);
    }

    @Override
    public String toString() {
        return "KubernetesSpec[image="
                + image
                + ", command="
                + command
                + ", env="
                + env.keySet()
                + ", secret="
                + secret
                + ", namespace="
                + namespace
                + ", context="
                + context
                + ", pod="
                + pod
                + ", report="
                + report
                + "]";
    }
}
