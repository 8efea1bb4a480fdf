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
    void multiHostUrlsNameEveryHostAndTheLibpqTargetBecomesTheDriversTargetServerType() {
        assertThat(
                        DatabaseUrl.parse(
                                        "jdbc:postgresql://a:5432,b:5433/pulse?targetServerType=primary")
                                .jdbcUrl())
                .isEqualTo("jdbc:postgresql://a:5432,b:5433/pulse?targetServerType=primary");
        DatabaseUrl url =
                DatabaseUrl.parse(
                        "postgres://pulse:p%40ss@a.db:5432,b.db:5433/jobs?target_session_attrs=read-write&sslmode=require");
        assertThat(url.jdbcUrl())
                .isEqualTo(
                        "jdbc:postgresql://a.db:5432,b.db:5433/jobs?targetServerType=primary&sslmode=require");
        assertThat(url.user()).isEqualTo("pulse");
        assertThat(url.password()).isEqualTo("p@ss");
        assertThatThrownBy(
                        () ->
                                DatabaseUrl.parse(
                                        "postgres://a:5432,b:5433/jobs?target_session_attrs=leader"))
                .hasMessageContaining("target_session_attrs must be one of");
        assertThatThrownBy(() -> DatabaseUrl.parse("postgres://a:5432,b c:5433/jobs"))
                .hasMessageContaining("invalid host 'b c:5433'");
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
