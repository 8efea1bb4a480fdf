package dev.pulse.workers.agents;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.json.JsonMapper;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/** The {@code agents} table: agent documents every node loads. */
public final class AgentStore {

    public enum Change {
        CREATED,
        UPDATED,
        UNCHANGED
    }

    /** A stored document and where it came from. */
    public record Stored(String name, JsonNode document, String baseDir, String source) {}

    private static final String UPSERT =
            """
            INSERT INTO agents AS a (name, document, base_dir, source)
            VALUES (:name, CAST(:document AS jsonb), :base_dir, :source)
            ON CONFLICT (name) DO UPDATE
               SET document = EXCLUDED.document, base_dir = EXCLUDED.base_dir, source = EXCLUDED.source,
                   updated_at = now()
             WHERE (a.document, a.base_dir, a.source) IS DISTINCT FROM (EXCLUDED.document, EXCLUDED.base_dir, EXCLUDED.source)
            RETURNING (xmax = 0) AS inserted
            """;

    private static final String LIST =
            "SELECT name, document, base_dir, source FROM agents ORDER BY name";
    private static final String DELETE = "DELETE FROM agents WHERE name = :name";
    private static final String VERSION =
            """
            SELECT coalesce(md5(string_agg(name || '|' || updated_at::text, ',' ORDER BY name)), '') FROM agents
            """;

    private final Jdbi jdbi;
    private final ObjectMapper json;

    public AgentStore(Jdbi jdbi, ObjectMapper json) {
        this.jdbi = jdbi;
        this.json = json;
    }

    public Change save(String name, JsonNode document, String baseDir, String source) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(UPSERT)
                                .bind("name", name)
                                .bind("document", write(document))
                                .bind("base_dir", baseDir)
                                .bind("source", source)
                                .mapTo(Boolean.class)
                                .findOne()
                                .map(inserted -> inserted ? Change.CREATED : Change.UPDATED)
                                .orElse(Change.UNCHANGED));
    }

    public List<Stored> list() {
        return jdbi.withHandle(
                h ->
                        h.createQuery(LIST)
                                .map(
                                        (rs, ctx) ->
                                                new Stored(
                                                        rs.getString("name"),
                                                        read(rs.getString("document")),
                                                        rs.getString("base_dir"),
                                                        rs.getString("source")))
                                .list());
    }

    public boolean delete(String name) {
        return jdbi.withHandle(h -> h.createUpdate(DELETE).bind("name", name).execute()) > 0;
    }

    public String version() {
        return jdbi.withHandle(h -> h.createQuery(VERSION).mapTo(String.class).one());
    }

    private String write(JsonNode node) {
        return JsonMapper.write(json, node);
    }

    private JsonNode read(String text) {
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("agents.document holds invalid JSON", e);
        }
    }
}
