package dev.pulse.executors.local;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An agent that runs inside the Pulse JVM, discovered with {@link java.util.ServiceLoader} (list
 * implementations in {@code META-INF/services/dev.pulse.executors.local.JavaAgent}). An agent must
 * return promptly when its thread is interrupted: that is how timeouts and cancellation reach it. A
 * thrown exception fails the attempt with its message.
 */
public interface JavaAgent {

    /** The agent name tasks use; must be unique among all agents. */
    String name();

    JsonNode run(JsonNode input) throws Exception;
}
