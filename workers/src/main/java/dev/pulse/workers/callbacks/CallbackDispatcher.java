package dev.pulse.workers.callbacks;

import dev.pulse.executors.TraceContext;
import dev.pulse.workers.maintenance.Duty;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.timing.Backoff;
import dev.pulse.workers.timing.BatchRecorder;
import dev.pulse.workers.timing.ClaimLoop;
import dev.pulse.workers.timing.WakeUp;
import dev.pulse.workers.tracing.TaskTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Sends outbox rows to their callback URLs, signed per Standard Webhooks. Any 2xx answer delivers;
 * anything else is retried with backoff until {@code maxAttempts}, then the delivery is marked
 * dead. Redirects are not followed: a callback URL must answer itself.
 *
 * <p>Deliveries written on this node are taken straight from memory ({@link LocalDeliveries}); the
 * others are claimed in batches (as many as there are free senders: a {@link ClaimLoop}). All are
 * sent over kept-alive connections (a connection pool sized to the concurrency; HTTP/2 where a TLS
 * server offers it), at most {@code perDestination} at a time to one host and port, and their
 * outcomes are recorded in batches by a {@link BatchRecorder}: one UPDATE every {@link
 * #RECORD_EVERY} or {@link #RECORD_AT_MOST} outcomes. An outcome not yet recorded when the process
 * dies leaves its delivery pending; it is sent again once its claim lease passes, under the same
 * {@code webhook-id} (at least once, as before).
 */
public final class CallbackDispatcher implements Duty.Stoppable {

    private static final Logger log = LoggerFactory.getLogger(CallbackDispatcher.class);
    // With its charset, OkHttp need not parse a new media type for every request body.
    private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

    static final Duration RECORD_EVERY = Duration.ofMillis(10);
    static final int RECORD_AT_MOST = 200;

    /**
     * While deliveries handed over in memory keep every sender busy, the outbox is still claimed
     * from at least this often, so that retries falling due are not starved.
     */
    static final Duration CLAIM_FROM_THE_OUTBOX_EVERY = Duration.ofMillis(100);

    /**
     * @param perDestination the most requests in flight to one host and port (at most {@code
     *     concurrency})
     */
    public record Settings(
            int concurrency,
            int maxAttempts,
            Duration pollInterval,
            Duration requestTimeout,
            int perDestination) {
        public Settings {
            perDestination = Math.max(1, Math.min(perDestination, concurrency));
        }

        public Settings(
                int concurrency, int maxAttempts, Duration pollInterval, Duration requestTimeout) {
            this(concurrency, maxAttempts, pollInterval, requestTimeout, concurrency);
        }
    }

    private final DeliveryStore store;
    private final LocalDeliveries local;
    private final OkHttpClient http;
    private final WebhookSigner signer;
    private final Backoff backoff;
    private final Clock clock;
    private final Settings settings;
    private final ClaimLoop<CallbackDelivery> loop;
    private final BatchRecorder<DeliveryStore.Outcome> outcomes;
    private final DestinationLimits destinations;
    private final ConcurrentHashMap<String, Target> targets = new ConcurrentHashMap<>();
    private long lastOutboxClaimMillis; // the loop's own

    private final QueueMetrics metrics;
    private final TaskTracing tracing;

    /**
     * How deliveries go out: the HTTP client (egress policy applied), the signer, the backoff
     * between tries, and the tracing that makes a span of each try.
     */
    public record Sending(
            OkHttpClient http, WebhookSigner signer, Backoff backoff, TaskTracing tracing) {

        /** Deliveries without spans. */
        public Sending(OkHttpClient http, WebhookSigner signer, Backoff backoff) {
            this(http, signer, backoff, TaskTracing.off());
        }
    }

    public CallbackDispatcher(
            Jdbi jdbi,
            Sending sending,
            Clock clock,
            WakeUp wakeUp,
            Settings settings,
            LocalDeliveries local,
            QueueMetrics metrics) {
        this.metrics = metrics;
        this.store = new DeliveryStore(jdbi);
        this.local = local;
        this.http =
                sending.http()
                        .newBuilder()
                        .followRedirects(false)
                        .followSslRedirects(false)
                        .callTimeout(settings.requestTimeout())
                        // Keep one idle connection per sender alive (OkHttp keeps 5 by default), so
                        // deliveries reuse connections instead of opening one each.
                        .connectionPool(
                                new ConnectionPool(settings.concurrency(), 5, TimeUnit.MINUTES))
                        .build();
        this.signer = sending.signer();
        this.tracing = sending.tracing();
        this.backoff = sending.backoff();
        this.clock = clock;
        this.settings = settings;
        this.destinations = new DestinationLimits(settings.perDestination());
        // Unbounded, as a sender must never wait to record; the senders are what bounds it. Its
        // retry policy (flush) counts attempts rather than time, so no flush deadline.
        this.outcomes =
                new BatchRecorder<>(
                        new BatchRecorder.Settings(
                                "pulse-callback-recorder",
                                BatchRecorder.UNBOUNDED,
                                RECORD_AT_MOST,
                                RECORD_EVERY,
                                Duration.ZERO),
                        this::flush);
        this.loop =
                new ClaimLoop<>(
                        this::sendUpTo,
                        this::send,
                        outcomes::room,
                        wakeUp,
                        new ClaimLoop.Settings(
                                "callback dispatcher",
                                "deliveries",
                                settings.concurrency(),
                                settings.pollInterval(),
                                "pulse-callback-dispatcher",
                                "pulse-callback-sender"));
    }

    @Override
    public String name() {
        return "callback-dispatcher";
    }

    /** Its claims of deliveries: made, and failed because the database was away. */
    @Override
    public Duty.Status status() {
        return loop.status();
    }

    @Override
    public void start() {
        outcomes.start();
        loop.start();
    }

    /**
     * Sends up to {@code free} deliveries: from memory first, then claimed from the outbox (first,
     * half the time, on its turn); returns how many. Each batch is on its way before the next is
     * taken, so a claim that fails loses nothing already taken from memory (such a delivery would
     * wait for its claim lease to pass, 20 s by default, before any node sent it).
     */
    private int sendUpTo(int free, ClaimLoop.Slots<CallbackDelivery> senders) {
        boolean outboxTurn =
                clock.millis() - lastOutboxClaimMillis >= CLAIM_FROM_THE_OUTBOX_EVERY.toMillis();
        int sent = handOver(local.take(outboxTurn ? free / 2 : free), senders);
        if (sent < free) {
            sent +=
                    handOver(
                            store.claim(free - sent, claimLease(settings.requestTimeout())),
                            senders);
            lastOutboxClaimMillis = clock.millis();
            sent += handOver(local.take(free - sent), senders);
        }
        return sent;
    }

    private static int handOver(
            List<CallbackDelivery> deliveries, ClaimLoop.Slots<CallbackDelivery> senders) {
        for (CallbackDelivery delivery : deliveries) {
            senders.run(delivery);
        }
        return deliveries.size();
    }

    /** One sender's work: one delivery, within its destination's limit of requests in flight. */
    private void send(CallbackDelivery delivery) {
        Target target = target(delivery.url());
        try {
            destinations.run(target.destination(), () -> deliver(delivery, target.url()));
        } catch (InterruptedException e) {
            Thread.currentThread()
                    .interrupt(); // stopping: the claim lease passes, another sender retries
        }
    }

    /**
     * A callback URL parsed (null when it does not parse), and its destination: the key of its
     * limit of requests in flight.
     */
    private record Target(HttpUrl url, String destination) {}

    /** Most callback URLs kept parsed; past it the cache starts afresh. */
    private static final int TARGETS_KEPT = 10_000;

    /** Parsed once per URL: parsing (host canonicalization) was a tenth of a sender's time. */
    private Target target(String url) {
        if (targets.size() > TARGETS_KEPT) {
            targets.clear();
        }
        return targets.computeIfAbsent(
                url,
                u -> {
                    HttpUrl parsed = HttpUrl.parse(u);
                    return new Target(parsed, destination(parsed));
                });
    }

    /**
     * The URL's scheme, host and port, which share a limit of requests in flight (one shared limit
     * for unparseable URLs).
     */
    private static String destination(HttpUrl url) {
        return url == null ? "" : url.scheme() + "://" + url.host() + ":" + url.port();
    }

    /**
     * The recorder's retry policy: a batch that cannot be written is tried up to five times (twice
     * when stopping), then given up; its deliveries stay pending and are sent again once their
     * claim lease passes.
     */
    private void flush(List<DeliveryStore.Outcome> batch, long deadline, boolean closing)
            throws InterruptedException {
        for (int attempt = 1; !batch.isEmpty(); attempt++) {
            try {
                store.recordAll(batch);
                return;
            } catch (RuntimeException e) {
                if (attempt >= 5 || closing && attempt >= 2) {
                    log.warn(
                            "could not record {} callback outcome(s); they will be sent again: {}",
                            batch.size(),
                            e.getMessage());
                    return;
                }
                Thread.sleep(100L * attempt);
            }
        }
    }

    /**
     * How long a claimed delivery is held: one request's time limit and a margin; after it, another
     * sender may retry.
     */
    static Duration claimLease(Duration requestTimeout) {
        return requestTimeout.plusSeconds(10);
    }

    /**
     * @param url the delivery's URL, parsed; null when it does not parse
     */
    private void deliver(CallbackDelivery delivery, HttpUrl url) {
        if (!tracing.on()) {
            deliver(delivery, url, null);
            return;
        }
        Span span =
                tracing.span(TaskTracing.DELIVER, SpanKind.CLIENT, delivery.trace())
                        .setAttribute("pulse.task.id", String.valueOf(delivery.taskId()))
                        .setAttribute("pulse.callback.attempt", delivery.attempts())
                        .setAttribute("http.request.method", "POST")
                        .setAttribute("webhook.id", delivery.webhookId())
                        .startSpan();
        if (url != null) {
            span.setAttribute("server.address", url.host());
            span.setAttribute("server.port", url.port());
        }
        try {
            deliver(delivery, url, span);
        } finally {
            span.end();
        }
    }

    /**
     * @param span this try's span (null when tracing is off): its context goes with the request, so
     *     the receiver's own spans can join the task's trace
     */
    private void deliver(CallbackDelivery delivery, HttpUrl url, Span span) {
        MDC.put("task_id", String.valueOf(delivery.taskId())); // "null" for operator alerts
        try {
            if (url == null) {
                failed(delivery, null, "the callback URL is not a valid http or https URL");
                return;
            }
            long timestamp = clock.instant().getEpochSecond();
            Request.Builder builder =
                    new Request.Builder()
                            .url(url)
                            .header("webhook-id", delivery.webhookId())
                            .header("webhook-timestamp", Long.toString(timestamp))
                            .header(
                                    "webhook-signature",
                                    signer.sign(delivery.webhookId(), timestamp, delivery.body()))
                            .header("User-Agent", "Pulse-Webhooks/1")
                            .post(RequestBody.create(delivery.body(), JSON));
            TraceContext trace = span != null ? tracing.contextOf(span) : delivery.trace();
            trace.asHeaders().forEach(builder::header);
            Request request = builder.build();
            try (Response response = http.newCall(request).execute()) {
                if (span != null) {
                    span.setAttribute("http.response.status_code", response.code());
                    if (!response.isSuccessful()) {
                        span.setStatus(StatusCode.ERROR, "HTTP " + response.code());
                    }
                }
                if (response.isSuccessful()) {
                    outcomes.submit(
                            DeliveryStore.Outcome.delivered(delivery.id(), response.code()));
                    metrics.callback("delivered");
                    log.debug(
                            "callback delivered to {} (HTTP {})", delivery.url(), response.code());
                } else {
                    failed(
                            delivery,
                            response.code(),
                            "HTTP " + response.code() + " from the callback URL");
                }
            } catch (IOException | RuntimeException e) {
                if (span != null) {
                    span.setAttribute("error.type", e.getClass().getName());
                    span.setStatus(StatusCode.ERROR, e.getClass().getSimpleName());
                }
                failed(delivery, null, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the recorder never blocks a sender: not reached
        } finally {
            MDC.remove("task_id");
        }
    }

    /**
     * The one place that decides between another attempt (after the backoff) and a dead delivery.
     */
    private void failed(CallbackDelivery delivery, Integer status, String error)
            throws InterruptedException {
        Duration retryIn = backoff.delayAfter(delivery.attempts());
        boolean dead = delivery.attempts() >= settings.maxAttempts();
        outcomes.submit(DeliveryStore.Outcome.failed(delivery.id(), dead, status, error, retryIn));
        metrics.callback(dead ? "dead" : "retrying");
        if (dead) {
            log.warn(
                    "callback to {} failed {} times and is now dead: {}",
                    delivery.url(),
                    delivery.attempts(),
                    error);
        } else {
            log.info(
                    "callback to {} failed (attempt {} of {}), retrying in {} ms: {}",
                    delivery.url(),
                    delivery.attempts(),
                    settings.maxAttempts(),
                    retryIn.toMillis(),
                    error);
        }
    }

    @Override
    public void stop() throws InterruptedException {
        loop.close(settings.requestTimeout().plusSeconds(1), () -> {}, Duration.ZERO);
        List<CallbackDelivery> neverSent = local.close();
        try {
            store.release(neverSent);
        } catch (RuntimeException e) {
            log.warn(
                    "could not hand back {} callback(s) never sent; they will be sent once their claim lease passes: {}",
                    neverSent.size(),
                    e.getMessage());
        }
        // Every sender has stopped: record the outcomes still queued, then stop the recorder.
        outcomes.close();
    }
}
