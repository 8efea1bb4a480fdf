package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.keys.ApiKey;

/** A tool's arguments, as the JSON object the model sent, and the key of the caller. */
record ToolCall(ObjectNode arguments, ApiKey key) {}
