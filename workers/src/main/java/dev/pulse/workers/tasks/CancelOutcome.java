package dev.pulse.workers.tasks;

/** What happened to a cancel request. */
public sealed interface CancelOutcome {

    /** It had not started and is now cancelled. */
    record Cancelled(Task task) implements CancelOutcome {}

    /** It is running: its worker is asked to stop it and will record it cancelled. */
    record Requested(Task task) implements CancelOutcome {}

    record NotFound() implements CancelOutcome {}

    /** It had already finished. */
    record AlreadyFinished(Task task) implements CancelOutcome {}
}
