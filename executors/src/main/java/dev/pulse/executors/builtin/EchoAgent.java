package dev.pulse.executors.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.local.JavaAgent;

/** Returns its input unchanged: the smallest agent there is, for smoke tests and benchmarks. */
public final class EchoAgent implements JavaAgent {

    @Override
    public String name() {
        return "echo";
    }

    @Override
    public JsonNode run(JsonNode input) {
        return input;
    }
}
