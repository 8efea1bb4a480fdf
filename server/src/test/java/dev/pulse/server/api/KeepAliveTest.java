package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An error answered before the request body arrived (no route, no key) leaves the connection open
 * for the next request, as keep-alive clients expect; an HTTP client pool that reused a connection
 * closed under it would fail that next request.
 */
class KeepAliveTest {

    private static TestNode pulse;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @Test
    void errorsAnsweredBeforeTheBodyArrivedKeepTheConnection() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", pulse.node.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            BufferedReader in =
                    new BufferedReader(
                            new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            byte[] body = "{\"attempts\": 12345}".getBytes(StandardCharsets.UTF_8);
            String[][] requests = {
                {
                    "PATCH /v1/schedules/nope/trigger",
                    "Authorization: Bearer " + TestNode.ADMIN_KEY + "\r\n"
                },
                {"POST /v1/tasks", ""},
                {"GET /v1/no-such-route", "Authorization: Bearer " + TestNode.ADMIN_KEY + "\r\n"}
            };
            for (String[] request : requests) {
                out.write(
                        (request[0]
                                        + " HTTP/1.1\r\nHost: pulse\r\nContent-Type: application/json\r\n"
                                        + request[1]
                                        + "Content-Length: "
                                        + body.length
                                        + "\r\n\r\n")
                                .getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(300); // the body arrives after the server could already answer
                out.write(body);
                out.flush();
                List<String> head = readResponse(in);
                assertThat(head.get(0)).as(request[0]).matches("HTTP/1.1 40[145] .*");
                assertThat(head)
                        .as(request[0])
                        .noneMatch(h -> h.equalsIgnoreCase("Connection: close"));
            }
        }
    }

    /** Reads one response from the connection; returns its status line and headers. */
    private static List<String> readResponse(BufferedReader in) throws Exception {
        List<String> head = new ArrayList<>();
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
            head.add(line);
        }
        assertThat(head).as("a response before the connection closed").isNotEmpty();
        int length =
                head.stream()
                        .filter(h -> h.toLowerCase().startsWith("content-length:"))
                        .map(h -> Integer.parseInt(h.substring(15).trim()))
                        .findFirst()
                        .orElseThrow();
        char[] body = new char[length];
        for (int read = 0; read < length; ) {
            read += in.read(body, read, length - read);
        }
        return head;
    }
}
