package dev.pulse.workers.schedules;

import dev.pulse.workers.timing.WakeUp;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TimeZone;
import javax.sql.DataSource;
import org.quartz.CronScheduleBuilder;
import org.quartz.CronTrigger;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.quartz.impl.StdSchedulerFactory;
import org.quartz.impl.matchers.GroupMatcher;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduler role: a Quartz scheduler on the clustered JDBC job store in Pulse's database,
 * used only to compute and fire cron ticks (each tick goes to {@link ScheduleFirer}). The
 * {@code schedules} table is the truth; a sync loop keeps Quartz's triggers in line with it
 * (within {@code syncInterval}, or at once when {@link #changed()} is signalled), releases ticks
 * held behind running tasks, and recovers ticks missed while no scheduler ran.
 */
public final class CronTicker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CronTicker.class);
    static final String GROUP = "pulse-schedules";
    /** Quartz fires a late tick itself up to this late; older missed ticks follow the misfire policy. */
    static final Duration MISFIRE_THRESHOLD = Duration.ofSeconds(60);

    private final ScheduleStore store;
    private final ScheduleFirer firer;
    private final Duration syncInterval;
    private final Scheduler quartz;
    private final WakeUp syncNow = new WakeUp();
    private final Thread syncLoop;
    private volatile boolean running = true;
    private String syncedVersion = "";

    public CronTicker(DataSource dataSource, String nodeId, ScheduleStore store, ScheduleFirer firer, Duration syncInterval) {
        this.store = store;
        this.firer = firer;
        this.syncInterval = syncInterval;
        this.quartz = createScheduler(dataSource, nodeId);
        this.syncLoop = new Thread(this::syncLoop, "pulse-schedule-sync");
    }

    private Scheduler createScheduler(DataSource dataSource, String nodeId) {
        String dataSourceName = "pulse-" + nodeId;
        try {
            DBConnectionManager.getInstance().addConnectionProvider(dataSourceName, new PoolProvider(dataSource));
            Properties p = new Properties();
            p.setProperty("org.quartz.scheduler.instanceName", "pulse");
            p.setProperty("org.quartz.scheduler.instanceId", nodeId);
            p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
            p.setProperty("org.quartz.threadPool.threadCount", "4");
            p.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
            p.setProperty("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
            p.setProperty("org.quartz.jobStore.dataSource", dataSourceName);
            p.setProperty("org.quartz.jobStore.tablePrefix", "qrtz_");
            p.setProperty("org.quartz.jobStore.isClustered", "true");
            p.setProperty("org.quartz.jobStore.clusterCheckinInterval", "5000");
            p.setProperty("org.quartz.jobStore.misfireThreshold", Long.toString(MISFIRE_THRESHOLD.toMillis()));
            StdSchedulerFactory factory = new StdSchedulerFactory(p);
            Scheduler scheduler = factory.getScheduler();
            scheduler.setJobFactory((bundle, s) -> new FireTick(firer));
            return scheduler;
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot create the Quartz scheduler: " + e.getMessage(), e);
        }
    }

    public void start() {
        try {
            sync();
            quartz.start();
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot start the Quartz scheduler: " + e.getMessage(), e);
        }
        syncLoop.start();
    }

    /** Tells the sync loop a schedule changed, so the change takes effect now rather than at the next sync. */
    public void changed() {
        syncNow.signal();
    }

    private void syncLoop() {
        while (running) {
            try {
                syncNow.await(syncInterval);
                if (!running) {
                    return;
                }
                sync();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | SchedulerException e) {
                log.warn("schedule sync failed; retrying in {}: {}", syncInterval, e.getMessage());
            }
        }
    }

    /** One round: triggers in line with the table, held ticks released, missed ticks recovered. */
    void sync() throws SchedulerException {
        String version = store.version();
        if (!version.equals(syncedVersion)) {
            reconcile(store.list());
            syncedVersion = version;
        }
        firer.releaseWaiting();
        int recovered = firer.recoverMissedTicks(MISFIRE_THRESHOLD);
        if (recovered > 0) {
            log.info("fired {} missed schedule tick(s) per their misfire policy", recovered);
        }
    }

    private void reconcile(List<Schedule> schedules) throws SchedulerException {
        Set<JobKey> stale = new HashSet<>(quartz.getJobKeys(GroupMatcher.jobGroupEquals(GROUP)));
        for (Schedule schedule : schedules) {
            JobKey job = JobKey.jobKey(schedule.name(), GROUP);
            stale.remove(job);
            if (!schedule.definition().enabled()) {
                quartz.deleteJob(job);
                continue;
            }
            Trigger current = quartz.getTrigger(TriggerKey.triggerKey(schedule.name(), GROUP));
            if (current instanceof CronTrigger cron && cron.getCronExpression().equals(schedule.cron().quartz())
                    && cron.getTimeZone().getID().equals(schedule.timezone().getId())) {
                continue;
            }
            JobDetail detail = JobBuilder.newJob(FireTick.class).withIdentity(job).build();
            Trigger trigger = TriggerBuilder.newTrigger()
                    .withIdentity(TriggerKey.triggerKey(schedule.name(), GROUP))
                    .forJob(job)
                    .withSchedule(CronScheduleBuilder.cronSchedule(schedule.cron().quartz())
                            .inTimeZone(TimeZone.getTimeZone(schedule.timezone()))
                            .withMisfireHandlingInstructionDoNothing())
                    .build();
            quartz.scheduleJob(detail, Set.of(trigger), true);
            log.info("schedule {} fires on \"{}\" in {}", schedule.name(), schedule.cron().original(), schedule.timezone());
        }
        for (JobKey job : stale) {
            quartz.deleteJob(job);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        syncNow.signal();
        syncLoop.join(5_000);
        try {
            quartz.shutdown(true);
        } catch (SchedulerException e) {
            log.warn("Quartz did not shut down cleanly: {}", e.getMessage());
        }
    }

    /** The Quartz job of every schedule: hand the tick to the firer. */
    static final class FireTick implements Job {
        private final ScheduleFirer firer;

        FireTick(ScheduleFirer firer) {
            this.firer = firer;
        }

        @Override
        public void execute(org.quartz.JobExecutionContext context) {
            String name = context.getJobDetail().getKey().getName();
            Instant tick = context.getScheduledFireTime().toInstant();
            ScheduleFirer.Fired fired = firer.fire(name, tick);
            log.debug("schedule {} tick {}: {}", name, tick, fired.outcome());
        }
    }

    /** Lends Pulse's connection pool to Quartz. */
    private record PoolProvider(DataSource dataSource) implements ConnectionProvider {
        @Override
        public Connection getConnection() throws SQLException {
            return dataSource.getConnection();
        }

        @Override
        public void shutdown() {
            // the pool belongs to Pulse and is closed by it
        }

        @Override
        public void initialize() {
            // nothing to set up
        }
    }
}
