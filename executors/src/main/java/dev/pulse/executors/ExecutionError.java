package dev.pulse.executors;

/**
 * Why an attempt failed. Codes are stable and documented: {@code agent_error} (the agent reported a
 * failure or exited non-zero), {@code timeout}, {@code invalid_output}, {@code
 * executor_unavailable}, {@code cancelled}, {@code throttled} (the provider asked to be left alone
 * for a while; the attempt is not counted), {@code budget_exceeded} (the run went over its task's
 * budget).
 */
public record ExecutionError(String code, String message) {

    public static final String AGENT_ERROR = "agent_error";
    public static final String TIMEOUT = "timeout";
    public static final String INVALID_OUTPUT = "invalid_output";
    public static final String EXECUTOR_UNAVAILABLE = "executor_unavailable";
    public static final String CANCELLED = "cancelled";
    public static final String THROTTLED = "throttled";
    public static final String BUDGET_EXCEEDED = "budget_exceeded";
}
