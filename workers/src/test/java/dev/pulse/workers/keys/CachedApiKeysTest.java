package dev.pulse.workers.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes' key caches on one database: a key is looked up once, then served from memory; revoked
 * elsewhere (as {@code pulse keys revoke} does), it is refused by both at once, by notification:
 * the caches' time to live is an hour here, so nothing else could make them forget it.
 */
class CachedApiKeysTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private DatabaseUrl url;
    private Database database;
    private ApiKeyStore store;

    @BeforeEach
    void start() {
        url = TestDatabase.create();
        database = Database.connect(url, 4);
        database.migrate();
        store = new ApiKeyStore(database.jdbi(), new SecureRandom());
    }

    @AfterEach
    void stop() {
        database.close();
    }

    @Test
    void aKeyRevokedOnAnotherNodeIsRefusedByEveryNodesCache() throws Exception {
        String key = store.create("client", EnumSet.of(Scope.TASKS_WRITE));
        try (CachedApiKeys nodeA =
                        new CachedApiKeys(
                                store, url, ConnectionSettings.defaults(), Duration.ofHours(1));
                CachedApiKeys nodeB =
                        new CachedApiKeys(
                                store, url, ConnectionSettings.defaults(), Duration.ofHours(1))) {
            nodeA.start();
            nodeB.start();
            waitFor(() -> nodeA.status().succeeded() > 0 && nodeB.status().succeeded() > 0);

            assertThat(nodeB.authenticate(key)).isPresent();
            assertThat(nodeA.authenticate(key)).isPresent();
            long looked = nodeB.lookups();
            assertThat(nodeB.authenticate(key)).isPresent();
            assertThat(nodeB.lookups()).as("served from the cache").isEqualTo(looked);

            assertThat(new ApiKeyStore(database.jdbi(), new SecureRandom()).revoke("client"))
                    .isTrue();

            waitFor(() -> nodeB.authenticate(key).isEmpty());
            waitFor(() -> nodeA.authenticate(key).isEmpty());
            // Refused from then on, not just once.
            assertThat(nodeB.authenticate(key)).isEmpty();
            assertThat(nodeA.authenticate(key)).isEmpty();
        }
    }

    @Test
    void aDeletedKeyIsForgottenToo() throws Exception {
        String key = store.create("short-lived", EnumSet.of(Scope.ADMIN));
        try (CachedApiKeys node =
                new CachedApiKeys(store, url, ConnectionSettings.defaults(), Duration.ofHours(1))) {
            node.start();
            waitFor(() -> node.status().succeeded() > 0);
            assertThat(node.authenticate(key)).isPresent();
            assertThat(store.delete("short-lived")).isTrue();
            waitFor(() -> node.authenticate(key).isEmpty());
        }
    }

    @Test
    void withoutItsListenerNothingIsCachedAndEveryKeyIsLookedUp() {
        String key = store.create("polled", EnumSet.of(Scope.ADMIN));
        try (CachedApiKeys node =
                new CachedApiKeys(store, url, ConnectionSettings.defaults(), Duration.ofHours(1))) {
            assertThat(node.authenticate(key)).isPresent();
            assertThat(node.authenticate(key)).isPresent();
            assertThat(node.lookups()).isEqualTo(2);
            store.revoke("polled");
            assertThat(node.authenticate(key)).isEmpty();
        }
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() < deadline).as("condition met within %s", WAIT).isTrue();
            Thread.sleep(10);
        }
    }
}
