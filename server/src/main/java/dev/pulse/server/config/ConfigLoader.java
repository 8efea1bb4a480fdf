package dev.pulse.server.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pulse.executors.agents.Durations;
import dev.pulse.executors.http.EgressPolicy;
import dev.pulse.workers.budgets.Prices;
import dev.pulse.workers.callbacks.WebhookSecret;
import dev.pulse.workers.config.ConfigException;
import dev.pulse.workers.db.DatabaseUrl;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads configuration: built-in defaults, then the YAML file (nested keys such as {@code
 * worker.concurrency}), then {@code PULSE_*} environment variables. Unknown keys and bad values are
 * reported together, each with the key and the environment variable that sets it.
 */
public final class ConfigLoader {

    /**
     * A configuration key: where it sits in the YAML file, the variable that overrides it, its
     * default.
     */
    record Key(String path, String env, String defaultValue) {}

    static final List<Key> KEYS =
            List.of(
                    new Key("http.host", "PULSE_HTTP_HOST", "0.0.0.0"),
                    new Key("http.port", "PULSE_HTTP_PORT", "8080"),
                    new Key("http.public_url", "PULSE_PUBLIC_URL", null),
                    new Key("database.url", "PULSE_DATABASE_URL", null),
                    new Key("database.pool_size", "PULSE_DATABASE_POOL_SIZE", "20"),
                    new Key("database.pooler", "PULSE_DATABASE_POOLER", "none"),
                    new Key("database.listen_url", "PULSE_DATABASE_LISTEN_URL", null),
                    new Key("database.replica_url", "PULSE_DATABASE_REPLICA_URL", null),
                    new Key("database.socket_timeout", "PULSE_DATABASE_SOCKET_TIMEOUT", "15s"),
                    new Key("data_dir", "PULSE_DATA_DIR", "./pulse-data"),
                    new Key("webhook.secret", "PULSE_WEBHOOK_SECRET", null),
                    new Key("worker.concurrency", "PULSE_WORKER_CONCURRENCY", "64"),
                    new Key("worker.poll_interval", "PULSE_WORKER_POLL_INTERVAL", "500ms"),
                    new Key("worker.lease", "PULSE_LEASE_SECONDS", "30s"),
                    new Key("worker.wakeups", "PULSE_WAKEUPS", "notify"),
                    new Key("worker.shutdown_grace", "PULSE_SHUTDOWN_GRACE", "30s"),
                    new Key("retention", "PULSE_RETENTION", "7d"),
                    new Key("callbacks.concurrency", "PULSE_CALLBACK_CONCURRENCY", "32"),
                    new Key("callbacks.per_destination", "PULSE_CALLBACK_PER_DESTINATION", "16"),
                    new Key("callbacks.max_attempts", "PULSE_CALLBACK_MAX_ATTEMPTS", "12"),
                    new Key("callbacks.timeout", "PULSE_CALLBACK_TIMEOUT", "10s"),
                    new Key("agents.dir", "PULSE_AGENTS_DIR", "config/agents"),
                    new Key("agents.plugins_dir", "PULSE_PLUGINS_DIR", "plugins"),
                    new Key("schedules.dir", "PULSE_SCHEDULES_DIR", "config/schedules"),
                    new Key("api.admin_key", "PULSE_ADMIN_KEY", null),
                    new Key("egress.allow", "PULSE_EGRESS_ALLOW", ""),
                    new Key("roles", "PULSE_ROLES", "api,worker,scheduler"),
                    new Key("api.rate_limit", "PULSE_RATE_LIMIT", "200"),
                    // OpenTelemetry's own variables, so a node is set up like any other service
                    new Key("tracing.otlp_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", null),
                    new Key(
                            "tracing.otlp_protocol",
                            "OTEL_EXPORTER_OTLP_PROTOCOL",
                            "http/protobuf"),
                    new Key("tracing.otlp_headers", "OTEL_EXPORTER_OTLP_HEADERS", ""),
                    new Key("tracing.service_name", "OTEL_SERVICE_NAME", "pulse"),
                    new Key("tracing.export_delay_ms", "OTEL_BSP_SCHEDULE_DELAY", "5000"),
                    new Key("budgets.zone", "PULSE_BUDGET_ZONE", "UTC"),
                    new Key("llm.prices", "PULSE_LLM_PRICES", ""),
                    new Key("alerts.url", "PULSE_ALERT_URL", null));

