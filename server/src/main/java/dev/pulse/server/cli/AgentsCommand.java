package dev.pulse.server.cli;

import dev.pulse.executors.local.JavaAgents;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.agents.AgentCatalog;
import dev.pulse.workers.agents.AgentStore;
import dev.pulse.workers.agents.NodeExecutors;
import dev.pulse.workers.config.ConfigException;
import dev.pulse.workers.json.JsonMapper;
import java.util.concurrent.Callable;
import okhttp3.OkHttpClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
        name = "agents",
        mixinStandardHelpOptions = true,
        description = "Manage shared agents.",
        subcommands = {AgentsCommand.Apply.class})
final class AgentsCommand implements Runnable {

    @Override
    public void run() {
        System.out.println("usage: pulse agents apply -f FILE|DIR (see pulse agents apply --help)");
    }

    @Command(
            name = "apply",
            mixinStandardHelpOptions = true,
            description =
                    "Validate the agents in a YAML file or directory (kind: Agent) and store them where every node "
                            + "picks them up. Nothing is stored unless all are valid; applying the same files again changes nothing.")
    static final class Apply implements Callable<Integer> {

        @Mixin ConfigOption config;

        @Mixin FilesOption files;

        @Override
        public Integer call() throws Exception {
            PulseConfig cfg = config.loadOrReport();
            if (cfg == null) {
                return 2;
            }
            var json = JsonMapper.create();
            JavaAgents javaAgents = JavaAgents.discover(cfg.pluginsDir());
            try (NodeExecutors executors =
                    new NodeExecutors(javaAgents, new OkHttpClient(), json, System::getenv)) {
                return DatabaseTarget.with(
                        cfg,
                        database -> {
                            try {
                                var counts =
                                        AgentCatalog.apply(
                                                files.path,
                                                javaAgents,
                                                executors.factory(),
                                                new AgentStore(database.jdbi(), json));
                                System.out.println(
                                        "agents: "
                                                + counts.get(AgentStore.Change.CREATED)
                                                + " created, "
                                                + counts.get(AgentStore.Change.UPDATED)
                                                + " updated, "
                                                + counts.get(AgentStore.Change.UNCHANGED)
                                                + " unchanged");
                                return 0;
                            } catch (ConfigException e) {
                                System.err.println(
                                        "pulse: nothing applied; fix these first:\n  "
                                                + String.join("\n  ", e.problems()));
                                return 2;
                            }
                        });
            }
        }
    }
}
