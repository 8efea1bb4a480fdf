package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;

/**
 * The overview's chart in a real headless Chromium: with millions of attempts in a minute, every
 * axis label is drawn whole inside the chart, left of the plot.
 */
class OverviewChartBrowserTest {

    private static final Duration PATIENCE = Duration.ofSeconds(90);

    @Test
    void axisLabelsOfSevenDigitsAndMoreAreNotClipped() {
        try (TestNode node = new TestNode(TestDatabase.create(), Map.of())) {
            // A busy cluster's minute, as another node's rollup wrote it: the axis goes to
            // 5,000,000.
            node.jdbi.useHandle(
                    h ->
                            h.execute(
                                    "INSERT INTO dashboard_minutes (minute, node, agent, succeeded, failed, runs, run_ms)"
                                            + " VALUES (date_trunc('minute', now()), 'elsewhere', 'echo', 4200000, 300000, 4500000, 0)"));
            try (Browser browser = Browser.startOrSkip()) {
                browser.navigate().to(node.url("/dashboard/login"));
                browser.driver.findElement(By.id("api_key")).sendKeys(TestNode.ADMIN_KEY);
                browser.driver.findElement(By.id("sign-in")).click();
                browser.waitUpTo(PATIENCE)
                        .until(
                                ExpectedConditions.presenceOfElementLocated(
                                        By.cssSelector("svg.chart")));
                List<WebElement> labels =
                        browser.driver.findElements(By.cssSelector("svg.chart text.axis"));
                assertThat(labels).extracting(WebElement::getText).contains("5,000,000");
                // Each label's box in the chart's own units: it starts inside the chart and ends
                // before the plot's grid lines begin.
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> boxes =
                        (List<Map<String, Object>>)
                                browser.script(
                                        """
                                        const svg = document.querySelector('svg.chart');
                                        const plotLeft = svg.querySelector('line.grid').x1.baseVal.value;
                                        return [...svg.querySelectorAll('text.axis')]
                                            .filter(t => t.getAttribute('text-anchor') === 'end' && !t.textContent.includes('now'))
                                            .map(t => { const b = t.getBBox();
                                                        return {text: t.textContent, left: b.x, right: b.x + b.width, plot: plotLeft}; });
                                        """);
                assertThat(boxes).hasSize(3);
                for (Map<String, Object> box : boxes) {
                    assertThat(((Number) box.get("left")).doubleValue())
                            .as("left edge of %s", box.get("text"))
                            .isGreaterThanOrEqualTo(0);
                    assertThat(((Number) box.get("right")).doubleValue())
                            .as("right edge of %s", box.get("text"))
                            .isLessThanOrEqualTo(((Number) box.get("plot")).doubleValue());
                }
            }
        }
    }
}
