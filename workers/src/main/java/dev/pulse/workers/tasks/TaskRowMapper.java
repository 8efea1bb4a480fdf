package dev.pulse.workers.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.db.Columns;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/** Maps a {@code tasks} row (all columns) to a {@link Task}. */
public final class TaskRowMapper implements RowMapper<Task> {

    private final ObjectMapper json;

    public TaskRowMapper(ObjectMapper json) {
        this.json = json;
    }

    @Override
    public Task map(ResultSet rs, StatementContext ctx) throws SQLException {
        return new Task(
                rs.getObject("id", UUID.class),
                rs.getString("agent"),
                TaskState.valueOf(rs.getString("state").toUpperCase(java.util.Locale.ROOT)),
                rs.getInt("priority"),
                jsonb(rs, "input"),
                jsonb(rs, "metadata"),
                rs.getString("callback_url"),
                jsonb(rs, "result"),
                jsonb(rs, "error"),
                rs.getInt("attempts"),
                rs.getInt("max_attempts"),
                rs.getInt("timeout_seconds"),
                Columns.instant(rs, "run_at"),
                Columns.instant(rs, "created_at"),
                Columns.instant(rs, "started_at"),
                Columns.instant(rs, "finished_at"),
                Columns.instant(rs, "updated_at"),
                Columns.instant(rs, "cancel_requested_at"),
                rs.getString("idempotency_key"),
                rs.getLong("retry_base_ms"),
                rs.getLong("retry_max_ms"),
                rs.getString("schedule_name"),
                Columns.instant(rs, "fire_time"));
    }

    JsonNode jsonb(ResultSet rs, String column) throws SQLException {
        String text = rs.getString(column);
        if (text == null) {
            return null;
        }
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SQLException("column " + column + " holds invalid JSON", e);
        }
    }

}
