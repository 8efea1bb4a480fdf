package dev.pulse.server.dashboard;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The dashboard's static files, served from the classpath: its stylesheet and script, and htmx from
 * the {@code org.webjars.npm:htmx.org} jar (BSD Zero Clause licence, see its LICENSE in that jar),
 * so no page loads anything from another site.
 */
final class Assets {

    static final String HTMX_VERSION = "2.0.8";

    private record Asset(String contentType, byte[] bytes) {}

    private final Map<String, Asset> assets =
            Map.of(
                    "htmx.min.js",
                            load(
                                    "META-INF/resources/webjars/htmx.org/"
                                            + HTMX_VERSION
                                            + "/dist/htmx.min.js",
                                    "text/javascript"),
                    "htmx-LICENSE.txt",
                            load(
                                    "META-INF/resources/webjars/htmx.org/"
                                            + HTMX_VERSION
                                            + "/LICENSE",
                                    "text/plain"),
                    "dashboard.css", load("dashboard/assets/dashboard.css", "text/css"),
                    "dashboard.js", load("dashboard/assets/dashboard.js", "text/javascript"));

    void register(RoutesConfig routes) {
        routes.get(Dashboard.ROOT + "/assets/{name}", this::serve, DashboardRole.PUBLIC);
    }

    private void serve(Context ctx) {
        Asset asset = assets.get(ctx.pathParam("name"));
        if (asset == null) {
            throw DashboardException.notFound("no such file");
        }
        ctx.header("Cache-Control", "public, max-age=3600");
        ctx.contentType(asset.contentType() + "; charset=utf-8").result(asset.bytes());
    }

    private static Asset load(String resource, String contentType) {
        try (InputStream in = Assets.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(
                        "missing resource "
                                + resource
                                + " (htmx version in the pom and in Assets differ?)");
            }
            return new Asset(contentType, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
