package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

    @Test
    void jdbcUrlsPassThrough() {
        DatabaseUrl url = DatabaseUrl.parse("jdbc:postgresql://db:5432/pulse?user=pulse");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db:5432/pulse?user=pulse");
        assertThat(url.user()).isNull();
    }

    @Test
    void postgresUrlsBecomeJdbcWithDecodedCredentials() {
        DatabaseUrl url =
                DatabaseUrl.parse(
                        "postgres://pulse:p%40ss%3Aword@db.internal:6543/jobs?sslmode=require");
        assertThat(url.jdbcUrl())
                .isEqualTo("jdbc:postgresql://db.internal:6543/jobs?sslmode=require");
        assertThat(url.user()).isEqualTo("pulse");
        assertThat(url.password()).isEqualTo("p@ss:word");
        assertThat(url.toString()).doesNotContain("p@ss");
    }

    @Test
    void passwordsInJdbcUrlsAreMaskedWhenLogged() {
        assertThat(
                        DatabaseUrl.parse("jdbc:postgresql://db/pulse?user=a&password=secret")
                                .toString())
                .doesNotContain("secret");
    }

    @Test
    void otherSchemesAreRefusedWithTheAcceptedForms() {
        assertThatThrownBy(() -> DatabaseUrl.parse("mysql://db/pulse"))
                .hasMessageContaining("jdbc:postgresql://")
                .hasMessageContaining("postgres://");
    }
}
