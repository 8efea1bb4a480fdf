package dev.pulse.executors.kubernetes;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The node's Kubernetes clients, one per kubeconfig context an agent names, made on first use. The
 * configuration comes from, in order: the kubeconfig file {@code KUBECONFIG} names (its first
 * file), the pod's service account when Pulse runs in a cluster ({@code KUBERNETES_SERVICE_HOST}
 * set), or {@code ~/.kube/config}. Clients run on the JDK's HTTP client.
 */
public final class KubernetesClients implements AutoCloseable {

    /** Connecting to an API server that isn't there fails this fast. */
    private static final int CONNECT_MILLIS = 3_000;

    private final Function<String, String> environment;
    private final Map<String, KubernetesClient> byContext = new ConcurrentHashMap<>();

    public KubernetesClients(Function<String, String> environment) {
        this.environment = environment;
    }

    /**
     * The client of {@code context} (null: the kubeconfig's current context, or in-cluster).
     *
     * @throws IllegalStateException saying what configuration is missing or unreadable
     */
    public KubernetesClient forContext(String context) {
        return byContext.computeIfAbsent(
                context == null ? "" : context,
                c ->
                        new KubernetesClientBuilder()
                                .withConfig(config(c.isEmpty() ? null : c))
                                .build());
    }

    /** Where the configuration comes from, for messages. */
    public String source() {
        String kubeconfig = environment.apply("KUBECONFIG");
        if (kubeconfig != null && !kubeconfig.isBlank()) {
            return "KUBECONFIG=" + kubeconfig;
        }
        if (environment.apply("KUBERNETES_SERVICE_HOST") != null) {
            return "the pod's service account (in-cluster)";
        }
        return homeConfig().map(Path::toString).orElse("no configuration");
    }

    private Config config(String context) {
        Config config;
        String kubeconfig = environment.apply("KUBECONFIG");
        if (kubeconfig != null && !kubeconfig.isBlank()) {
            config = fromFile(Path.of(kubeconfig.split(File.pathSeparator)[0]), context, true);
        } else if (environment.apply("KUBERNETES_SERVICE_HOST") != null && context == null) {
            config = Config.autoConfigure(null);
        } else {
            config =
                    homeConfig()
                            .map(p -> fromFile(p, context, false))
                            .orElseThrow(
                                    () ->
                                            new IllegalStateException(
                                                    "no Kubernetes configuration on this node: set KUBECONFIG to a kubeconfig file,"
                                                            + " or run Pulse in a cluster with a service account"));
        }
        config.setConnectionTimeout(CONNECT_MILLIS);
        return config;
    }

    private static Config fromFile(Path file, String context, boolean named) {
        try {
            return Config.fromKubeconfig(context, Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot read the kubeconfig "
                            + file
                            + (named ? " (KUBECONFIG)" : "")
                            + ": "
                            + e.getMessage());
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "the kubeconfig "
                            + file
                            + (named ? " (KUBECONFIG)" : "")
                            + " is not usable"
                            + (context == null ? "" : " with context " + context)
                            + ": "
                            + e.getMessage());
        }
    }

    private Optional<Path> homeConfig() {
        String home = environment.apply("HOME");
        if (home == null) {
            return Optional.empty();
        }
        Path file = Path.of(home, ".kube", "config");
        return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
    }

    @Override
    public void close() {
        byContext.values().forEach(KubernetesClient::close);
        byContext.clear();
    }
}
