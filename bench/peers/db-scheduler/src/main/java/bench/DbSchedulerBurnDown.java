package bench;

import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Burn-down of N no-op one-time tasks on db-scheduler, measured as Pulse's bench measures: the
 * scheduler is running and the clock started before the first task is scheduled; the clock
 * stops when every task has run and its row is gone (db-scheduler deletes a finished one-time
 * task). Usage: DbSchedulerBurnDown JDBC_URL TASKS. Prints the line format of the other runners.
 */
public final class DbSchedulerBurnDown {

    /** The table definition db-scheduler documents for PostgreSQL (16.x, with priority). */
    private static final String[] SCHEMA = {
        "create table scheduled_tasks (task_name text not null, task_instance text not null,"
                + " task_data bytea, execution_time timestamp with time zone not null,"
                + " picked boolean not null, picked_by text,"
                + " last_success timestamp with time zone, last_failure timestamp with time zone,"
                + " consecutive_failures int, last_heartbeat timestamp with time zone,"
                + " version bigint not null, priority smallint,"
                + " primary key (task_name, task_instance))",
        "create index execution_time_idx on scheduled_tasks (execution_time)",
        "create index last_heartbeat_idx on scheduled_tasks (last_heartbeat)",
        "create index priority_execution_time_idx on scheduled_tasks (priority desc, execution_time asc)"
    };

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int tasks = Integer.parseInt(args[1]);
        int threads = 32;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        // One connection per executing thread plus the scheduler's own (polling, heartbeats)
        // and the enqueuer's.
        config.setMaximumPoolSize(threads + 4);
        try (HikariDataSource db = new HikariDataSource(config)) {
            try (Connection c = db.getConnection();
                    Statement s = c.createStatement()) {
                for (String ddl : SCHEMA) {
                    s.execute(ddl);
                }
            }
            AtomicLong ran = new AtomicLong();
            OneTimeTask<Void> noop =
                    Tasks.oneTime("noop").execute((instance, context) -> ran.incrementAndGet());
            // The maintainers' high-throughput setup for PostgreSQL: lock-and-fetch polling
            // (select ... for update skip locked), refilling when half the threads are idle.
            Scheduler scheduler =
                    Scheduler.create(db, noop)
                            .threads(threads)
                            .pollUsingLockAndFetch(0.5, 1.0)
                            .pollingInterval(Duration.ofMillis(500))
                            .enableImmediateExecution()
                            .build();
            scheduler.start();
            Thread.sleep(1000);
            System.out.println("ready");
            long start = System.nanoTime();
            System.out.println("clock: start");
            SchedulerClient client = scheduler;
            Instant now = Instant.now();
            for (int from = 0; from < tasks; from += 1000) {
                List<TaskInstance<?>> batch = new ArrayList<>(1000);
                for (int i = from; i < Math.min(tasks, from + 1000); i++) {
                    batch.add(noop.instance("t" + i));
                }
                client.scheduleBatch(batch, now);
            }
            double enqueue = (System.nanoTime() - start) / 1e9;
            System.out.printf("enqueue: %d tasks in %.2f s = %.0f tasks/s%n", tasks, enqueue, tasks / enqueue);
            while (ran.get() < tasks || anyLeft(db)) {
                Thread.sleep(ran.get() < tasks ? 10 : 2);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("burn-down: %d tasks in %.2f s = %.0f tasks/s%n", tasks, seconds, tasks / seconds);
            scheduler.stop();
        }
        System.exit(0);
    }

    private static boolean anyLeft(HikariDataSource db) throws Exception {
        try (Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet r = s.executeQuery("select exists (select 1 from scheduled_tasks)")) {
            r.next();
            return r.getBoolean(1);
        }
    }
}
