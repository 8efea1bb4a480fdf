package dev.pulse.executors.agents;

import java.util.List;
import java.util.Map;

/**
 * Settings of the {@code container} executor: the image to run, its command, environment (values
 * may be {@code ${env:NAME}} references), and limits. The network is off unless asked for.
 */
public record ContainerSpec(
        String image,
        List<String> command,
        Map<String, String> env,
        long memoryBytes,
        double cpus,
        long pids,
        boolean network) {

    public static final long DEFAULT_MEMORY = 256L << 20;
    public static final double DEFAULT_CPUS = 1.0;
    public static final long DEFAULT_PIDS = 256;

    @Override
    public String toString() {
        return "ContainerSpec[image="
                + image
                + ", command="
                + command
                + ", env="
                + env.keySet()
                + ", memory="
                + memoryBytes
                + ", cpus="
                + cpus
                + ", pids="
                + pids
                + ", network="
                + network
                + "]";
    }
}
