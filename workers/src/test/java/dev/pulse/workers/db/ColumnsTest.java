package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ColumnsTest {

    @Test
    void isoIsExactlyInstantToString() {
        SplittableRandom random = new SplittableRandom(8);
        for (int i = 0; i < 200_000; i++) {
            long seconds = random.nextLong(-70_000_000_000L, 260_000_000_000L);
            int nano =
                    switch (i % 4) {
                        case 0 -> 0;
                        case 1 -> random.nextInt(1000) * 1_000_000;
                        case 2 -> random.nextInt(1_000_000) * 1_000;
                        default -> random.nextInt(1_000_000_000);
                    };
            Instant t = Instant.ofEpochSecond(seconds, nano);
            assertThat(Columns.iso(t)).isEqualTo(t.toString());
        }
        for (Instant t :
                new Instant[] {
                    Instant.EPOCH,
                    Instant.parse("0000-01-01T00:00:00Z"),
                    Instant.parse("9999-12-31T23:59:59.999999999Z"),
                    Instant.parse("2026-11-21T08:00:00.100Z"),
                    Instant.MIN,
                    Instant.MAX
                }) {
            assertThat(Columns.iso(t)).isEqualTo(t.toString());
        }
        assertThat(Columns.iso(null)).isNull();
    }
}
