package dev.pulse.workers.schedules;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;

/** Stored schedules: what the API and schedule files change, and what the schedulers read. */
public final class ScheduleStore {

    public enum Change {
        CREATED,
        UPDATED,
        UNCHANGED
    }

    public record Saved(Schedule schedule, Change change) {}

    /** A tick as recorded: when, what became of it, and the task it produced. */
    public record Fire(Instant fireTime, String outcome, UUID taskId, String taskState) {}

    // A change to when or whether it fires restarts its tick accounting from now, so editing a
    // schedule never "catches up" ticks of its old form; a change to its timing also restarts its
    // ticks (ticks_from). Writing the same values changes nothing.
    private static final String UPSERT =
            """
            INSERT INTO schedules AS s (id, name, cron, quartz_cron, every, every_ms, timezone, agent, input, metadata,
                                        callback_url, misfire, catch_up_max, overlap, enabled, dst_gap, dst_repeat,
                                        start_at, until, times, ticks_from)
            VALUES (:id, :name, :cron, :quartz_cron, :every, CAST(:every_ms AS bigint), :timezone, :agent, CAST(:input AS jsonb),
                    CAST(:metadata AS jsonb), :callback_url, :misfire, :catch_up_max, :overlap, :enabled, :dst_gap,
                    :dst_repeat, CAST(:start_at AS timestamptz), CAST(:until AS timestamptz), CAST(:times AS integer),
                    coalesce(CAST(:start_at AS timestamptz),
                             date_trunc('second', now()) + coalesce(CAST(:every_ms AS bigint), 0) * interval '1 millisecond'))
            ON CONFLICT (name) DO UPDATE
               SET cron = EXCLUDED.cron, quartz_cron = EXCLUDED.quartz_cron, every = EXCLUDED.every,
                   every_ms = EXCLUDED.every_ms, timezone = EXCLUDED.timezone,
                   agent = EXCLUDED.agent, input = EXCLUDED.input, metadata = EXCLUDED.metadata,
                   callback_url = EXCLUDED.callback_url, misfire = EXCLUDED.misfire,
                   catch_up_max = EXCLUDED.catch_up_max, overlap = EXCLUDED.overlap, enabled = EXCLUDED.enabled,
                   dst_gap = EXCLUDED.dst_gap, dst_repeat = EXCLUDED.dst_repeat,
                   start_at = EXCLUDED.start_at, until = EXCLUDED.until, times = EXCLUDED.times,
                   ticks_from = CASE WHEN (s.cron, s.every, s.start_at)
                                          IS DISTINCT FROM (EXCLUDED.cron, EXCLUDED.every, EXCLUDED.start_at)
                                     THEN EXCLUDED.ticks_from ELSE s.ticks_from END,
                   fired_through = CASE WHEN (s.cron, s.every, s.timezone, s.enabled, s.dst_gap, s.dst_repeat,
                                              s.start_at, s.until, s.times)
                                             IS DISTINCT FROM (EXCLUDED.cron, EXCLUDED.every, EXCLUDED.timezone,
                                                               EXCLUDED.enabled, EXCLUDED.dst_gap, EXCLUDED.dst_repeat,
                                                               EXCLUDED.start_at, EXCLUDED.until, EXCLUDED.times)
                                        THEN now() ELSE s.fired_through END,
                   updated_at = now()
             WHERE (s.cron, s.quartz_cron, s.every, s.timezone, s.agent, s.input, s.metadata, s.callback_url,
                    s.misfire, s.catch_up_max, s.overlap, s.enabled, s.dst_gap, s.dst_repeat,
                    s.start_at, s.until, s.times)
                   IS DISTINCT FROM
                   (EXCLUDED.cron, EXCLUDED.quartz_cron, EXCLUDED.every, EXCLUDED.timezone, EXCLUDED.agent,
                    EXCLUDED.input, EXCLUDED.metadata, EXCLUDED.callback_url, EXCLUDED.misfire, EXCLUDED.catch_up_max,
                    EXCLUDED.overlap, EXCLUDED.enabled, EXCLUDED.dst_gap, EXCLUDED.dst_repeat,
                    EXCLUDED.start_at, EXCLUDED.until, EXCLUDED.times)
            RETURNING *, (xmax = 0) AS inserted
            """;

