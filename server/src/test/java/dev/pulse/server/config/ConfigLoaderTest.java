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
}
