package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.TestDatabase;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Size limits, rate limits, and a fuzz run of 10,000 malformed or hostile requests: no 5xx, no
 * crash, nothing written.
 */
class HostileInputTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final String[] HOSTILE = {
        "'; DROP TABLE tasks; --",
        "<script>alert(1)</script>",
        "../../../etc/passwd",
        "${jndi:ldap://127.0.0.1/x}",
        "\\u0000",
        "%00",
        "\\ud800",
        "Robert'); DELETE FROM api_keys;--",
        "☃".repeat(300),
        "A".repeat(70_000),
        "-1",
        "1e309",
        "NaN",
        "null",
        "[]",
        "{}",
        "true",
        "0x7fffffff",
        "9".repeat(400)
    };

    /** What parser and framework messages look like: class and token names, character codes. */
    private static final Pattern LIBRARY_INTERNALS =
            Pattern.compile(
                    "jackson|javalin|jetty|com\\.fasterxml|java\\.lang|Exception|JsonToken|START_OBJECT|\\(code \\d+\\)|Trailing token"
                            + "|Source: |REDACTED|StreamReadConstraints|org\\.quartz",
                    Pattern.CASE_INSENSITIVE);

    private static TestNode pulse;

    @BeforeAll
    static void start() {
        pulse = new TestNode(TestDatabase.create(), Map.of("PULSE_RATE_LIMIT", "0"));
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @Test
    void tooLargeBodiesAndFieldsAre413() throws Exception {
        HttpResponse<String> huge =
                pulse.post(
                        "/v1/tasks",
                        "{\"agent\": \"echo\", \"input\": {\"x\": \""
                                + "a".repeat(2 << 20)
                                + "\"}}");
        assertThat(huge.statusCode()).isEqualTo(413);
        assertThat(huge.headers().firstValue("Content-Type")).contains("application/problem+json");

        HttpResponse<String> bigInput =
                pulse.post(
                        "/v1/tasks",
                        "{\"agent\": \"echo\", \"input\": {\"x\": \""
                                + "a".repeat(300_000)
                                + "\"}}");
        assertThat(bigInput.statusCode()).as(bigInput.body()).isEqualTo(413);
        assertThat(json.readTree(bigInput.body()).path("errors").path(0).path("field").asText())
                .as(bigInput.body())
                .isEqualTo("input");
        assertThat(pulse.count("SELECT count(*) FROM tasks")).isZero();
    }

    @Test
    void aKeyOverItsRateLimitGets429WithRetryAfter() throws Exception {
        // One request a second (two in a burst), and requests until one is refused rather than a
        // fixed number: a fixed number only goes over the limit if it fits in a short enough time.
        try (TestNode limited =
                new TestNode(TestDatabase.create(), Map.of("PULSE_RATE_LIMIT", "1"))) {
            List<Integer> statuses = new ArrayList<>();
            String retryAfter = null;
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (retryAfter == null && System.nanoTime() < deadline) {
                HttpResponse<String> r = limited.get("/v1/agents");
                statuses.add(r.statusCode());
                if (r.statusCode() == 429) {
                    retryAfter = r.headers().firstValue("Retry-After").orElse(null);
                }
            }
            assertThat(statuses).contains(200, 429).doesNotContain(500);
            assertThat(retryAfter).isNotNull();
            assertThat(Integer.parseInt(retryAfter)).isPositive();
            assertThat(limited.get("/health/live").statusCode())
                    .as("health is never limited")
                    .isEqualTo(200);
        }
    }

    @Test
    void tenThousandHostileRequestsCauseNo5xxAndWriteNothing() throws Exception {
        Random random = new Random(20261121);
        List<HttpRequest> requests = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            requests.add(hostileRequest(random));
        }
        AtomicInteger serverErrors = new AtomicInteger();
        List<String> leaks = Collections.synchronizedList(new ArrayList<>());
        List<String> examples = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> runs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int offset = t;
            runs.add(
                    pool.submit(
                            () -> {
                                for (int i = offset; i < requests.size(); i += 4) {
                                    HttpResponse<String> r = pulse.send(requests.get(i));
                                    if (LIBRARY_INTERNALS.matcher(r.body()).find()
                                            && leaks.size() < 5) {
                                        leaks.add(
                                                requests.get(i).method()
                                                        + " "
                                                        + requests.get(i).uri()
                                                        + " -> "
                                                        + r.statusCode()
                                                        + " "
                                                        + r.body());
                                    }
                                    if (r.statusCode() >= 500) {
                                        serverErrors.incrementAndGet();
                                        if (examples.size() < 5) {
                                            examples.add(
                                                    requests.get(i).method()
                                                            + " "
                                                            + requests.get(i).uri()
                                                            + " -> "
                                                            + r.statusCode()
                                                            + " "
                                                            + r.body());
                                        }
                                    }
                                }
                                return null;
                            }));
        }
        for (Future<?> f : runs) {
            f.get();
        }
        pool.shutdown();

        assertThat(serverErrors.get()).as("5xx answers, e.g. %s", examples).isZero();
        assertThat(leaks)
                .as("answers that show a library's internals instead of saying what is wrong")
                .isEmpty();
        assertThat(pulse.get("/health/ready").statusCode()).isEqualTo(200);
        assertThat(pulse.count("SELECT count(*) FROM tasks")).as("tasks written").isZero();
        assertThat(pulse.count("SELECT count(*) FROM schedules")).as("schedules written").isZero();
        assertThat(pulse.count("SELECT count(*) FROM api_keys")).as("keys untouched").isEqualTo(1);
    }

    /**
     * A request that is wrong by construction (so it must never write), built from one of several
     * kinds of damage.
     */
    private static HttpRequest hostileRequest(Random random) {
        String hostile = HOSTILE[random.nextInt(HOSTILE.length)];
        String quoted = quote(hostile);
        return switch (random.nextInt(10)) {
            case 0 -> post("/v1/tasks", randomBytes(random)); // not JSON at all
            case 1 ->
                    post(
                            "/v1/tasks",
                            truncate(
                                    "{\"agent\": \"echo\", \"input\": {\"a\": [1, 2, {\"b\": "
                                            + quoted
                                            + "}]}}",
                                    random));
            case 2 ->
                    post(
                            "/v1/tasks",
                            "{\"agent\": " + quoted + ", \"input\": {}}"); // unknown agent
            case 3 ->
                    post(
                            "/v1/tasks",
                            "{\"agent\": \"echo\", \"unknown\": 1, \""
                                    + pick(
                                            random,
                                            "priority",
                                            "max_attempts",
                                            "timeout_seconds",
                                            "delay_seconds",
                                            "run_at",
                                            "callback_url",
                                            "input",
                                            "metadata",
                                            "retry")
                                    + "\": "
                                    + wrongType(random, quoted)
                                    + "}");
            case 4 ->
                    post(
                            "/v1/tasks",
                            "[".repeat(1 + random.nextInt(5000)) + "]".repeat(random.nextInt(3)));
            case 5 ->
                    post(
                            "/v1/schedules",
                            "{\"name\": \"s"
                                    + random.nextInt(1000)
                                    + "\", \"cron\": "
                                    + badCron(random, quoted)
                                    + ", \"agent\": \"echo\"}");
            case 6 ->
                    post(
                            "/v1/tasks",
                            "{\"agent\": \"echo\", \"callback_url\": "
                                    + quote(
                                            pick(
                                                    random,
                                                    "ftp://x/y",
                                                    "javascript:alert(1)",
                                                    "http://169.254.169.254/latest",
                                                    "http://[::1]/x",
                                                    "http://10.0.0.1/",
                                                    "file:///etc/passwd",
                                                    "http://",
                                                    "//x",
                                                    hostile))
                                    + "}");
            case 7 ->
                    pulse.request(
                                    pick(random, "/v1/tasks/", "/v1/schedules/", "/v1/agents/")
                                            + encode(hostile)
                                            + pick(
                                                    random,
                                                    "",
                                                    "/cancel",
                                                    "/retry",
                                                    "/trigger",
                                                    "/attempts"))
                            .method(
                                    pick(random, "GET", "POST", "PUT", "DELETE", "PATCH"),
                                    HttpRequest.BodyPublishers.ofString(
                                            random.nextBoolean()
                                                    ? ""
                                                    : "{\"attempts\": "
                                                            + wrongType(random, quoted)
                                                            + "}"))
                            .build();
            case 8 ->
                    pulse.request(
                                    "/v1/tasks?"
                                            + pick(random, "state", "limit", "cursor")
                                            + "="
                                            + encode(hostile)
                                            + "&limit=-3")
                            .GET()
                            .build();
            default ->
                    post(
                            "/v1/tasks",
                            "{\"unknown_field\": "
                                    + quoted
                                    + ", \"agent\": \"echo\", \"input\": {\"deep\": "
                                    + "{\"a\": ".repeat(random.nextInt(3000))
                                    + "1"
                                    + "}".repeat(random.nextInt(3000))
                                    + "}");
        };
    }

    private static HttpRequest post(String path, String body) {
        return pulse.request(path).POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static String wrongType(Random random, String quoted) {
        return pick(
                random,
                quoted,
                "[" + quoted + "]",
                "{\"x\": " + quoted + "}",
                "-99999999999999999999",
                "1.5e400",
                "true");
    }

    private static String badCron(Random random, String quoted) {
        return pick(
                random,
                quoted,
                "\"* * *\"",
                "\"61 * * * *\"",
                "\"@never\"",
                "\"0 9 * * FRI-SUN\"",
                "42",
                "\"* * * * * * * *\"");
    }

    private static String randomBytes(Random random) {
        StringBuilder s = new StringBuilder("{");
        for (int i = 0, n = random.nextInt(200); i < n; i++) {
            s.append((char) random.nextInt(0x3000));
        }
        return s.toString();
    }

    private static String truncate(String text, Random random) {
        return text.substring(0, 1 + random.nextInt(text.length() - 2));
    }

    private static String pick(Random random, String... options) {
        return options[random.nextInt(options.length)];
    }

    private static String quote(String s) {
        try {
            return json.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(
                s.length() > 200 ? s.substring(0, 200) : s, StandardCharsets.UTF_8);
    }
}
