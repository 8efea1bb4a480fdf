package dev.pulse.workers.agents;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.workers.maintenance.PeriodicDuty;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agents every node shares: the built-ins plus the documents in the {@code agents} table, kept
 * current on this node by re-reading the table when it changes (every few seconds, at once after a
 * change made through this node, and when asked for an agent it doesn't know).
 */
public final class SharedAgents extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(SharedAgents.class);
    static final Duration MISS_CHECK_EVERY = Duration.ofMillis(100);

    private final AgentStore store;
    private final JavaAgents javaAgents;
    private final ExecutorFactory executors;
    private final AgentRegistry registry;
    private final AgentFileLoader loader = new AgentFileLoader();
    private volatile String loadedVersion = "";
    private final Clock clock;
    private final AtomicLong lastMissCheck = new AtomicLong(Long.MIN_VALUE / 2);

    /**
     * @param every how often the table is looked at once {@link #start() started}
     */
    public SharedAgents(
            AgentStore store,
            JavaAgents javaAgents,
            ExecutorFactory executors,
            Clock clock,
            Duration every) {
        super("agent-sync", every, every);
        this.store = store;
        this.javaAgents = javaAgents;
        this.executors = executors;
        this.clock = clock;
        this.registry = new AgentRegistry(javaAgents.definitions(), this::reloadAfterMiss);
        reload();
    }

    public AgentRegistry registry() {
        return registry;
    }

    @Override
    protected void pass() {
        if (!store.version().equals(loadedVersion)) {
            reload();
        }
    }

    @Override
    protected void failed(RuntimeException e) {
        log.debug("agent sync failed; retrying", e);
    }

    /**
     * A name this node doesn't know: look at the table at most every {@link #MISS_CHECK_EVERY}, so
     * a batch of a thousand tasks for unknown agents costs one look, not a thousand.
     */
    private void reloadAfterMiss() {
        long now = clock.millis();
        long last = lastMissCheck.get();
        if (now - last >= MISS_CHECK_EVERY.toMillis() && lastMissCheck.compareAndSet(last, now)) {
            reloadIfChanged();
        }
    }

    private void reloadIfChanged() {
        try {
            pass();
        } catch (RuntimeException e) {
            failed(e);
        }
    }

    /**
     * Validates an agent document; returns the agent or the problems, each starting with its path.
     */
    public Validated validate(JsonNode document, Path baseDir, String source) {
        List<String> problems = new ArrayList<>();
        AgentDefinition agent = loader.parseDocument(document, baseDir, source, problems);
        if (agent != null && problems.isEmpty()) {
            Optional<Executor> executor = executors.executorFor(agent);
            if (executor.isEmpty()) {
                problems.add(
                        "spec.executor: no executor of kind " + agent.executor() + " on this node");
            } else {
                problems.addAll(executor.get().validate(agent));
            }
        }
        if (agent != null && javaAgents.find(agent.name()).isPresent()) {
            problems.add(
                    "metadata.name: '"
                            + agent.name()
                            + "' is a built-in agent and can't be replaced");
        }
        return new Validated(problems.isEmpty() ? agent : null, problems);
    }

    public record Validated(AgentDefinition agent, List<String> problems) {}

    /**
     * Re-reads the table now; an agent this node can't run (say, an executor it lacks) is left out,
     * with a warning.
     */
    public synchronized void reload() {
        String version = store.version();
        List<AgentDefinition> all = new ArrayList<>(javaAgents.definitions());
        for (AgentStore.Stored stored : store.list()) {
            Path base =
                    stored.baseDir() == null
                            ? Path.of("").toAbsolutePath()
                            : Path.of(stored.baseDir());
            Validated v = validate(stored.document(), base, stored.source());
            if (v.agent() != null) {
                all.add(v.agent());
            } else {
                log.warn(
                        "agent {} from {} is not usable on this node: {}",
                        stored.name(),
                        stored.source(),
                        v.problems());
            }
        }
        registry.replace(all);
        loadedVersion = version;
    }
}
