package dev.pulse.executors.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.pulse.executors.local.JavaAgent;

/**
 * Sleeps {@code input.ms} milliseconds, then returns {@code {"slept_ms": ms}}; for tests and demos.
 */
public final class SleepAgent implements JavaAgent {

    @Override
    public String name() {
        return "sleep";
    }

    @Override
    public JsonNode run(JsonNode input) throws InterruptedException {
        JsonNode ms = input.path("ms");
        if (!ms.canConvertToLong() || !ms.isIntegralNumber() || ms.asLong() < 0) {
            throw new IllegalArgumentException(
                    "input.ms must be a non-negative integer number of milliseconds");
        }
        Thread.sleep(ms.asLong());
        return JsonNodeFactory.instance.objectNode().put("slept_ms", ms.asLong());
    }
}
