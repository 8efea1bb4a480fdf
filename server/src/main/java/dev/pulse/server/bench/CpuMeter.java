package dev.pulse.server.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * CPU time spent by this process and by the embedded database, for per-task figures: on a shared
 * machine wall-clock throughput swings with the neighbours' load, CPU per task much less.
 *
 * <p>The database's time is its postmaster's (with the backends it has reaped) plus its live
 * backends', from {@code /proc}; it is known only for the embedded database on Linux.
 */
final class CpuMeter {

    /** Linux's USER_HZ, the unit of /proc/[pid]/stat times, on every platform Java runs on. */
    private static final double TICKS_PER_SECOND = 100;

    private final Long postmaster;

    /**
     * @param postmaster the embedded database's postmaster process id, or null when there is none
     *     to watch
     */
    CpuMeter(Long postmaster) {
        this.postmaster = postmaster;
    }

    /** A reading: CPU seconds of the node and of the database (negative when unknown). */
    record Reading(double nodeSeconds, double databaseSeconds) {}

    Reading read() {
        return new Reading(nodeSeconds(), postmaster == null ? -1 : databaseSeconds(postmaster));
    }

    private static double nodeSeconds() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os) {
            return os.getProcessCpuTime() / 1e9;
        }
        return -1;
    }

    private static double databaseSeconds(long postmaster) {
        Optional<long[]> own = stat(postmaster);
        if (own.isEmpty()) {
            return -1;
        }
        long ticks = own.get()[0] + own.get()[1] + own.get()[2] + own.get()[3];
        for (ProcessHandle child :
                ProcessHandle.of(postmaster).map(p -> p.children().toList()).orElse(List.of())) {
            ticks += stat(child.pid()).map(t -> t[0] + t[1]).orElse(0L);
        }
        return ticks / TICKS_PER_SECOND;
    }

    /**
     * utime, stime, cutime, cstime of a process, in ticks; empty where /proc has no such process.
     */
    private static Optional<long[]> stat(long pid) {
        try {
            String line = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // The command name (field 2) may hold spaces; the fields after it start past its ')'.
            String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
            return Optional.of(
                    new long[] {
                        Long.parseLong(fields[11]),
                        Long.parseLong(fields[12]),
                        Long.parseLong(fields[13]),
                        Long.parseLong(fields[14])
                    });
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The postmaster's pid from the first line of {@code postmaster.pid} in a data directory, if it
     * is there.
     */
    static Long postmasterOf(Path dataDirectory) {
        try {
            return Long.parseLong(
                    Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
