package dev.pulse.server.cli;

import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.agents.AgentCatalog;
import dev.pulse.workers.agents.NodeExecutors;
import dev.pulse.workers.config.ConfigException;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.schedules.ScheduleFiles;
import dev.pulse.workers.schedules.ScheduleParser;
import dev.pulse.workers.schedules.ScheduleStore;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.Callable;
import okhttp3.OkHttpClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
        name = "schedules",
        mixinStandardHelpOptions = true,
        description = "Manage schedules (cron or interval).",
        subcommands = {SchedulesCommand.Apply.class})
final class SchedulesCommand implements Runnable {

    @Override
    public void run() {
        System.out.println(
                "usage: pulse schedules apply -f FILE|DIR (see pulse schedules apply --help)");
    }

    @Command(
            name = "apply",
            mixinStandardHelpOptions = true,
            description =
                    "Create or update the schedules declared in a YAML file or directory (kind: Schedule). "
                            + "Applying the same files again changes nothing.")
    static final class Apply implements Callable<Integer> {

        @Mixin ConfigOption config;

        @Mixin FilesOption files;

        @Override
        public Integer call() throws Exception {
            PulseConfig cfg;
            ScheduleFiles.Loaded loaded;
            var json = JsonMapper.create();
            try {
                cfg = config.load();
                JavaAgents javaAgents = JavaAgents.discover(cfg.pluginsDir());
                try (NodeExecutors executors =
                        new NodeExecutors(javaAgents, new OkHttpClient(), json, System::getenv)) {
                    AgentRegistry agents =
                            AgentCatalog.load(cfg.agentsDir(), javaAgents, executors.factory());
                    loaded =
                            new ScheduleFiles(
                                            new ScheduleParser(
                                                    json, agents, cfg.egress(), Clock.systemUTC()))
                                    .load(files.path);
                }
            } catch (ConfigException e) {
                System.err.println("pulse: " + e.getMessage());
                return 2;
            }
            if (!loaded.problems().isEmpty()) {
                System.err.println(
                        "pulse: nothing applied; fix these first:\n  "
                                + String.join("\n  ", loaded.problems()));
                return 2;
            }
            ScheduleFiles.Loaded valid = loaded;
            return DatabaseTarget.with(
                    cfg,
                    database -> {
                        var counts =
                                ScheduleFiles.apply(
                                        valid.schedules(),
                                        new ScheduleStore(database.jdbi(), json, UUID::randomUUID));
                        System.out.println(
                                "schedules: "
                                        + counts.get(ScheduleStore.Change.CREATED)
                                        + " created, "
                                        + counts.get(ScheduleStore.Change.UPDATED)
                                        + " updated, "
                                        + counts.get(ScheduleStore.Change.UNCHANGED)
                                        + " unchanged");
                        return 0;
                    });
        }
    }
}