    private static final String FIND = "SELECT * FROM schedules WHERE name = :name";
    private static final String LIST = "SELECT * FROM schedules ORDER BY name";
    private static final String DELETE = "DELETE FROM schedules WHERE name = :name";

    private static final String SET_ENABLED =
            """
            UPDATE schedules
               SET enabled = :enabled, updated_at = now(),
                   fired_through = CASE WHEN enabled <> :enabled THEN now() ELSE fired_through END
             WHERE name = :name
            RETURNING *
            """;

    private static final String RECENT_FIRES =
            """
            SELECT f.fire_time, f.outcome, f.task_id, t.state AS task_state
              FROM schedule_fires f
              JOIN schedules s ON s.id = f.schedule_id
              LEFT JOIN tasks t ON t.id = f.task_id
             WHERE s.name = :name
             ORDER BY f.fire_time DESC
             LIMIT :limit
            """;

    /** The latest fires of every schedule at once (the dashboard lists them all). */
    private static final String RECENT_FIRES_OF_ALL =
            """
            SELECT s.name, f.fire_time, f.outcome, f.task_id, t.state AS task_state
              FROM schedules s
             CROSS JOIN LATERAL (SELECT * FROM schedule_fires sf
                                  WHERE sf.schedule_id = s.id
                                  ORDER BY sf.fire_time DESC
                                  LIMIT :limit) f
              LEFT JOIN tasks t ON t.id = f.task_id
             ORDER BY s.name, f.fire_time DESC
            """;

    /**
     * Changes whenever anything that decides firing changes; schedulers compare it to know when to
     * resync.
     */
    private static final String VERSION =
            """
            SELECT coalesce(md5(string_agg(concat_ws('|', name, cron, every, timezone, enabled, dst_gap, dst_repeat,
                                                     ticks_from, until, times),
                                      ',' ORDER BY name)), '')
              FROM schedules
            """;

    private final Jdbi jdbi;
    private final ObjectMapper json;
    private final Supplier<UUID> ids;

    public ScheduleStore(Jdbi jdbi, ObjectMapper json, Supplier<UUID> ids) {
        this.jdbi = jdbi;
        this.json = json;
        this.ids = ids;
    }

    public Saved save(ScheduleDefinition d) {
        return jdbi.inTransaction(
                h -> {
                    Optional<Saved> written =
                            h.createQuery(UPSERT)
                                    .bind("id", ids.get())
                                    .bind("name", d.name())
                                    .bind("cron", d.cron() == null ? null : d.cron().original())
                                    .bind(
                                            "quartz_cron",
                                            d.cron() == null ? null : d.cron().quartz())
                                    .bind("every", d.every() == null ? null : d.every().original())
                                    .bind(
                                            "every_ms",
                                            d.every() == null
                                                    ? null
                                                    : d.every().period().toMillis())
                                    .bind("start_at", timestamp(d.bounds().startAt()))
                                    .bind("until", timestamp(d.bounds().until()))
                                    .bind("times", d.bounds().times())
                                    .bind("timezone", d.timezone().getId())
                                    .bind("agent", d.agent())
                                    .bind("input", write(d.input()))
                                    .bind("metadata", write(d.metadata()))
                                    .bind("callback_url", d.callbackUrl())
                                    .bind("misfire", ScheduleDefinition.wire(d.misfire()))
                                    .bind("catch_up_max", d.catchUpMax())
                                    .bind("overlap", ScheduleDefinition.wire(d.overlap()))
                                    .bind("enabled", d.enabled())
                                    .bind("dst_gap", DstPolicy.wire(d.dst().gap()))
                                    .bind("dst_repeat", DstPolicy.wire(d.dst().repeat()))
                                    .map(
                                            (rs, ctx) ->
                                                    new Saved(
                                                            map(rs),
                                                            rs.getBoolean("inserted")
                                                                    ? Change.CREATED
                                                                    : Change.UPDATED))
                                    .findOne();
                    return written.orElseGet(
                            () ->
                                    new Saved(
                                            h.createQuery(FIND)
                                                    .bind("name", d.name())
                                                    .map((rs, ctx) -> map(rs))
                                                    .one(),
                                            Change.UNCHANGED));
                });
    }

