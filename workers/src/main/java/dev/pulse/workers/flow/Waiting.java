package dev.pulse.workers.flow;

import java.time.Instant;

/** Why a queued task is held back, and until when if that is known (else null). */
public record Waiting(WaitingReason reason, Instant until) {}
