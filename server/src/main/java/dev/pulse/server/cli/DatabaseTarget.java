package dev.pulse.server.cli;

import dev.pulse.server.config.DatabaseTopology;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.server.db.EmbeddedDatabase;
import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The database a CLI command works on: the configured URL; or the embedded PostgreSQL of a running
 * {@code pulse serve} in the same data directory (found through its postmaster.pid); or, when none
 * runs, the embedded PostgreSQL started for the length of the command.
 */
final class DatabaseTarget {

    private DatabaseTarget() {}

    static <T> T with(PulseConfig config, Function<Database, T> work) throws IOException {
        if (!config.usesEmbeddedDatabase()) {
            DatabaseTopology topology = config.databaseTopology();
            return run(
                    new Database.Pool(
                            "pulse-cli",
                            DatabaseUrl.parse(config.databaseUrl()),
                            2,
                            new ConnectionSettings(
                                    "pulse-cli",
                                    topology.socketTimeout(),
                                    topology.transactionPooling()),
                            topology.listenUrl() == null
                                    ? null
                                    : DatabaseUrl.parse(topology.listenUrl()),
                            false),
                    work);
        }
        Optional<DatabaseUrl> running = runningEmbedded(config.dataDir().resolve("postgres"));
        if (running.isPresent()) {
            return run(running.get(), work);
        }
        try (EmbeddedDatabase embedded = EmbeddedDatabase.start(config.dataDir())) {
            return run(embedded.url(), work);
        }
    }

    private static <T> T run(DatabaseUrl url, Function<Database, T> work) {
        return run(new Database.Pool("pulse-cli", url, 2, ConnectionSettings.defaults()), work);
    }

    private static <T> T run(Database.Pool pool, Function<Database, T> work) {
        try (Database database = Database.connect(pool, null)) {
            database.migrate();
            return work.apply(database);
        }
    }

    /** postmaster.pid: line 1 the pid, line 4 the port. */
    private static Optional<DatabaseUrl> runningEmbedded(Path pgData) throws IOException {
        Path pidFile = pgData.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        List<String> lines = Files.readAllLines(pidFile);
        if (lines.size() < 4) {
            return Optional.empty();
        }
        long pid = Long.parseLong(lines.get(0).trim());
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return Optional.of(
                    DatabaseUrl.parse(
                            "jdbc:postgresql://localhost:"
                                    + lines.get(3).trim()
                                    + "/postgres?user=postgres"));
        }
        return Optional.empty();
    }
}
