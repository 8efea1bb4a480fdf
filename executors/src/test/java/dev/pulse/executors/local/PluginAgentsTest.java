package dev.pulse.executors.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LocalSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * In-JVM agents from jars in a plugins directory, found with ServiceLoader next to the built-ins.
 */
class PluginAgentsTest {

    @TempDir Path work;

    @Test
    void anAgentInAPluginJarIsDiscoveredAndRuns() throws Exception {
        Path plugins = Files.createDirectories(work.resolve("plugins"));
        buildPluginJar(plugins.resolve("shout.jar"));

        JavaAgents agents = JavaAgents.discover(plugins);

        assertThat(agents.definitions())
                .extracting(AgentDefinition::name)
                .contains("echo", "sleep", "shout");
        ObjectMapper json = new ObjectMapper();
        try (LocalExecutor executor =
                new LocalExecutor(agents, json, Map.<String, String>of()::get)) {
            ExecutionResult result =
                    executor.execute(
                            new ExecutionRequest(
                                    UUID.randomUUID(),
                                    1,
                                    UUID.randomUUID(),
                                    AgentDefinition.withDefaults(
                                            "shout",
                                            LocalExecutor.KIND,
                                            LocalSpec.inJvm("shout"),
                                            "plugin"),
                                    json.readTree("{\"text\": \"hello\"}"),
                                    Duration.ofSeconds(60)));
            assertThat(result.output().asText()).isEqualTo("HELLO");
        }
    }

    @Test
    void aMissingPluginsDirectoryMeansBuiltInsOnly() {
        assertThat(JavaAgents.discover(work.resolve("absent")).definitions())
                .extracting(AgentDefinition::name)
                .containsExactly("echo", "sleep");
    }

    /**
     * Compiles a tiny agent against this test's class path and packs it the way a plugin author
     * would.
     */
    private void buildPluginJar(Path jar) throws Exception {
        Path src = Files.createDirectories(work.resolve("src/demo"));
        Files.writeString(
                src.resolve("ShoutAgent.java"),
                """
                package demo;
                import com.fasterxml.jackson.databind.JsonNode;
                import com.fasterxml.jackson.databind.node.TextNode;
                public class ShoutAgent implements dev.pulse.executors.local.JavaAgent {
                    public String name() { return "shout"; }
                    public JsonNode run(JsonNode input) { return TextNode.valueOf(input.path("text").asText().toUpperCase()); }
                }
                """);
        Path classes = Files.createDirectories(work.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int status =
                javac.run(
                        null,
                        null,
                        null,
                        "-d",
                        classes.toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        src.resolve("ShoutAgent.java").toString());
        assertThat(status).as("the test plugin compiles").isZero();
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("demo/ShoutAgent.class"));
            out.write(Files.readAllBytes(classes.resolve("demo/ShoutAgent.class")));
            out.putNextEntry(new JarEntry("META-INF/services/" + JavaAgent.class.getName()));
            out.write("demo.ShoutAgent\n".getBytes(StandardCharsets.UTF_8));
        }
    }
}
