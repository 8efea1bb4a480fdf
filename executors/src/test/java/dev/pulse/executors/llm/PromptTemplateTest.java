package dev.pulse.executors.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class PromptTemplateTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void substitutesTextNumbersBooleansNullsAndJson() throws Exception {
        var input =
                json.readTree(
                        "{\"t\": \"hi\", \"n\": 2.5, \"b\": true, \"z\": null, \"o\": {\"k\": [1]}}");
        assertThat(
                        PromptTemplate.render(
                                "{{input.t}} {{input.n}} {{input.b}} {{input.z}} {{input.o}} {{input.o.k.0}}",
                                input,
                                json))
                .isEqualTo("hi 2.5 true null {\"k\":[1]} 1");
    }

    @Test
    void inputTextIsNotExpandedAgain() throws Exception {
        var input = json.readTree("{\"t\": \"{{input.secret}}\", \"secret\": \"x\"}");
        assertThat(PromptTemplate.render("say {{input.t}}", input, json))
                .isEqualTo("say {{input.secret}}");
    }

    @Test
    void aMissingFieldNamesItsPath() throws Exception {
        var input = json.readTree("{\"a\": {\"b\": 1}, \"list\": []}");
        assertThatThrownBy(() -> PromptTemplate.render("{{input.a.c}}", input, json))
                .isInstanceOf(PromptTemplate.MissingField.class)
                .hasMessageContaining("a.c");
        assertThatThrownBy(() -> PromptTemplate.render("{{input.list.0}}", input, json))
                .isInstanceOf(PromptTemplate.MissingField.class)
                .hasMessageContaining("list.0");
        assertThatThrownBy(() -> PromptTemplate.render("{{input.a.b.c}}", input, json))
                .isInstanceOf(PromptTemplate.MissingField.class)
                .hasMessageContaining("a.b.c");
    }

    @Test
    void placeholdersOtherThanInputPathsAreProblems() {
        assertThat(PromptTemplate.problems("ok {{input}} {{ input.a_b-c.0 }}")).isEmpty();
        assertThat(PromptTemplate.problems("{{text}} {{input..a}} {{input.a b}}"))
                .hasSize(3)
                .allSatisfy(
                        p ->
                                assertThat(p)
                                        .contains("must be {{input}} or {{input.path.to.field}}"));
    }
}
