package dev.pulse.server.api.docs;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The response check fails what it must: without this, a check that passes everything would look
 * the same.
 */
class OpenApiResponseCheckTest {

    private static final OpenApiResponseCheck CHECK =
            new OpenApiResponseCheck(ApiDocsRoutes.document());
    private static final String SCHEDULE =
            """
            {"name": "nightly", "cron": "30 2 * * *", "quartz_cron": null, "timezone": "Europe/Berlin",
             "dst": {"gap": "run_after", "repeat": "first"},
             "agent": "echo", "enabled": true, "input": {}, "metadata": {}, "callback_url": null,
             "every": null, "state": "active", "start_at": null, "until": null, "times": null,
             "next_fire_time": "%s", "created_at": "2026-12-07T03:00:00Z", "updated_at": "2026-12-07T03:00:00Z",
             "next_fire_times": ["%s"], "recent_fires": []}
            """;

    @Test
    void aFireTimeWithoutSecondsIsNotAnRfc3339Timestamp() {
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/schedules/nightly",
                                200,
                                "application/json",
                                SCHEDULE.formatted(
                                        "2026-12-08T02:30:00+01:00", "2026-12-08T02:30:00+01:00")))
                .isEmpty();
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/schedules/nightly",
                                200,
                                "application/json",
                                SCHEDULE.formatted(
                                        "2026-12-08T02:30+01:00", "2026-12-08T02:30:00+01:00")))
                .hasValueSatisfying(
                        m ->
                                assertThat(m)
                                        .contains(
                                                "GET /v1/schedules/{name} 200", "next_fire_time"));
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/schedules/nightly",
                                200,
                                "application/json",
                                SCHEDULE.formatted(
                                        "2026-12-08T02:30:00+01:00", "2026-12-08T02:30+01:00")))
                .hasValueSatisfying(m -> assertThat(m).contains("next_fire_times"));
    }

    @Test
    void undocumentedStatusesMediaTypesAndShapesAreMismatches() {
        String problem =
                "{\"type\": \"/problems/not-found\", \"title\": \"Not found\", \"status\": 404, \"detail\": \"x\"}";
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/tasks/0190c7e2-6d7a-7000-8000-000000000000",
                                404,
                                "application/problem+json",
                                problem))
                .isEmpty();
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/tasks/0190c7e2-6d7a-7000-8000-000000000000",
                                418,
                                "application/problem+json",
                                problem))
                .hasValueSatisfying(m -> assertThat(m).contains("418", "GET /v1/tasks/{id}"));
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/tasks/0190c7e2-6d7a-7000-8000-000000000000",
                                404,
                                "text/plain",
                                "gone"))
                .hasValueSatisfying(
                        m -> assertThat(m).contains("text/plain", "application/problem+json"));
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/tasks",
                                200,
                                "application/json",
                                "{\"items\": [{\"id\": \"not-a-uuid\"}]}"))
                .as("a task without its required fields, with a bad id")
                .isPresent();
        assertThat(CHECK.mismatch("DELETE", "/v1/schedules/nightly", 204, null, "")).isEmpty();
        assertThat(CHECK.mismatch("DELETE", "/v1/schedules/nightly", 204, "application/json", "{}"))
                .isPresent();
    }

    @Test
    void aLiteralPathWinsOverATemplateAndUndocumentedRoutesAreNotJudged() {
        assertThat(
                        CHECK.mismatch(
                                "POST",
                                "/v1/tasks/batch",
                                200,
                                "application/json",
                                "{\"created\": 0, \"duplicates\": 0, \"invalid\": 0, \"items\": []}"))
                .isEmpty();
        assertThat(CHECK.mismatch("GET", "/dashboard/tasks", 200, "text/html", "<html></html>"))
                .isEmpty();
    }

    @Test
    void anErrorCodeIsAnOpenString() {
        String task =
                """
                {"id": "0190c7e2-6d7a-7000-8000-000000000000", "agent": "later", "state": "failed", "priority": 0,
                 "input": {}, "metadata": {}, "attempts": 1, "max_attempts": 1, "timeout_seconds": 60,
                 "created_at": "2026-12-07T03:00:00Z", "run_at": "2026-12-07T03:00:00Z",
                 "retry": {"base_seconds": 1, "max_seconds": 60},
                 "error": {"code": "model_refused", "message": "the model said no", "attempt": 1}}
                """;
        assertThat(
                        CHECK.mismatch(
                                "GET",
                                "/v1/tasks/0190c7e2-6d7a-7000-8000-000000000000",
                                200,
                                "application/json",
                                task))
                .isEmpty();
    }
}
