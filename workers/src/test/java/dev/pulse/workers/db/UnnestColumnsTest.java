package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.TestDatabase;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A column sent empty because it is all NULL still gives NULL in every row of the unnest. */
class UnnestColumnsTest {

    private static Database database;

    @BeforeAll
    static void connect() {
        database = Database.connect(TestDatabase.create(), 2);
    }

    @AfterAll
    static void close() {
        database.close();
    }

    private List<String> rows(Integer[] ids, String[] column) {
        return database.jdbi()
                .withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT n || ':' || coalesce(v, '-') FROM unnest(CAST(:ids AS integer[]),"
                                                        + " CAST(:column AS text[])) AS u (n, v) ORDER BY n")
                                        .bind("ids", ids)
                                        .bind("column", UnnestColumns.orEmpty(column))
                                        .mapTo(String.class)
                                        .list());
    }

    @Test
    void anAllNullColumnIsSentEmptyAndReadAsNullInEveryRow() {
        String[] allNull = new String[3];

        assertThat(UnnestColumns.orEmpty(allNull)).isEmpty();
        assertThat(rows(new Integer[] {1, 2, 3}, allNull)).containsExactly("1:-", "2:-", "3:-");
    }

    @Test
    void aColumnWithAnyValueIsSentWhole() {
        String[] some = {null, "b", null};

        assertThat(UnnestColumns.orEmpty(some)).isSameAs(some);
        assertThat(rows(new Integer[] {1, 2, 3}, some)).containsExactly("1:-", "2:b", "3:-");
        assertThat(Arrays.asList(UnnestColumns.orEmpty(new String[] {"a"}))).containsExactly("a");
    }
}