    public Optional<Schedule> find(String name) {
        return jdbi.withHandle(
                h -> h.createQuery(FIND).bind("name", name).map((rs, ctx) -> map(rs)).findOne());
    }

    public List<Schedule> list() {
        return jdbi.withHandle(h -> h.createQuery(LIST).map((rs, ctx) -> map(rs)).list());
    }

    public boolean delete(String name) {
        return jdbi.withHandle(h -> h.createUpdate(DELETE).bind("name", name).execute()) > 0;
    }

    /**
     * Pauses or resumes; resuming starts tick accounting afresh, so ticks missed while paused never
     * run.
     */
    public Optional<Schedule> setEnabled(String name, boolean enabled) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(SET_ENABLED)
                                .bind("name", name)
                                .bind("enabled", enabled)
                                .map((rs, ctx) -> map(rs))
                                .findOne());
    }

    public List<Fire> recentFires(String name, int limit) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(RECENT_FIRES)
                                .bind("name", name)
                                .bind("limit", limit)
                                .map((rs, ctx) -> fire(rs))
                                .list());
    }

    /**
     * The latest {@code limit} fires of each schedule, newest first, by schedule name; schedules
     * never fired are absent.
     */
    public Map<String, List<Fire>> recentFiresOfAll(int limit) {
        Map<String, List<Fire>> fires = new HashMap<>();
        jdbi.useHandle(
                h ->
                        h.createQuery(RECENT_FIRES_OF_ALL)
                                .bind("limit", limit)
                                .map((rs, ctx) -> Map.entry(rs.getString("name"), fire(rs)))
                                .forEach(
                                        e ->
                                                fires.computeIfAbsent(
                                                                e.getKey(), k -> new ArrayList<>())
                                                        .add(e.getValue())));
        return fires;
    }

    private static Fire fire(ResultSet rs) throws SQLException {
        return new Fire(
                Columns.instant(rs, "fire_time"),
                rs.getString("outcome"),
                rs.getObject("task_id", UUID.class),
                rs.getString("task_state"));
    }

    public String version() {
        return jdbi.withHandle(h -> h.createQuery(VERSION).mapTo(String.class).one());
    }

    Schedule map(ResultSet rs) throws SQLException {
        ScheduleDefinition definition =
                new ScheduleDefinition(
                        rs.getString("name"),
                        rs.getString("cron") == null ? null : CronSpec.parse(rs.getString("cron")),
                        ZoneId.of(rs.getString("timezone")),
                        rs.getString("agent"),
                        read(rs.getString("input")),
                        read(rs.getString("metadata")),
                        rs.getString("callback_url"),
                        Misfire.valueOf(rs.getString("misfire").toUpperCase(Locale.ROOT)),
                        rs.getInt("catch_up_max"),
                        Overlap.valueOf(rs.getString("overlap").toUpperCase(Locale.ROOT)),
                        rs.getBoolean("enabled"),
                        new DstPolicy(
                                DstPolicy.parse(DstPolicy.Gap.class, rs.getString("dst_gap")),
                                DstPolicy.parse(
                                        DstPolicy.Repeat.class, rs.getString("dst_repeat"))),
                        rs.getString("every") == null
                                ? null
                                : Interval.parse(rs.getString("every")),
                        new Bounds(
                                Columns.instant(rs, "start_at"),
                                Columns.instant(rs, "until"),
                                rs.getObject("times", Integer.class)));
        return new Schedule(
                rs.getObject("id", UUID.class),
                definition,
                Columns.instant(rs, "fired_through"),
                Columns.instant(rs, "ticks_from"),
                Columns.instant(rs, "created_at"),
                Columns.instant(rs, "updated_at"));
    }

    private static OffsetDateTime timestamp(Instant t) {
        return t == null ? null : t.atOffset(ZoneOffset.UTC);
    }

    private JsonNode read(String text) throws SQLException {
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SQLException("invalid JSON in schedules", e);
        }
    }

    private String write(Object value) {
        return JsonMapper.write(json, value);
    }
}
