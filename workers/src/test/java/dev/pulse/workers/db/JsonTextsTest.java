package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.testing.TestDatabase;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Joined JSON texts come back from PostgreSQL's split as the same texts, nulls included, read as
 * every statement reads them: beside a column that holds every row, in one multi-array unnest.
 */
class JsonTextsTest {

    private static Database database;
    private final ObjectMapper json = JsonMapper.create();

    @BeforeAll
    static void connect() {
        database = Database.connect(TestDatabase.create(), 2);
    }

    @AfterAll
    static void close() {
        database.close();
    }

    private List<String> roundTrip(String[] texts) {
        Integer[] rows = new Integer[texts.length];
        Arrays.setAll(rows, i -> i);
        return database.jdbi()
                .withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT t FROM unnest(CAST(:rows AS integer[]), "
                                                        + JsonTexts.split("texts")
                                                        + ") AS u (n, t) ORDER BY n")
                                        .bind("rows", rows)
                                        .bind("texts", JsonTexts.join(texts))
                                        .mapTo(String.class)
                                        .list());
    }

    @Test
    void textsWithQuotesBackslashesAndEscapedControlCharactersComeBackAsWritten() throws Exception {
        String awkward =
                JsonMapper.write(
                        json,
                        json.createObjectNode()
                                .put("quote", "say \"hi\", {x}")
                                .put("backslash", "C:\\path\\")
                                .put("separators", "a\u001eb\u001fc\n")
                                .put("unicode", "zażółć ✓"));
        String[] texts = {awkward, "[]", "\"\"", "null", "{\"n\": 1}"};

        assertThat(roundTrip(texts)).containsExactly(texts);
        assertThat(awkward).doesNotContain("\u001e").doesNotContain("\u001f");
    }

    @Test
    void nullsStayNullsWhereverTheyAre() {
        assertThat(roundTrip(new String[] {null})).containsExactly((String) null);
        assertThat(roundTrip(new String[] {null, null, null})).containsExactly(null, null, null);
        assertThat(JsonTexts.join(new String[] {null, null})).isEmpty();
        assertThat(roundTrip(new String[] {null, "{}", null})).containsExactly(null, "{}", null);
        assertThat(roundTrip(new String[] {"1", "2"})).isEqualTo(Arrays.asList("1", "2"));
    }
}
