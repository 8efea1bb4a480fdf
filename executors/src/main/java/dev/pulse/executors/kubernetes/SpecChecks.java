package dev.pulse.executors.kubernetes;

import dev.pulse.executors.agents.KubernetesSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the values of {@code spec.kubernetes} must be for the API server to accept the Job: checked
 * when the agent is declared (a 422 naming the path), not when an attempt runs.
 */
final class SpecChecks {

    private static final String AT = "spec.kubernetes";

    /** An image reference: registry/name with an optional tag and/or digest, no spaces. */
    private static final Pattern IMAGE =
            Pattern.compile(
                    "[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                            + "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?");

    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile(
                    "(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern QUANTITY =
            Pattern.compile("\\d+(\\.\\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?");
    private static final Set<String> OPERATORS = Set.of("Exists", "Equal");
    private static final Set<String> EFFECTS =
            Set.of("NoSchedule", "PreferNoSchedule", "NoExecute");
    private static final Set<String> RESERVED =
            Set.of("PULSE_INPUT", "PULSE_TASK_ID", "PULSE_ATTEMPT");

    private SpecChecks() {}

    static List<String> problems(KubernetesSpec spec) {
        List<String> problems = new ArrayList<>();
        if (spec.image() == null || spec.image().isBlank()) {
            problems.add(
                    AT + ".image: is required (an image reference such as ghcr.io/acme/agent:1.2)");
        } else if (!IMAGE.matcher(spec.image()).matches()) {
            problems.add(
                    AT
                            + ".image: must be an image reference such as ghcr.io/acme/agent:1.2 (no ${env:} references, no spaces); got '"
                            + spec.image()
                            + "'");
        }
        boolean references = false;
        for (Map.Entry<String, String> e : spec.env().entrySet()) {
            String at = AT + ".env." + e.getKey();
            if (!ENV_NAME.matcher(e.getKey()).matches() || RESERVED.contains(e.getKey())) {
                problems.add(
                        at
                                + ": must be a variable name (letters, digits, '_'), not one of "
                                + RESERVED);
            }
            if (JobManifest.WHOLE_REFERENCE.matcher(e.getValue()).matches()) {
                references = true;
            } else if (e.getValue().contains("${env:")) {
                problems.add(
                        at
                                + ": a secret reference must be the whole value (${env:NAME}): it becomes a key of the Secret spec.kubernetes.secret");
            }
        }
        if (references && spec.secret() == null) {
            problems.add(
                    AT
                            + ".secret: is required when spec.kubernetes.env references ${env:NAME}: the name of the Secret holding those keys");
        }
        name(spec.secret(), AT + ".secret", DNS_SUBDOMAIN, problems);
        name(spec.namespace(), AT + ".namespace", DNS_LABEL, problems);
        KubernetesSpec.Pod pod = spec.pod();
        name(pod.serviceAccount(), AT + ".service_account", DNS_SUBDOMAIN, problems);
        for (int i = 0; i < pod.tolerations().size(); i++) {
            Map<String, String> t = pod.tolerations().get(i);
            String at = AT + ".tolerations[" + i + "]";
            if (t.containsKey("operator") && !OPERATORS.contains(t.get("operator"))) {
                problems.add(at + ".operator: must be Exists or Equal");
            }
            if (t.containsKey("effect") && !EFFECTS.contains(t.get("effect"))) {
                problems.add(
                        at + ".effect: must be one of NoSchedule, PreferNoSchedule, NoExecute");
            }
            if (t.containsKey("tolerationSeconds")
                    && !t.get("tolerationSeconds").matches("-?\\d{1,12}")) {
                problems.add(at + ".tolerationSeconds: must be an integer");
            }
        }
        quantities(pod.requests(), AT + ".resources.requests", problems);
        quantities(pod.limits(), AT + ".resources.limits", problems);
        return problems;
    }

    private static void name(String value, String at, Pattern shape, List<String> problems) {
        if (value != null && !shape.matcher(value).matches()) {
            problems.add(
                    at
                            + ": must be a Kubernetes name (lower-case letters, digits, '-'); got '"
                            + value
                            + "'");
        }
    }

    private static void quantities(Map<String, String> values, String at, List<String> problems) {
        values.forEach(
                (k, v) -> {
                    if (!QUANTITY.matcher(v).matches()) {
                        problems.add(
                                at
                                        + "."
                                        + k
                                        + ": must be a quantity such as 500m, 2, 256Mi or 1Gi");
                    }
                });
    }
}
