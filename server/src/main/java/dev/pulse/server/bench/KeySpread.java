package dev.pulse.server.bench;

/**
 * How a burn-down spreads its tasks over concurrency keys ({@code --keys}): round-robin over {@code
 * keys} keys (0: none), on an agent with {@code per_key_concurrency} (0: {@code echo}, no limit).
 */
public record KeySpread(int keys, int perKeyConcurrency) {

    public static final KeySpread NONE = new KeySpread(0, 0);

    /**
     * The agent {@code --per-key-concurrency} stores: the in-JVM echo under a name of its own, with
     * the limit.
     */
    static final String KEYED_AGENT = "bench-keyed";

    String agent() {
        return perKeyConcurrency > 0 ? KEYED_AGENT : "echo";
    }

    /** The batch item of the {@code i}th task. */
    String item(int i, String callbackUrl) {
        StringBuilder item = new StringBuilder("{\"agent\": \"").append(agent()).append('"');
        if (keys > 0) {
            item.append(", \"concurrency_key\": \"key-").append(i % keys).append('"');
        }
        if (callbackUrl != null) {
            item.append(", \"callback_url\": \"").append(callbackUrl).append('"');
        }
        return item.append('}').toString();
    }

    /** Its agent's document, when it needs one of its own. */
    String keyedAgentDocument() {
        return """
                {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "%s"},
                 "spec": {"executor": "local", "per_key_concurrency": %d, "local": {"java_agent": "echo"}}}
                """
                .formatted(KEYED_AGENT, perKeyConcurrency);
    }
}
