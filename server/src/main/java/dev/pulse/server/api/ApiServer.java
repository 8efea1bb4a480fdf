package dev.pulse.server.api;

import dev.pulse.workers.db.CallGroups;
import dev.pulse.workers.db.DatabaseErrors;
import dev.pulse.workers.tasks.TaskInsertGroups;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.compression.Gzip;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.MethodNotAllowedResponse;
import io.javalin.http.util.MethodNotAllowedUtil;
import io.javalin.router.Endpoint;
import io.javalin.security.Roles;
import io.javalin.security.RouteRole;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The HTTP server: Javalin with problem+json for every error, and the routes it is given. */
public final class ApiServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    private static final long MAX_REQUEST_BYTES = 1 << 20;

    private final Javalin app;

    /**
     * A registered route: its HTTP method (upper case), path ({@code /v1/tasks/{id}}) and the roles
     * it needs.
     */
    public record Route(String method, String path, Set<RouteRole> roles) {}

    /**
     * @param authenticate runs before every matched route; routes that name a scope need a key with
     *     it
     */
    public ApiServer(
            String host,
            int port,
            JsonResponses responses,
            Handler authenticate,
            List<Consumer<RoutesConfig>> routeGroups) {
        this.app =
                Javalin.create(
                        config -> {
                            config.startup.showJavalinBanner = false;
                            config.jetty.host = host;
                            config.jetty.port = port;
                            config.http.maxRequestSize = MAX_REQUEST_BYTES;
                            config.http.prefer405over404 = true;
                            config.http.compressionStrategy = compression();
                            config.routes.beforeMatched(authenticate);
                            routeGroups.forEach(group -> group.accept(config.routes));
                            config.routes.exception(
                                    ProblemException.class,
                                    (e, ctx) -> responses.problem(ctx, e.problem()));
                            config.routes.exception(
                                    Exception.class,
                                    (e, ctx) -> {
                                        if (e instanceof TaskInsertGroups.CommitFailed) {
                                            ctx.header("Retry-After", "1");
                                            responses.problem(ctx, Problem.notStored());
                                            return;
                                        }
                                        if (e instanceof CallGroups.Failed
                                                || DatabaseErrors.isTransient(e)) {
                                            ctx.header("Retry-After", "5");
                                            responses.problem(ctx, Problem.unavailable());
                                            return;
                                        }
                                        log.error(
                                                "unhandled error on {} {}",
                                                ctx.method(),
                                                ctx.path(),
                                                e);
                                        responses.problem(ctx, Problem.internal());
                                    });
                            config.routes.error(
                                    404,
                                    ctx -> {
                                        if (!"application/problem+json"
                                                .equals(ctx.res().getContentType())) {
                                            responses.problem(
                                                    ctx,
                                                    Problem.notFound(
                                                            "no route "
                                                                    + ctx.method()
                                                                    + " "
                                                                    + ctx.path()
                                                                    + "; the API is under /v1 (GET /docs lists every route)"));
                                        }
                                    });
                            config.routes.exception(
                                    MethodNotAllowedResponse.class,
                                    (e, ctx) -> {
                                        String allow = allowedMethods(ctx.path());
                                        ctx.header("Allow", allow);
                                        responses.problem(
                                                ctx,
                                                new Problem(
                                                        "/problems/method-not-allowed",
                                                        "Method not allowed",
                                                        405,
                                                        ctx.method()
                                                                + " is not allowed on "
                                                                + ctx.path()
                                                                + "; allowed: "
                                                                + allow,
                                                        List.of()));
                                    });
                            config.routes.error(
                                    413,
                                    ctx -> {
                                        if (!"application/problem+json"
                                                .equals(ctx.res().getContentType())) {
                                            responses.problem(
                                                    ctx,
                                                    new Problem(
                                                            "/problems/too-large",
                                                            "Request body too large",
                                                            413,
                                                            "request bodies are limited to "
                                                                    + MAX_REQUEST_BYTES
                                                                    + " bytes",
                                                            List.of()));
                                        }
                                    });
                        });
    }

    /**
     * Javalin's default (gzip, for bodies of 1,500 bytes or more), but with the types Pulse answers
     * with named as compressible: Javalin decides whether a response may be compressed by looking
     * its type up in that list first, and only otherwise matches it against every excluded type
     * (images, archives, …), which took a few percent of a small POST's handling. Other types are
     * decided as before.
     */
    private static CompressionStrategy compression() {
        CompressionStrategy gzip = new CompressionStrategy(null, new Gzip());
        gzip.setAllowedMimeTypes(List.of("application/json", "application/problem+json"));
        return gzip;
    }

    /** The methods some route takes on {@code path}, as an {@code Allow} header value. */
    private String allowedMethods(String path) {
        return MethodNotAllowedUtil.INSTANCE
                .findAvailableHttpHandlerTypes(app.unsafe.internalRouter, path)
                .stream()
                .filter(HandlerType::isHttpMethod)
                .map(HandlerType::name)
                .distinct()
                .sorted()
                .collect(Collectors.joining(", "));
    }

    public ApiServer start() {
        app.start();
        return this;
    }

    public int port() {
        return app.port();
    }

    /**
     * Every HTTP route registered in Javalin (not before/after handlers), as Javalin's router holds
     * them; the OpenAPI test compares them with the document.
     */
    public List<Route> routes() {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(parsed -> parsed.endpoint)
                .filter(e -> e.method.isHttpMethod())
                .map(e -> new Route(e.method.name(), e.path, roles(e)))
                .sorted(Comparator.comparing(Route::path).thenComparing(Route::method))
                .toList();
    }

    private static Set<RouteRole> roles(Endpoint endpoint) {
        Roles roles = endpoint.metadata(Roles.class);
        return roles == null ? Set.of() : Set.copyOf(roles.getRoles());
    }

    @Override
    public void close() {
        app.stop();
    }
}
