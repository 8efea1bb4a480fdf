package dev.pulse.server;

import dev.pulse.workers.config.ConfigException;
import dev.pulse.workers.schedules.CronTicker;
import dev.pulse.workers.schedules.ScheduleFiles;
import dev.pulse.workers.schedules.ScheduleParser;
import java.nio.file.Files;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The scheduler role: applies the schedule files, then fires every schedule's ticks. */
final class SchedulerRole {

    private static final Logger log = LoggerFactory.getLogger(SchedulerRole.class);

    private SchedulerRole() {}

    /**
     * Starts the role; returns what tells it a schedule changed (so the change applies at once).
     */
    static Runnable start(NodeCore core, ScheduleParser parser) {
        applyScheduleFiles(core, parser);
        CronTicker ticker =
                core.parts.start(new CronTicker(core.schedules, core.firer, Duration.ofSeconds(2)));
        return ticker::changed;
    }

    private static void applyScheduleFiles(NodeCore core, ScheduleParser parser) {
        if (!Files.exists(core.config.schedulesDir())) {
            return;
        }
        ScheduleFiles.Loaded loaded = new ScheduleFiles(parser).load(core.config.schedulesDir());
        if (!loaded.problems().isEmpty()) {
            throw new ConfigException(loaded.problems());
        }
        var counts = ScheduleFiles.apply(loaded.schedules(), core.schedules);
        log.info("schedule files in {}: {}", core.config.schedulesDir(), counts);
    }
}
