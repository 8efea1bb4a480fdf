package dev.pulse.workers.queue;

import dev.pulse.executors.CompletionReports;
import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.maintenance.PeriodicDuty;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits for asynchronous agents' reports. The report itself is recorded by whichever API node
 * receives it (a fenced completion, like a worker's); this node only needs to learn that its
 * attempt ended, so it watches every attempt it waits for with one query per interval, however many
 * there are.
 */
public final class AgentReports extends PeriodicDuty implements CompletionReports {

    private static final Logger log = LoggerFactory.getLogger(AgentReports.class);

    /**
     * The awaited attempts that are no longer running under their token, with their task's state.
     */
    static final String ENDED =
            """
            SELECT w.id, COALESCE(t.state, 'deleted') AS state
              FROM unnest(CAST(:ids AS uuid[]), CAST(:tokens AS uuid[])) AS w (id, token)
              LEFT JOIN tasks t ON t.id = w.id AND t.id = ANY(CAST(:ids AS uuid[]))
             WHERE t.id IS NULL OR t.state <> 'running' OR t.lease_token IS DISTINCT FROM w.token
            """;

    private record Waiter(UUID token, CompletableFuture<String> ended) {}

    private final Jdbi jdbi;
    private final Supplier<Optional<URI>> apiUrl;
    private final Map<UUID, Waiter> waiting = new ConcurrentHashMap<>();

    /**
     * @param apiUrl the base URL agents reach this Pulse's API at (asked for each attempt, as the
     *     port may only be known once the server listens)
     * @param every how often the awaited attempts are looked up
     */
    public AgentReports(Jdbi jdbi, Supplier<Optional<URI>> apiUrl, Duration every) {
        super("agent-reports", every, every);
        this.jdbi = jdbi;
        this.apiUrl = apiUrl;
    }

    @Override
    public Optional<URI> url(UUID taskId) {
        return apiUrl.get().map(base -> base.resolve("/v1/tasks/" + taskId + "/complete"));
    }

    @Override
    public Optional<String> await(UUID taskId, UUID leaseToken, Duration timeout)
            throws InterruptedException {
        Waiter waiter = new Waiter(leaseToken, new CompletableFuture<>());
        waiting.put(taskId, waiter);
        try {
            return Optional.of(waiter.ended().get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException("waiting for an agent's report failed", e.getCause());
        } finally {
            waiting.remove(taskId, waiter);
        }
    }

    @Override
    protected void pass() {
        if (waiting.isEmpty()) {
            return;
        }
        Map<UUID, Waiter> now = Map.copyOf(waiting);
        UUID[] ids = now.keySet().toArray(UUID[]::new);
        UUID[] tokens = Arrays.stream(ids).map(id -> now.get(id).token()).toArray(UUID[]::new);
        jdbi.useTransaction(
                h ->
                        FixedPlans.forThisTransaction(h)
                                .createQuery(ENDED)
                                .bind("ids", ids)
                                .bind("tokens", tokens)
                                .map(
                                        (rs, ctx) ->
                                                now.get(rs.getObject("id", UUID.class))
                                                        .ended()
                                                        .complete(rs.getString("state")))
                                .list());
    }

    @Override
    protected void failed(RuntimeException e) {
        // The attempts keep waiting (their leases are the heartbeat's business); look again next
        // time.
        log.debug("could not look up awaited agent reports; retrying", e);
    }
}
