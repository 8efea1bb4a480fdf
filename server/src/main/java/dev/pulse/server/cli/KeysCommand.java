package dev.pulse.server.cli;

import dev.pulse.workers.keys.ApiKey;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "keys",
        mixinStandardHelpOptions = true,
        description = "Manage API keys (stored hashed; shown once).",
        subcommands = {
            KeysCommand.Create.class,
            KeysCommand.ListKeys.class,
            KeysCommand.Revoke.class
        })
final class KeysCommand implements Runnable {

    @Override
    public void run() {
        System.out.println(
                "usage: pulse keys create --name NAME --scopes SCOPES | pulse keys list | pulse keys revoke NAME");
    }

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Create a key and print it alone on stdout; it can't be shown again.")
    static final class Create implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Option(names = "--name", required = true, description = "a unique name for the key")
        String name;

        @Option(
                names = "--scopes",
                required = true,
                split = ",",
                description =
                        "comma-separated: tasks:read, tasks:write, tasks:complete, tasks:work, schedules:read, schedules:write, agents:read, metrics:read, admin")
        List<String> scopes;

        @Override
        public Integer call() throws Exception {
            Set<Scope> parsed = EnumSet.noneOf(Scope.class);
            for (String s : scopes) {
                var scope = Scope.fromWire(s);
                if (scope.isEmpty()) {
                    System.err.println(
                            "pulse: unknown scope '"
                                    + s
                                    + "'; use any of "
                                    + Arrays.stream(Scope.values())
                                            .map(Scope::wire)
                                            .collect(Collectors.joining(", ")));
                    return 2;
                }
                parsed.add(scope.get());
            }
            return config.onDatabase(
                    database -> {
                        ApiKeyStore keys = new ApiKeyStore(database.jdbi(), new SecureRandom());
                        if (keys.list().stream().anyMatch(k -> k.name().equals(name))) {
                            System.err.println(
                                    "pulse: a key named '"
                                            + name
                                            + "' exists; pick another name or revoke it first");
                            return 2;
                        }
                        System.out.println(keys.create(name, parsed));
                        return 0;
                    });
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List keys (never their secrets).")
    static final class ListKeys implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Override
        public Integer call() throws Exception {
            return config.onDatabase(
                    database -> {
                        System.out.printf(
                                "%-24s %-14s %-40s %-27s %-27s %s%n",
                                "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED");
                        for (ApiKey k :
                                new ApiKeyStore(database.jdbi(), new SecureRandom()).list()) {
                            System.out.printf(
                                    "%-24s %-14s %-40s %-27s %-27s %s%n",
                                    k.name(),
                                    k.prefix() + "…",
                                    k.scopes().stream()
                                            .map(Scope::wire)
                                            .collect(Collectors.joining(",")),
                                    k.createdAt(),
                                    k.lastUsedAt() == null ? "-" : k.lastUsedAt(),
                                    k.revokedAt() == null ? "-" : k.revokedAt());
                        }
                        return 0;
                    });
        }
    }

    @Command(
            name = "revoke",
            mixinStandardHelpOptions = true,
            description = "Revoke a key by name; it stops working at once.")
    static final class Revoke implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            return config.onDatabase(
                    database -> {
                        if (new ApiKeyStore(database.jdbi(), new SecureRandom()).revoke(name)) {
                            System.out.println("revoked " + name);
                            return 0;
                        }
                        System.err.println(
                                "pulse: no live key named '"
                                        + name
                                        + "' (pulse keys list shows them)");
                        return 1;
                    });
        }
    }
}
