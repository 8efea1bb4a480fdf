package dev.pulse.workers.callbacks;

import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.timing.Backoff;
import dev.pulse.workers.timing.WakeUp;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
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
 */
public final class CallbackDispatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CallbackDispatcher.class);
    private static final MediaType JSON = MediaType.get("application/json");

    public record Settings(int concurrency, int maxAttempts, Duration pollInterval, Duration requestTimeout) {
    }

    private final DeliveryStore store;
    private final OkHttpClient http;
    private final WebhookSigner signer;
    private final Backoff backoff;
    private final Clock clock;
    private final WakeUp wakeUp;
    private final Settings settings;
    private final Semaphore slots;
    private final ExecutorService senders;
    private final Thread loop;
    private volatile boolean running = true;

    private final QueueMetrics metrics;

    public CallbackDispatcher(Jdbi jdbi, OkHttpClient http, WebhookSigner signer, Backoff backoff, Clock clock,
                              WakeUp wakeUp, Settings settings, QueueMetrics metrics) {
        this.metrics = metrics;
        this.store = new DeliveryStore(jdbi);
        this.http = http.newBuilder()
                .followRedirects(false)
                .followSslRedirects(false)
                .callTimeout(settings.requestTimeout())
                .build();
        this.signer = signer;
        this.backoff = backoff;
        this.clock = clock;
        this.wakeUp = wakeUp;
        this.settings = settings;
        this.slots = new Semaphore(settings.concurrency());
        this.senders = Executors.newFixedThreadPool(settings.concurrency(), r -> new Thread(r, "pulse-callback-sender"));
        this.loop = new Thread(this::run, "pulse-callback-dispatcher");
    }

    public void start() {
        loop.start();
    }

    private void run() {
        while (running) {
            try {
                int free = slots.availablePermits();
                List<CallbackDelivery> claimed = free == 0 ? List.of() : store.claim(free, claimLease());
                for (CallbackDelivery delivery : claimed) {
                    slots.acquire();
                    senders.execute(() -> {
                        try {
                            deliver(delivery);
                        } finally {
                            slots.release();
                            wakeUp.signal();
                        }
                    });
                }
                if (claimed.size() < free || free == 0) {
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

    /** How long a claimed delivery is held: one request's time limit and a margin; after it, another sender may retry. */
    private Duration claimLease() {
        return settings.requestTimeout().plusSeconds(10);
    }

    void deliver(CallbackDelivery delivery) {
        MDC.put("task_id", delivery.taskId().toString());
        try {
            long timestamp = clock.instant().getEpochSecond();
            Request request = new Request.Builder()
                    .url(delivery.url())
                    .header("webhook-id", delivery.webhookId())
                    .header("webhook-timestamp", Long.toString(timestamp))
                    .header("webhook-signature", signer.sign(delivery.webhookId(), timestamp, delivery.body()))
                    .header("User-Agent", "Pulse-Webhooks/1")
                    .post(RequestBody.create(delivery.body(), JSON))
                    .build();
            try (Response response = http.newCall(request).execute()) {
                if (response.isSuccessful()) {
                    store.delivered(delivery.id(), response.code());
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
        store.failed(delivery.id(), status, error, settings.maxAttempts(), retryIn);
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
    }
}
