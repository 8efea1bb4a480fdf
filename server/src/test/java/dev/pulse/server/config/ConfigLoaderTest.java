package dev.pulse.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pulse.workers.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @TempDir Path dir;

    @Test
    void defaultsGiveAnEmbeddedDatabaseOnPort8080() {
        PulseConfig config = new ConfigLoader(name -> null).load(null);
        assertThat(config.httpPort()).isEqualTo(8080);
        assertThat(config.usesEmbeddedDatabase()).isTrue();
        assertThat(config.dataDir()).isEqualTo(Path.of("./pulse-data"));
        assertThat(config.leaseDuration()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.webhookSecret()).isNull();
        assertThat(config.agentsDir()).isEqualTo(Path.of("config/agents"));
    }

    @Test
    void theBindAddressIsEveryInterfaceUnlessTheFileOrPulseHttpHostSaysOtherwise()
            throws IOException {
        assertThat(new ConfigLoader(name -> null).load(null).httpHost()).isEqualTo("0.0.0.0");
        Path file = Files.writeString(dir.resolve("pulse.yaml"), "http: {host: 127.0.0.1}\n");
        assertThat(new ConfigLoader(name -> null).load(file).httpHost()).isEqualTo("127.0.0.1");
        assertThat(new ConfigLoader(Map.of("PULSE_HTTP_HOST", "::1")::get).load(file).httpHost())
                .isEqualTo("::1");
    }

    @Test
    void theFileSetsValuesAndEnvironmentVariablesOverrideIt() throws IOException {
        Path file =
                Files.writeString(
                        dir.resolve("pulse.yaml"),
                        """
                http: {port: 9000}
                worker:
                  concurrency: 4
                  lease: 10s
                database:
                  url: postgres://pulse:pw@db:5432/pulse
                """);
        Map<String, String> env = Map.of("PULSE_HTTP_PORT", "9100", "PULSE_LEASE_SECONDS", "2");
        PulseConfig config = new ConfigLoader(env::get).load(file);

        assertThat(config.httpPort()).isEqualTo(9100);
        assertThat(config.workerConcurrency()).isEqualTo(4);
        assertThat(config.leaseDuration()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.databaseUrl()).isEqualTo("postgres://pulse:pw@db:5432/pulse");
        assertThat(config.toString()).doesNotContain("pw");
    }

    @Test
    void everyProblemIsReportedWithItsKeyAndVariable() throws IOException {
        Path file = Files.writeString(dir.resolve("pulse.yaml"), "worker: {concurency: 4}\n");
        Map<String, String> env =
                Map.of(
                        "PULSE_HTTP_PORT",
                        "eighty",
                        "PULSE_WEBHOOK_SECRET",
                        "hunter2",
                        "PULSE_DATABASE_URL",
                        "mysql://db/x",
                        "PULSE_PUBLIC_URL",
                        "https://pulse.example.com/api");

        assertThatThrownBy(() -> new ConfigLoader(env::get).load(file))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.problems()).hasSize(5))
                .hasMessageContaining(
                        "http.public_url (PULSE_PUBLIC_URL): must be the http(s) base URL")
                .hasMessageContaining("worker.concurency: unknown key")
                .hasMessageContaining("http.port (PULSE_HTTP_PORT)")
                .hasMessageContaining(
                        "webhook.secret (PULSE_WEBHOOK_SECRET): webhook secret must start with whsec_")
                .hasMessageContaining("database.url (PULSE_DATABASE_URL)")
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void thePublicUrlIsABaseUrlWithoutTrailingSlash() {
        assertThat(
                        new ConfigLoader(
                                        Map.of("PULSE_PUBLIC_URL", "https://pulse.example.com/")
                                                ::get)
                                .load(null)
                                .publicUrl())
                .hasToString("https://pulse.example.com");
        assertThat(new ConfigLoader(Map.<String, String>of()::get).load(null).publicUrl()).isNull();
    }

    @Test
    void theLogFormatMustBeTextOrJson() {
        assertThat(new ConfigLoader(Map.of("PULSE_LOG_FORMAT", "json")::get).load(null))
                .isNotNull();
        assertThatThrownBy(
                        () -> new ConfigLoader(Map.of("PULSE_LOG_FORMAT", "JSON")::get).load(null))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PULSE_LOG_FORMAT: must be text or json, got 'JSON'");
    }

    @Test
    void theDatabaseTopologyDefaultsToNoPoolerNoReplicaAndA15SecondSocketTimeout() {
        DatabaseTopology topology = new ConfigLoader(name -> null).load(null).databaseTopology();
        assertThat(topology.transactionPooling()).isFalse();
        assertThat(topology.listenUrl()).isNull();
        assertThat(topology.replicaUrl()).isNull();
        assertThat(topology.socketTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(topology.canListen()).isTrue();

        Map<String, String> env =
                Map.of(
                        "PULSE_DATABASE_URL", "postgres://pulse@bouncer:6432/pulse",
                        "PULSE_DATABASE_POOLER", "transaction",
                        "PULSE_DATABASE_REPLICA_URL", "postgres://pulse@replica:5432/pulse",
                        "PULSE_DATABASE_SOCKET_TIMEOUT", "1m");
        topology = new ConfigLoader(env::get).load(null).databaseTopology();
        assertThat(topology.transactionPooling()).isTrue();
        assertThat(topology.canListen()).as("no LISTEN through the pooler").isFalse();
        assertThat(topology.replicaUrl()).isEqualTo("postgres://pulse@replica:5432/pulse");
        assertThat(topology.socketTimeout()).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void badDatabaseTopologyValuesAreReportedWithTheirKeysAndVariables() {
        Map<String, String> env =
                Map.of(
                        "PULSE_DATABASE_POOLER", "statement",
                        "PULSE_DATABASE_LISTEN_URL", "mysql://db/pulse",
                        "PULSE_DATABASE_REPLICA_URL", "postgres://replica/pulse",
                        "PULSE_DATABASE_SOCKET_TIMEOUT", "500ms");
        assertThatThrownBy(() -> new ConfigLoader(env::get).load(null))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e ->
                                assertThat(e.problems())
                                        .anySatisfy(
                                                p ->
                                                        assertThat(p)
                                                                .startsWith(
                                                                        "database.pooler (PULSE_DATABASE_POOLER): must be one of none, transaction"))
                                        .anySatisfy(
                                                p ->
                                                        assertThat(p)
                                                                .startsWith(
                                                                        "database.listen_url (PULSE_DATABASE_LISTEN_URL): database URL must start with"))
                                        .anySatisfy(
                                                p ->
                                                        assertThat(p)
                                                                .startsWith(
                                                                        "database.replica_url (PULSE_DATABASE_REPLICA_URL): needs database.url"))
                                        .anySatisfy(
                                                p ->
                                                        assertThat(p)
                                                                .startsWith(
                                                                        "database.socket_timeout (PULSE_DATABASE_SOCKET_TIMEOUT): must be at least 1s")));
        assertThatThrownBy(
                        () ->
                                new ConfigLoader(
                                                Map.of("PULSE_DATABASE_POOLER", "transaction")::get)
                                        .load(null))
                .hasMessageContaining(
                        "database.pooler (PULSE_DATABASE_POOLER): needs database.url");
    }
}
