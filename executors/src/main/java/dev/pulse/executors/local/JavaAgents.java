package dev.pulse.executors.local;

import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LocalSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The in-JVM agents found with {@link ServiceLoader}: on the class path (the built-ins) and in the
 * jars of a plugins directory.
 */
public final class JavaAgents {

    private final Map<String, JavaAgent> byName = new TreeMap<>();

    public JavaAgents(List<JavaAgent> agents) {
        for (JavaAgent agent : agents) {
            if (byName.putIfAbsent(agent.name(), agent) != null) {
                throw new IllegalStateException(
                        "two in-JVM agents are named '" + agent.name() + "'");
            }
        }
    }

    public static JavaAgents discover() {
        return new JavaAgents(load(JavaAgents.class.getClassLoader()));
    }

    /**
     * The built-ins plus the agents of every {@code *.jar} in {@code pluginsDir} (absent: none).
     * Each jar lists its agents in {@code META-INF/services/dev.pulse.executors.local.JavaAgent}.
     */
    public static JavaAgents discover(Path pluginsDir) {
        List<URL> jars = new ArrayList<>();
        if (Files.isDirectory(pluginsDir)) {
            try (Stream<Path> files = Files.list(pluginsDir)) {
                for (Path jar :
                        files.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) {
                    jars.add(jar.toUri().toURL());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(
                        "cannot read the plugins directory " + pluginsDir, e);
            }
        }
        if (jars.isEmpty()) {
            return discover();
        }
        // The loader lives as long as the agents it loaded, i.e. the process.
        URLClassLoader plugins =
                new URLClassLoader(
                        "pulse-plugins",
                        jars.toArray(URL[]::new),
                        JavaAgents.class.getClassLoader());
        return new JavaAgents(load(plugins));
    }

    private static List<JavaAgent> load(ClassLoader loader) {
        return ServiceLoader.load(JavaAgent.class, loader).stream()
                .map(ServiceLoader.Provider::get)
                .toList();
    }

    public Optional<JavaAgent> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Each in-JVM agent as an agent definition run by the local executor with default settings. */
    public List<AgentDefinition> definitions() {
        return byName.keySet().stream()
                .map(
                        name ->
                                AgentDefinition.withDefaults(
                                        name,
                                        LocalExecutor.KIND,
                                        LocalSpec.inJvm(name),
                                        "built-in"))
                .toList();
    }
}
