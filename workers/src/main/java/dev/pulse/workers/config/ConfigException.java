package dev.pulse.workers.config;

import java.util.List;

/**
 * A configuration that can't be used (pulse.yaml, agent or schedule files); the message lists every
 * problem with its key or file.
 */
public final class ConfigException extends RuntimeException {

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super("invalid configuration:\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
