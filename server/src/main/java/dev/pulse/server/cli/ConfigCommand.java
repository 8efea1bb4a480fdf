package dev.pulse.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.server.config.Role;
import dev.pulse.workers.agents.AgentCatalog;
import dev.pulse.workers.agents.NodeExecutors;
import dev.pulse.workers.config.ConfigException;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.schedules.ScheduleFiles;
import dev.pulse.workers.schedules.ScheduleParser;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import okhttp3.OkHttpClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(
        name = "config",
        mixinStandardHelpOptions = true,
        description = "Check the configuration.",
        subcommands = {ConfigCommand.Check.class})
final class ConfigCommand implements Runnable {

    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            description =
                    "Validate the configuration (file and PULSE_* variables), the agent files and the schedule "
                            + "files as 'pulse serve' would, without touching the database. Exit status 0 when valid, "
                            + "2 with every problem on stderr otherwise.")
    static final class Check implements Callable<Integer> {

        @Mixin ConfigOption config;

        @Spec CommandSpec spec;

        /** Where PULSE_* variables come from; tests replace it. */
        Function<String, String> environment = System::getenv;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Path file = config.chosenFile(environment);
            PulseConfig cfg;
            try {
                cfg = config.load(environment);
            } catch (ConfigException e) {
                return fail(err, e.problems());
            }

            List<String> problems = new ArrayList<>();
            ObjectMapper json = JsonMapper.create();
            OkHttpClient http = new OkHttpClient();
            JavaAgents javaAgents = JavaAgents.discover(cfg.pluginsDir());
            AgentRegistry agents = null;
            ScheduleFiles.Loaded schedules = null;
            try (NodeExecutors executors = new NodeExecutors(javaAgents, http, json, environment)) {
                agents = AgentCatalog.load(cfg.agentsDir(), javaAgents, executors.factory());
            } catch (ConfigException e) {
                problems.addAll(e.problems());
            }
            if (Files.exists(cfg.schedulesDir())) {
                if (agents == null) {
                    problems.add(
                            cfg.schedulesDir()
                                    + ": not checked: schedules name agents, so fix the agent files first");
                } else {
                    schedules =
                            new ScheduleFiles(
                                            new ScheduleParser(
                                                    json, agents, cfg.egress(), Clock.systemUTC()))
                                    .load(cfg.schedulesDir());
                    problems.addAll(schedules.problems());
                }
            }
            if (!problems.isEmpty()) {
                return fail(err, problems);
            }

            out.println("configuration OK");
            out.println(
                    "  file:           "
                            + (file == null ? "none (defaults and PULSE_* variables)" : file));
            out.println(
                    "  database:       "
                            + (cfg.usesEmbeddedDatabase()
                                    ? "embedded PostgreSQL in " + cfg.dataDir()
                                    : DatabaseUrl.parse(cfg.databaseUrl()).toString()));
            if (cfg.databaseTopology().transactionPooling()) {
                out.println(
                        "  pooler:         transaction (LISTEN "
                                + (cfg.databaseTopology().listenUrl() == null
                                        ? "off: polling)"
                                        : "on "
                                                + DatabaseUrl.parse(
                                                        cfg.databaseTopology().listenUrl())
                                                + ")"));
            }
            if (cfg.databaseTopology().replicaUrl() != null) {
                out.println(
                        "  replica:        "
                                + DatabaseUrl.parse(cfg.databaseTopology().replicaUrl()));
            }
            out.println("  http:           " + cfg.httpHost() + ":" + cfg.httpPort());
            out.println(
                    "  roles:          "
                            + String.join(", ", cfg.roles().stream().map(Role::wire).toList()));
            out.println(
                    "  agents:         "
                            + agents.all().size()
                            + " "
                            + agents.all().stream().map(AgentDefinition::name).sorted().toList()
                            + " (files in "
                            + cfg.agentsDir()
                            + ")");
            out.println(
                    "  schedules:      "
                            + (schedules == null
                                    ? "none (" + cfg.schedulesDir() + " does not exist)"
                                    : schedules.schedules().size() + " in " + cfg.schedulesDir()));
            out.println(
                    "  webhook secret: "
                            + (cfg.webhookSecret() != null
                                    ? "set"
                                    : "the stored one, generated at first start"));
            out.println(
                    "  admin key:      "
                            + (cfg.adminKey() != null
                                    ? "set"
                                    : "not set (one is generated at first start)"));
            out.println(
                    "  worker:         "
                            + cfg.workerConcurrency()
                            + " at once, lease "
                            + cfg.leaseDuration().toSeconds()
                            + "s");
            out.println("  tracing:        " + cfg.tracing());
            out.flush();
            return 0;
        }

        private static int fail(PrintWriter err, List<String> problems) {
            err.println(
                    "pulse: invalid configuration ("
                            + problems.size()
                            + " problem"
                            + (problems.size() == 1 ? "" : "s")
                            + "):");
            problems.forEach(p -> err.println("  " + p));
            err.flush();
            return 2;
        }
    }
}
