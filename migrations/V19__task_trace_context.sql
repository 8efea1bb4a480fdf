-- The W3C trace context a task was queued in (docs/deployment.md, "Tracing"): the enqueue span's
-- traceparent and tracestate, the parent of the task's claim, execution and callback spans on
-- whichever node they happen, and what its agent receives. A delivery carries its task's, so a
-- claimed delivery needs no look-up of the task. Nullable and without defaults: adding them
-- rewrites nothing, and a task queued without tracing stores nothing.
ALTER TABLE tasks
    ADD COLUMN trace_parent text,
    ADD COLUMN trace_state  text;

ALTER TABLE callback_deliveries
    ADD COLUMN trace_parent text,
    ADD COLUMN trace_state  text;
