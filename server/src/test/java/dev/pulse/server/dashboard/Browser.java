package dev.pulse.server.dashboard;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium for the dashboard's end-to-end tests: Debian's {@code chromium}, driven
 * through Debian's {@code chromedriver} (paths from {@code PULSE_CHROMIUM} and {@code
 * PULSE_CHROMEDRIVER}, as {@code scripts/browser.sh} prints them, else the usual places). Selenium
 * Manager never runs, so nothing is downloaded. Without a browser the tests are skipped loudly.
 */
final class Browser implements AutoCloseable {

    final ChromeDriver driver;
    private final Path profile;

    private Browser(ChromeDriver driver, Path profile) {
        this.driver = driver;
        this.profile = profile;
    }

    /**
     * Skips the calling test (a JUnit assumption, with the reason) when Chromium or its driver is
     * missing.
     */
    static Browser startOrSkip() {
        Optional<String> browser =
                find("PULSE_CHROMIUM", List.of("/usr/bin/chromium", "/usr/bin/chromium-browser"));
        Optional<String> driver =
                find(
                        "PULSE_CHROMEDRIVER",
                        List.of("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"));
        if (browser.isEmpty() || driver.isEmpty()) {
            String reason =
                    "!!! headless Chromium is not available (chromium: "
                            + browser.orElse("missing")
                            + ", chromedriver: "
                            + driver.orElse("missing")
                            + "): the dashboard's BROWSER TESTS ARE SKIPPED. "
                            + "Install it with scripts/browser.sh (as .ci/run does).";
            System.err.println(reason);
            Assumptions.assumeTrue(false, reason);
        }
        try {
            Path profile = Files.createTempDirectory("pulse-chromium-");
            System.setProperty("webdriver.chrome.driver", driver.get());
            ChromeOptions options = new ChromeOptions();
            options.setBinary(browser.get());
            options.addArguments(
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--window-size=1440,1000",
                    "--user-data-dir=" + profile);
            ChromeDriverService service =
                    new ChromeDriverService.Builder()
                            .usingDriverExecutable(new File(driver.get()))
                            .usingAnyFreePort()
                            .build();
            ChromeDriver chrome = new ChromeDriver(service, options);
            chrome.manage()
                    .timeouts()
                    .pageLoadTimeout(Duration.ofSeconds(60))
                    .scriptTimeout(Duration.ofSeconds(30));
            return new Browser(chrome, profile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<String> find(String variable, List<String> candidates) {
        String configured = System.getenv(variable);
        if (configured != null && !configured.isBlank()) {
            return Files.isExecutable(Path.of(configured))
                    ? Optional.of(configured)
                    : Optional.empty();
        }
        return candidates.stream().filter(c -> Files.isExecutable(Path.of(c))).findFirst();
    }

    WebDriverWait waitUpTo(Duration timeout) {
        // htmx swaps the overview's live part every few seconds: an element read mid-swap is simply
        // read again
        WebDriverWait wait = new WebDriverWait(driver, timeout, Duration.ofMillis(200));
        wait.ignoring(StaleElementReferenceException.class);
        return wait;
    }

    Object script(String js, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(js, args);
    }

    Object asyncScript(String js, Object... args) {
        return ((JavascriptExecutor) driver).executeAsyncScript(js, args);
    }

    /**
     * A screenshot of the whole page, through the DevTools protocol (beyond the window's height).
     */
    void screenshot(Path file) {
        try {
            long height =
                    ((Number)
                                    script(
                                            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);"))
                            .longValue();
            Map<String, Object> clip =
                    Map.of(
                            "x",
                            0,
                            "y",
                            0,
                            "width",
                            1440,
                            "height",
                            Math.min(Math.max(height, 600), 4000),
                            "scale",
                            1);
            Map<String, Object> shot =
                    driver.executeCdpCommand(
                            "Page.captureScreenshot",
                            Map.of("format", "png", "captureBeyondViewport", true, "clip", clip));
            Files.createDirectories(file.getParent());
            Files.write(file, Base64.getDecoder().decode((String) shot.get("data")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    WebDriver.Navigation navigate() {
        return driver.navigate();
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            try (var files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            } catch (IOException ignored) {
                // a temporary profile left behind is harmless
            }
        }
    }
}
