package dev.pulse.workers.callbacks;

import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.timing.Backoff;
import dev.pulse.workers.timing.Batches;
import dev.pulse.workers.timing.WakeUp;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
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
 * Sends outbox rows to their callback URLs, signed per Standard Webhooks. Any 2xx answer
 * delivers; anything else is retried with backoff until {@code maxAttempts}, then the delivery
 * is marked dead. Redirects are not followed: a callback URL must answer itself.
 *
 * <p>Deliveries written on this node are taken straight from memory ({@link LocalDeliveries});
 * the others are claimed in batches (as many as there are free senders). All are sent over kept-alive
 * connections (a connection pool sized to the concurrency; HTTP/2 where a TLS server offers it),
 * at most {@code perDestination} at a time to one host and port, and their outcomes are recorded
 * in batches: one UPDATE every {@link #RECORD_EVERY} or {@link #RECORD_AT_MOST} outcomes. An
 * outcome not yet recorded when the process dies leaves its delivery pending; it is sent again
 * once its claim lease passes, under the same {@code webhook-id} (at least once, as before).
 */
public final class CallbackDispatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CallbackDispatcher.class);
    // With its charset, OkHttp need not parse a new media type for every request body.
    private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

    static final Duration RECORD_EVERY = Duration.ofMillis(10);
    static final int RECORD_AT_MOST = 200;
    /** Under a backlog, how long the loop may wait for more free senders so that one claim moves more rows. */
    static final Duration GATHER_SENDERS_FOR_AT_MOST = Duration.ofMillis(5);
    /**
     * While deliveries handed over in memory keep every sender busy, the outbox is still claimed
     * from at least this often, so that retries falling due are not starved.
     */
    static final Duration CLAIM_FROM_THE_OUTBOX_EVERY = Duration.ofMillis(100);

    /** @param perDestination the most requests in flight to one host and port (at most {@code concurrency}) */
    public record Settings(int concurrency, int maxAttempts, Duration pollInterval, Duration requestTimeout,
                           int perDestination) {
        public Settings {
            perDestination = Math.max(1, Math.min(perDestination, concurrency));
        }

        public Settings(int concurrency, int maxAttempts, Duration pollInterval, Duration requestTimeout) {
            this(concurrency, maxAttempts, pollInterval, requestTimeout, concurrency);
        }
    }

    private final DeliveryStore store;
    private final LocalDeliveries local;
    private final OkHttpClient http;
    private final WebhookSigner signer;
    private final Backoff backoff;
    private final Clock clock;
    private final WakeUp wakeUp;
    private final Settings settings;
    private final Semaphore slots;
    private final ExecutorService senders;
    private final Thread loop;
    private final Thread recorder;
    private final BlockingQueue<DeliveryStore.Outcome> outcomes = new LinkedBlockingQueue<>();
    private final DestinationLimits destinations;
    private final ConcurrentHashMap<String, Target> targets = new ConcurrentHashMap<>();
    private volatile boolean running = true;
    private volatile boolean recording = true;
    private long lastOutboxClaimMillis; // the loop's own

    private final QueueMetrics metrics;

    public CallbackDispatcher(Jdbi jdbi, OkHttpClient http, WebhookSigner signer, Backoff backoff, Clock clock,
                              WakeUp wakeUp, Settings settings, LocalDeliveries local, QueueMetrics metrics) {
        this.metrics = metrics;
        this.store = new DeliveryStore(jdbi);
        this.local = local;
        this.http = http.newBuilder()
                .followRedirects(false)
                .followSslRedirects(false)
                .callTimeout(settings.requestTimeout())
                // Keep one idle connection per sender alive (OkHttp keeps 5 by default), so
                // deliveries reuse connections instead of opening one each.
                .connectionPool(new okhttp3.ConnectionPool(settings.concurrency(), 5, TimeUnit.MINUTES))
                .build();
        this.signer = signer;
        this.backoff = backoff;
        this.clock = clock;
        this.wakeUp = wakeUp;
        this.settings = settings;
        this.slots = new Semaphore(settings.concurrency());
        this.destinations = new DestinationLimits(settings.perDestination());
        this.senders = Executors.newFixedThreadPool(settings.concurrency(), r -> new Thread(r, "pulse-callback-sender"));
        this.loop = new Thread(this::run, "pulse-callback-dispatcher");
        this.recorder = new Thread(this::record, "pulse-callback-recorder");
    }

    public void start() {
        recorder.start();
        loop.start();
    }

    private void run() {
        boolean backlog = false;
        int batch = Math.max(1, settings.concurrency() / 2);
        while (running) {
            try {
                // After a full claim, let senders free up (briefly) and claim for them together:
                // one claim per freed sender was 7 deliveries per claim on the benchmark.
                int free = backlog
                        ? Batches.awaitFree(slots::availablePermits, batch, GATHER_SENDERS_FOR_AT_MOST, wakeUp)
                        : slots.availablePermits();
                int sent = free == 0 ? 0 : sendUpTo(free);
                backlog = free == 0 ? backlog : sent == free;
                if (sent < free || free == 0) {
                    wakeUp.await(settings.pollInterval());
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("callback dispatcher could not claim deliveries; retrying in {}", settings.pollInterval(), e);
                sleepQuietly(settings.pollInterval());
            }
        }
    }

    /**
     * Sends up to {@code free} deliveries: from memory first, then claimed from the outbox (first,
     * half the time, on its turn); returns how many. Each batch is on its way before the next is
     * taken, so a claim that fails loses nothing already taken from memory (such a delivery would
     * wait for its claim lease to pass, 20 s by default, before any node sent it).
     */
    private int sendUpTo(int free) throws InterruptedException {
        boolean outboxTurn = clock.millis() - lastOutboxClaimMillis >= CLAIM_FROM_THE_OUTBOX_EVERY.toMillis();
        int sent = send(local.take(outboxTurn ? free / 2 : free));
        if (sent < free) {
            sent += send(store.claim(free - sent, claimLease(settings.requestTimeout())));
            lastOutboxClaimMillis = clock.millis();
            sent += send(local.take(free - sent));
        }
        return sent;
    }

    private int send(List<CallbackDelivery> deliveries) throws InterruptedException {
        for (CallbackDelivery delivery : deliveries) {
            slots.acquire();
            senders.execute(() -> {
                Target target = target(delivery.url());
                try {
                    destinations.run(target.destination(), () -> deliver(delivery, target.url()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // stopping: the claim lease passes, another sender retries
                } finally {
                    slots.release();
                    wakeUp.signal();
                }
            });
        }
        return deliveries.size();
    }

    /** A callback URL parsed (null when it does not parse), and its destination: the key of its limit of requests in flight. */
    private record Target(HttpUrl url, String destination) {
    }

    /** Most callback URLs kept parsed; past it the cache starts afresh. */
    private static final int TARGETS_KEPT = 10_000;

    /** Parsed once per URL: parsing (host canonicalization) was a tenth of a sender's time. */
    private Target target(String url) {
        if (targets.size() > TARGETS_KEPT) {
            targets.clear();
        }
        return targets.computeIfAbsent(url, u -> {
            HttpUrl parsed = HttpUrl.parse(u);
            return new Target(parsed, destination(parsed));
        });
    }

    /** The URL's scheme, host and port, which share a limit of requests in flight (one shared limit for unparseable URLs). */
    private static String destination(HttpUrl url) {
        return url == null ? "" : url.scheme() + "://" + url.host() + ":" + url.port();
    }

    /** Records delivery outcomes in batches until closed, then whatever is left. */
    private void record() {
        List<DeliveryStore.Outcome> batch = new ArrayList<>();
        while (recording || !outcomes.isEmpty()) {
            try {
                Batches.gather(outcomes, batch, RECORD_AT_MOST, Duration.ofMillis(100), RECORD_EVERY, () -> !recording);
            } catch (InterruptedException e) {
                recording = false;
            }
            outcomes.drainTo(batch, recording ? 0 : Integer.MAX_VALUE);
            flush(batch);
            batch.clear();
        }
    }

    private void flush(List<DeliveryStore.Outcome> batch) {
        for (int attempt = 1; !batch.isEmpty(); attempt++) {
            try {
                store.recordAll(batch, settings.maxAttempts());
                return;
            } catch (RuntimeException e) {
                if (attempt >= 5 || !recording && attempt >= 2) {
                    // The deliveries stay pending and are sent again once their claim lease passes.
                    log.warn("could not record {} callback outcome(s); they will be sent again: {}", batch.size(),
                            e.getMessage());
                    return;
                }
                sleepQuietly(Duration.ofMillis(100L * attempt));
            }
        }
    }

    /** How long a claimed delivery is held: one request's time limit and a margin; after it, another sender may retry. */
    static Duration claimLease(Duration requestTimeout) {
        return requestTimeout.plusSeconds(10);
    }

    /** @param url the delivery's URL, parsed; null when it does not parse */
    private void deliver(CallbackDelivery delivery, HttpUrl url) {
        MDC.put("task_id", delivery.taskId().toString());
        try {
            if (url == null) {
                failed(delivery, null, "the callback URL is not a valid http or https URL");
                return;
            }
            long timestamp = clock.instant().getEpochSecond();
            Request request = new Request.Builder()
                    .url(url)
                    .header("webhook-id", delivery.webhookId())
                    .header("webhook-timestamp", Long.toString(timestamp))
                    .header("webhook-signature", signer.sign(delivery.webhookId(), timestamp, delivery.body()))
                    .header("User-Agent", "Pulse-Webhooks/1")
                    .post(RequestBody.create(delivery.body(), JSON))
                    .build();
            try (Response response = http.newCall(request).execute()) {
                if (response.isSuccessful()) {
                    outcomes.add(new DeliveryStore.Outcome(delivery.id(), true, response.code(), null, 0));
                    metrics.callback("delivered");
                    log.debug("callback delivered to {} (HTTP {})", delivery.url(), response.code());
                } else {
                    failed(delivery, response.code(), "HTTP " + response.code() + " from the callback URL");
                }
            } catch (IOException | RuntimeException e) {
                failed(delivery, null, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        } finally {
            MDC.remove("task_id");
        }
    }

    private void failed(CallbackDelivery delivery, Integer status, String error) {
        Duration retryIn = backoff.delayAfter(delivery.attempts());
        boolean dead = delivery.attempts() >= settings.maxAttempts();
        outcomes.add(new DeliveryStore.Outcome(delivery.id(), false, status, error, retryIn.toMillis() / 1000.0));
        metrics.callback(dead ? "dead" : "retrying");
        if (dead) {
            log.warn("callback to {} failed {} times and is now dead: {}", delivery.url(), delivery.attempts(), error);
        } else {
            log.info("callback to {} failed (attempt {} of {}), retrying in {} ms: {}", delivery.url(),
                    delivery.attempts(), settings.maxAttempts(), retryIn.toMillis(), error);
        }
    }

    private static void sleepQuietly(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        loop.interrupt();
        loop.join(5_000);
        senders.shutdown();
        if (!senders.awaitTermination(settings.requestTimeout().toMillis() + 1_000, TimeUnit.MILLISECONDS)) {
            senders.shutdownNow();
        }
        List<CallbackDelivery> neverSent = local.close();
        try {
            store.release(neverSent);
        } catch (RuntimeException e) {
            log.warn("could not hand back {} callback(s) never sent; they will be sent once their claim lease passes: {}",
                    neverSent.size(), e.getMessage());
        }
        // Every sender has stopped: record the outcomes still queued, then stop the recorder.
        recording = false;
        recorder.join(30_000);
        if (recorder.isAlive()) {
            recorder.interrupt();
            recorder.join(5_000);
        }
    }
}
