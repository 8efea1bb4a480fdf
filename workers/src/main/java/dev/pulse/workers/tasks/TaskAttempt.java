package dev.pulse.workers.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/** One attempt at a task: which node ran it, when, how it ended, and the tail of its logs. */
public record TaskAttempt(
        int attempt,
        String node,
        Instant startedAt,
        Instant finishedAt,
        String outcome,
        JsonNode error,
        String logs) {}
