package dev.pulse.server.mcp;

import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.api.tasks.TraceHeaders;
import dev.pulse.server.keys.AnyKeyRole;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.workers.keys.ApiKey;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpStatelessServerHandler;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpStatelessServerTransport;
import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;

/**
 * {@code POST /mcp}: the Streamable HTTP transport of the Model Context Protocol, served
 * statelessly by Javalin. Each POST carries one JSON-RPC message: a request is answered with its
 * JSON-RPC response as {@code application/json}, a notification (or a response) with 202 and no
 * body. There is no session and no server-initiated stream, so {@code GET} and {@code DELETE} get
 * 405, as the specification allows.
 *
 * <p>The route takes any valid key ({@link AnyKeyRole}): {@link ApiKeyAuth} answers 401 before the
 * message is read, and the key is handed to the tools, each of which checks its own scope.
 */
public final class McpEndpoint implements McpStatelessServerTransport {

    public static final String PATH = "/mcp";

    /** Where the caller's {@link ApiKey} is in the transport context the tools receive. */
    static final String API_KEY = "pulse.api_key";

    /** Where the request's W3C trace context is in the transport context the tools receive. */
    static final String TRACE = "pulse.trace";

    private static final String PROTOCOL_VERSION = "MCP-Protocol-Version";

    private static final String EXAMPLE =
            "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/list\"}";

    private final McpJsonMapper protocol;
    private volatile McpStatelessServerHandler handler;

    /**
     * @param protocol reads and writes the protocol's messages
     */
    public McpEndpoint(McpJsonMapper protocol) {
        this.protocol = protocol;
    }

    public void register(RoutesConfig routes) {
        routes.post(PATH, this::post, AnyKeyRole.ANY_KEY);
    }

    @Override
    public void setMcpHandler(McpStatelessServerHandler handler) {
        this.handler = handler;
    }

    @Override
    public Mono<Void> closeGracefully() {
        return Mono.empty();
    }

    private void post(Context ctx) throws IOException {
        rejectForeignOrigin(ctx);
        String version = ctx.header(PROTOCOL_VERSION);
        if (version != null && !protocolVersions().contains(version)) {
            // The specification's answer to a revision the server does not speak.
            throw new ProblemException(
                    Problem.invalid(
                            400,
                            PROTOCOL_VERSION,
                            "unsupported revision '"
                                    + version
                                    + "'; this server speaks "
                                    + String.join(", ", protocolVersions())));
        }
        McpSchema.JSONRPCMessage message = read(JsonContentType.body(ctx));
        ApiKey key = ApiKeyAuth.keyOf(ctx).orElseThrow();
        McpTransportContext context =
                McpTransportContext.create(Map.of(API_KEY, key, TRACE, TraceHeaders.of(ctx)));
        if (message instanceof McpSchema.JSONRPCRequest request) {
            McpSchema.JSONRPCResponse response =
                    handler.handleRequest(context, request)
                            .contextWrite(c -> c.put(McpTransportContext.KEY, context))
                            .block();
            ctx.status(200)
                    .contentType("application/json")
                    .result(protocol.writeValueAsString(response));
        } else {
            if (message instanceof McpSchema.JSONRPCNotification notification) {
                handler.handleNotification(context, notification)
                        .contextWrite(c -> c.put(McpTransportContext.KEY, context))
                        .block();
            }
            // A response would answer a request of this server's, and it sends none.
            ctx.status(202);
        }
    }

    /**
     * The specification requires servers to validate {@code Origin} against DNS rebinding: a web
     * page on another origin must not reach {@code /mcp} through the user's browser. MCP hosts
     * connect from their own process and send no {@code Origin}; a browser on this server's own
     * origin sends a matching one.
     */
    private static void rejectForeignOrigin(Context ctx) {
        String origin = ctx.header("Origin");
        if (origin == null) {
            return;
        }
        String host = ctx.header("Host");
        String originHost;
        try {
            originHost = URI.create(origin).getRawAuthority();
        } catch (IllegalArgumentException e) {
            originHost = null;
        }
        if (host == null || !host.equalsIgnoreCase(originHost)) {
            throw new ProblemException(
                    new Problem(
                            "/problems/forbidden-origin",
                            "Forbidden origin",
                            403,
                            "Origin '"
                                    + origin
                                    + "' is not this server's; connect an MCP host from its own"
                                    + " process (it sends no Origin), not from a web page on"
                                    + " another site",
                            List.of()));
        }
    }

    private McpSchema.JSONRPCMessage read(String body) {
        if (body.isBlank()) {
            throw invalid(
                    "the request body is empty; send one JSON-RPC message such as " + EXAMPLE);
        }
        try {
            return McpSchema.deserializeJsonRpcMessage(protocol, body);
        } catch (IOException | IllegalArgumentException e) {
            throw invalid("is not one JSON-RPC 2.0 message (a JSON object) such as " + EXAMPLE);
        }
    }

    private static ProblemException invalid(String message) {
        return new ProblemException(Problem.invalid(400, "body", message));
    }
}
