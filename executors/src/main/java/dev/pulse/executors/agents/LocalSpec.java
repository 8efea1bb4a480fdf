package dev.pulse.executors.agents;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Settings of the {@code local} executor: either a command that speaks JSON on stdin/stdout, or the
 * name of an in-JVM {@link dev.pulse.executors.local.JavaAgent}. Values in {@code env} may
 * reference secrets as {@code ${env:NAME}}; they are resolved only when the process starts.
 */
public record LocalSpec(
        List<String> command, Path workdir, Map<String, String> env, String javaAgent) {

    public static LocalSpec process(List<String> command, Path workdir, Map<String, String> env) {
        return new LocalSpec(List.copyOf(command), workdir, Map.copyOf(env), null);
    }

    public static LocalSpec inJvm(String javaAgent) {
        return new LocalSpec(List.of(), null, Map.of(), javaAgent);
    }

    public boolean isProcess() {
        return !command.isEmpty();
    }
}
