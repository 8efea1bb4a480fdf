package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.TraceContext;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LlmSpec;
import dev.pulse.workers.tracing.TaskTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.util.Optional;

/**
 * The execution span of each attempt, in its task's trace. An LLM agent's span also carries the
 * GenAI semantic conventions' attributes: the provider, the model asked for and the one that
 * answered, and the token usage the executor put in the result.
 */
final class AttemptSpans {

    private final TaskTracing tracing;

    AttemptSpans(TaskTracing tracing) {
        this.tracing = tracing;
    }

    /** An attempt's span, begun; tracing off, none, and the agent gets the stored context. */
    Execution start(ClaimedTask claimed, Optional<AgentDefinition> agent) {
        TraceContext stored = claimed.task().trace();
        if (!tracing.on()) {
            return new Execution(null, stored, null);
        }
        LlmSpec llm = agent.map(AgentDefinition::llm).orElse(null);
        var builder =
                tracing.span(TaskTracing.EXECUTE, SpanKind.CONSUMER, stored)
                        .setAttribute("pulse.task.id", claimed.id().toString())
                        .setAttribute("pulse.agent", claimed.task().agent())
                        .setAttribute("pulse.attempt", claimed.attempt())
                        .setAttribute("pulse.node", claimed.node());
        agent.ifPresent(a -> builder.setAttribute("pulse.executor", a.executor()));
        if (llm != null) {
            builder.setAttribute("gen_ai.operation.name", "chat")
                    .setAttribute("gen_ai.system", llm.provider())
                    .setAttribute("gen_ai.provider.name", llm.provider())
                    .setAttribute("gen_ai.request.model", llm.model());
            if (llm.temperature() != null) {
                builder.setAttribute("gen_ai.request.temperature", llm.temperature());
            }
            if (llm.maxTokens() != null) {
                builder.setAttribute("gen_ai.request.max_tokens", llm.maxTokens());
            }
        }
        Span span = builder.startSpan();
        return new Execution(span, tracing.contextOf(span), llm);
    }

    /**
     * An attempt's span: {@code context} is what its agent receives (the span's own, or the stored
     * one when there is no span).
     */
    record Execution(Span span, TraceContext context, LlmSpec llm) {

        void end(ExecutionResult result, String outcome) {
            if (span == null) {
                return;
            }
            span.setAttribute("pulse.outcome", outcome);
            if (result != null && !result.succeeded() && result.error() != null) {
                span.setAttribute("error.type", result.error().code());
                span.setStatus(StatusCode.ERROR, result.error().code());
            }
            if (llm != null && result != null && result.output() != null) {
                usage(result.output());
            }
            span.end();
        }

        private void usage(JsonNode output) {
            JsonNode usage = output.path("usage");
            if (usage.path("input_tokens").canConvertToLong()) {
                span.setAttribute("gen_ai.usage.input_tokens", usage.path("input_tokens").asLong());
            }
            if (usage.path("output_tokens").canConvertToLong()) {
                span.setAttribute(
                        "gen_ai.usage.output_tokens", usage.path("output_tokens").asLong());
            }
            if (output.path("model").isTextual()) {
                span.setAttribute("gen_ai.response.model", output.path("model").asText());
            }
        }
    }
}
