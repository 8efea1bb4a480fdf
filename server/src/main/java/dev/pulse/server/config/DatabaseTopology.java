package dev.pulse.server.config;

import java.time.Duration;

/**
 * What stands around the primary database: a pooler, a direct address for LISTEN (and migrations)
 * past it, a read replica; and how long a statement may wait on a silent server.
 * docs/configuration.md and docs/deployment.md describe each.
 *
 * @param listenUrl a direct connection to the primary for LISTEN and migrations, or null
 * @param replicaUrl a read replica for lists, dashboard figures and metrics, or null
 * @param transactionPooling {@code database.pooler=transaction}: a PgBouncer in transaction pooling
 *     mode sits between this node and PostgreSQL
 * @param socketTimeout the longest any statement may wait for the server
 */
public record DatabaseTopology(
        String listenUrl, String replicaUrl, boolean transactionPooling, Duration socketTimeout) {

    /**
     * Whether workers learn of other nodes' tasks by LISTEN: never through a transaction pooler
     * itself, only over the direct connection.
     */
    public boolean canListen() {
        return !transactionPooling || listenUrl != null;
    }
}
