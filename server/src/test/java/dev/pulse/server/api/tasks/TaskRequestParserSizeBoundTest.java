package dev.pulse.server.api.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.json.JsonMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The size bound that spares small inputs being written out to be measured is never below what
 * writing them out gives, whatever they hold: escapes, non-ASCII text, numbers whose text grows.
 */
class TaskRequestParserSizeBoundTest {

    private final ObjectMapper json = JsonMapper.create();

    @Test
    void theBoundIsNeverBelowTheWrittenSize() throws Exception {
        List<String> values =
                List.of(
                        "{}",
                        "[]",
                        "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"e\"}}",
                        "{\"control\": \"\\u0001\\u0002\\n\\t\\\"\\\\\"}",
                        "{\"non-ascii\": \"héllo wörld ✓ 𝄞\", \"ключ\": \"значение\"}",
                        "{\"numbers\": [1e-7, 1E+5, 0.000001, 12345678901234567890123, -0.0, 1e400]}",
                        "[[[[[]]]], {\"\": \"\"}, \"\"]");
        for (String text : values) {
            JsonNode value = json.readTree(text);
            long written = json.writeValueAsBytes(value).length;
            assertThat(TaskRequestParser.sizeBound(value, Long.MAX_VALUE))
                    .as(text + " written is " + written + " bytes")
                    .isGreaterThanOrEqualTo(written);
        }
    }

    @Test
    void countingStopsOncePastTheLimit() throws Exception {
        JsonNode big = json.readTree("[" + ("\"" + "x".repeat(100) + "\",").repeat(1000) + "1]");
        long bound = TaskRequestParser.sizeBound(big, 1000);
        assertThat(bound).isGreaterThan(1000).isLessThan(2000);
    }
}