    /**
     * Read by logback itself (logback.xml), not by Pulse; checked here so a typo is refused at
     * start.
     */
    static final String LOG_FORMAT_ENV = "PULSE_LOG_FORMAT";

    static final List<String> LOG_FORMATS = List.of("text", "json");

    private final Function<String, String> environment;

    public ConfigLoader(Function<String, String> environment) {
        this.environment = environment;
    }

    /**
     * @param file the YAML file, or null for defaults and environment only
     */
    public PulseConfig load(Path file) {
        List<String> problems = new ArrayList<>();
        Map<String, String> values = new LinkedHashMap<>();
        KEYS.forEach(k -> values.put(k.path(), k.defaultValue()));
        if (file != null) {
            readFile(file, values, problems);
        }
        for (Key key : KEYS) {
            String fromEnv = environment.apply(key.env());
            if (fromEnv != null && !fromEnv.isBlank()) {
                values.put(key.path(), fromEnv.trim());
            }
        }
        String logFormat = environment.apply(LOG_FORMAT_ENV);
        if (logFormat != null && !LOG_FORMATS.contains(logFormat)) {
            problems.add(LOG_FORMAT_ENV + ": must be text or json, got '" + logFormat + "'");
        }
        Parser p = new Parser(values, problems);
        PulseConfig config =
                new PulseConfig(
                        p.text("http.host"),
                        p.integer("http.port", 0, 65535),
                        p.publicUrl("http.public_url"),
                        p.databaseUrl("database.url"),
                        p.integer("database.pool_size", 2, 500),
                        Path.of(p.text("data_dir")),
                        p.webhookSecret("webhook.secret"),
                        p.integer("worker.concurrency", 1, 10_000),
                        p.duration("worker.poll_interval", false),
                        p.duration("worker.lease", true),
                        p.choice("worker.wakeups", List.of("notify", "poll")).equals("notify"),
                        p.duration("worker.shutdown_grace", false),
                        p.duration("retention", false),
                        p.integer("callbacks.concurrency", 1, 1_000),
                        p.integer("callbacks.per_destination", 1, 1_000),
                        p.integer("callbacks.max_attempts", 1, 100),
                        p.duration("callbacks.timeout", false),
                        Path.of(p.text("agents.dir")),
                        Path.of(p.text("agents.plugins_dir")),
                        Path.of(p.text("schedules.dir")),
                        p.secretKey("api.admin_key"),
                        p.egress("egress.allow"),
                        p.roles("roles"),
                        p.integer("api.rate_limit", 0, 1_000_000),
                        p.tracing(),
                        p.databaseTopology(),
                        p.zone("budgets.zone"),
                        Prices.parse(p.text("llm.prices"), "llm.prices", problems),
                        p.url("alerts.url"));
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    private static void readFile(Path file, Map<String, String> values, List<String> problems) {
        JsonNode root;
        try {
            root = new YAMLMapper().readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            problems.add(file + ": not valid YAML: " + e.getOriginalMessage());
            return;
        } catch (IOException e) {
            problems.add(file + ": cannot read: " + e.getMessage());
            return;
        }
        if (root == null || root.isNull() || root.isMissingNode()) {
            return;
        }
        flatten("", root, values, problems, file);
    }

    private static void flatten(
            String prefix,
            JsonNode node,
            Map<String, String> values,
            List<String> problems,
            Path file) {
        if (!node.isObject()) {
            problems.add(
                    file
                            + ": "
                            + (prefix.isEmpty() ? "the document" : prefix)
                            + " must be a mapping");
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = prefix + e.getKey();
            if (e.getValue().isObject()) {
                flatten(path + ".", e.getValue(), values, problems, file);
            } else if (!values.containsKey(path)) {
                problems.add(
                        file
                                + ": "
                                + path
                                + ": unknown key; see docs/configuration.md for the keys Pulse reads");
            } else if (!e.getValue().isNull()) {
                values.put(path, e.getValue().asText());
            }
        }
    }

    static String envFor(String path) {
        return KEYS.stream()
                .filter(k -> k.path().equals(path))
                .findFirst()
                .map(Key::env)
                .orElseThrow();
    }

    /** Converts the merged string values, collecting a problem per bad value. */
    private record Parser(Map<String, String> values, List<String> problems) {

        String text(String path) {
            return values.get(path);
        }

        ZoneId zone(String path) {
            String v = values.get(path);
            try {
                return ZoneId.of(v);
            } catch (java.time.DateTimeException e) {
                problem(path, "must be a time zone such as UTC or Europe/Berlin, got '" + v + "'");
                return ZoneOffset.UTC;
            }
        }

        String choice(String path, List<String> allowed) {
            String v = values.get(path);
            if (allowed.contains(v)) {
                return v;
            }
            problem(path, "must be one of " + String.join(", ", allowed) + ", got '" + v + "'");
            return allowed.get(0);
        }

        int integer(String path, int min, int max) {
            String v = values.get(path);
            try {
                int n = Integer.parseInt(v);
                if (n >= min && n <= max) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            problem(path, "must be an integer from " + min + " to " + max + ", got '" + v + "'");
            return min;
        }

        /**
         * Durations such as 500ms, 30s, 5m; a bare number means seconds (PULSE_LEASE_SECONDS=2).
         */
        Duration duration(String path, boolean positive) {
            String v = values.get(path);
            var parsed =
                    v.matches("\\d{1,9}")
                            ? Optional.of(Duration.ofSeconds(Long.parseLong(v)))
                            : Durations.parse(v);
            if (parsed.isEmpty() || (positive && parsed.get().isZero())) {
                problem(
                        path,
                        "must be a "
                                + (positive ? "positive " : "")
                                + "duration such as 500ms, 30s or 5m (a bare number is seconds), got '"
                                + v
                                + "'");
                return Duration.ofSeconds(1);
            }
            return parsed.get();
        }

        /**
         * Where spans go: an OTLP/HTTP endpoint (its base URL, to which {@code /v1/traces} is
         * added, as OpenTelemetry's SDKs do), or none.
         */
        TracingConfig tracing() {
            choice("tracing.otlp_protocol", List.of("http/protobuf"));
            String endpoint = values.get("tracing.otlp_endpoint");
            URI uri = null;
            if (endpoint != null && !endpoint.isBlank()) {
                try {
                    uri =
                            new URI(
                                    endpoint.endsWith("/")
                                            ? endpoint.substring(0, endpoint.length() - 1)
                                            : endpoint);
                    if (uri.getScheme() == null
                            || !uri.getScheme().matches("https?")
                            || uri.getHost() == null) {
                        uri = null;
                    }
                } catch (URISyntaxException e) {
                    uri = null;
                }
                if (uri == null) {
                    problem(
                            "tracing.otlp_endpoint",
                            "must be an http(s) URL such as http://collector:4318, got '"
                                    + endpoint
                                    + "'");
                }
            }
            Map<String, String> headers = new LinkedHashMap<>();
            for (String pair : values.get("tracing.otlp_headers").split(",")) {
                if (pair.isBlank()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    problem("tracing.otlp_headers", "must be name=value pairs separated by commas");
                    break;
                }
                headers.put(
                        URLDecoder.decode(pair.substring(0, eq).trim(), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1).trim(), StandardCharsets.UTF_8));
            }
            return new TracingConfig(
                    uri,
                    text("tracing.service_name"),
                    headers,
                    Duration.ofMillis(integer("tracing.export_delay_ms", 1, 600_000)));
        }

        /** The base URL others reach this Pulse's API at: http(s), a host, no path beyond "/". */
        /** An absolute http(s) URL with a host and without credentials; null when unset. */
        URI url(String path) {
            String v = values.get(path);
            if (v == null || v.isBlank()) {
                return null;
            }
            try {
                URI uri = new URI(v);
                if (uri.getScheme() != null
                        && uri.getScheme().matches("https?")
                        && uri.getHost() != null
                        && uri.getUserInfo() == null) {
                    return uri;
                }
            } catch (URISyntaxException e) {
                // reported below
            }
            problem(path, "must be an absolute http(s) URL without credentials, got '" + v + "'");
            return null;
        }

        URI publicUrl(String path) {
            String v = values.get(path);
            if (v == null || v.isBlank()) {
                return null;
            }
            try {
                URI uri = new URI(v.endsWith("/") ? v.substring(0, v.length() - 1) : v);
                if ((uri.getScheme() != null && uri.getScheme().matches("https?"))
                        && uri.getHost() != null
                        && (uri.getPath() == null || uri.getPath().isEmpty())
                        && uri.getQuery() == null
                        && uri.getUserInfo() == null) {
                    return uri;
                }
            } catch (URISyntaxException e) {
                // reported below
            }
            problem(
                    path,
                    "must be the http(s) base URL of this Pulse's API without a path, such as https://pulse.example.com, got '"
                            + v
                            + "'");
            return null;
        }

        String databaseUrl(String path) {
            String v = values.get(path);
            if (v == null || v.isBlank()) {
                return null;
            }
            try {
                DatabaseUrl.parse(v);
            } catch (IllegalArgumentException e) {
                problem(path, e.getMessage());
            }
            return v;
        }

        String webhookSecret(String path) {
            String v = values.get(path);
            if (v == null || v.isBlank()) {
                return null;
            }
            try {
                WebhookSecret.parse(v);
            } catch (IllegalArgumentException e) {
                problem(path, e.getMessage());
            }
            return v;
        }

        Set<Role> roles(String path) {
            Set<Role> roles = EnumSet.noneOf(Role.class);
            for (String part : values.get(path).split(",")) {
                String name = part.trim();
                Arrays.stream(Role.values())
                        .filter(r -> r.wire().equals(name))
                        .findFirst()
                        .ifPresentOrElse(
                                roles::add,
                                () ->
                                        problem(
                                                path,
                                                "unknown role '"
                                                        + name
                                                        + "'; use any of api, worker, scheduler"));
            }
            if (roles.isEmpty()) {
                problem(path, "must name at least one of api, worker, scheduler");
                return EnumSet.allOf(Role.class);
            }
            return roles;
        }

        EgressPolicy egress(String path) {
            try {
                return EgressPolicy.allowing(values.get(path));
            } catch (IllegalArgumentException e) {
                problem(
                        path,
                        e.getMessage()
                                + "; list CIDRs (10.0.0.0/8), addresses or host names (hooks.internal, *.corp.example), comma-separated");
                return EgressPolicy.allowing("");
            }
        }

        DatabaseTopology databaseTopology() {
            boolean transactionPooling =
                    choice("database.pooler", List.of("none", "transaction")).equals("transaction");
            String listenUrl = databaseUrl("database.listen_url");
            String replicaUrl = databaseUrl("database.replica_url");
            Duration socketTimeout = duration("database.socket_timeout", true);
            if (socketTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                problem(
                        "database.socket_timeout",
                        "must be at least 1s (the driver counts whole seconds), got '"
                                + values.get("database.socket_timeout")
                                + "'");
            }
            if (values.get("database.url") == null || values.get("database.url").isBlank()) {
                for (String path : List.of("database.listen_url", "database.replica_url")) {
                    if (values.get(path) != null && !values.get(path).isBlank()) {
                        problem(
                                path,
                                "needs database.url: the embedded PostgreSQL has no replica or pooler");
                    }
                }
                if (transactionPooling) {
                    problem("database.pooler", "needs database.url (the pooler's address)");
                }
            }
            return new DatabaseTopology(listenUrl, replicaUrl, transactionPooling, socketTimeout);
        }

        /** A key an operator chose: long enough to be worth being a secret. */
        String secretKey(String path) {
            String v = values.get(path);
            if (v == null || v.isBlank()) {
                return null;
            }
            if (v.length() < 24) {
                problem(path, "must be at least 24 characters (use: openssl rand -base64 32)");
            }
            return v;
        }

        private void problem(String path, String message) {
            problems.add(path + " (" + envFor(path) + "): " + message);
        }
    }
}
