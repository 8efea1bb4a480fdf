package dev.pulse.workers.json;

/** One bad field of some input (an API body, a schedule file), named as the input names it. */
public record FieldError(String field, String message) {}
