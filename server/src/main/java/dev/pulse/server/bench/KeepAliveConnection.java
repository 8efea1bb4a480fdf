package dev.pulse.server.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One HTTP/1.1 keep-alive connection of the HTTP load generator, sending requests prepared as bytes
 * and reading each answer whole: status, {@code Location}, body. A general client (OkHttp: its
 * interceptor chain, header objects and watchdog threads) took about as much of the process's CPU
 * per request as the node's own HTTP layer, and the generator runs in the node's process, so what
 * it costs is counted with the node unless it is cheap and measured apart.
 */
final class KeepAliveConnection implements AutoCloseable {

    /** An answer: its status code and its {@code Location} header (null when absent). */
    record Answer(int status, String location) {}

    private final InetSocketAddress address;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    KeepAliveConnection(InetSocketAddress address) {
        this.address = address;
    }

    /** A request's bytes: request line, {@code Host}, the given headers, and the body if any. */
    static byte[] request(String method, String host, String path, String headers, String body) {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        String head =
                method
                        + " "
                        + path
                        + " HTTP/1.1\r\nHost: "
                        + host
                        + "\r\n"
                        + headers
                        + (body == null ? "" : "Content-Length: " + content.length + "\r\n")
                        + "\r\n";
        byte[] start = head.getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[start.length + content.length];
        System.arraycopy(start, 0, all, 0, start.length);
        System.arraycopy(content, 0, all, start.length, content.length);
        return all;
    }

    /**
     * Sends {@code request} and reads its answer; opens the connection first if it is not open (or
     * the server closed it after the last answer).
     *
     * @throws IOException when the connection fails; it is closed, and the next call opens another
     */
    Answer send(byte[] request) throws IOException {
        try {
            if (socket == null) {
                socket = new Socket();
                socket.setTcpNoDelay(true);
                socket.connect(address);
                socket.setSoTimeout(60_000);
                in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
            }
            out.write(request);
            out.flush();
            return read();
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? io : new IOException(e);
        }
    }

    private Answer read() throws IOException {
        String statusLine = line();
        // "HTTP/1.1 201 Created"
        int status = Integer.parseInt(statusLine.substring(9, 12));
        String location = null;
        long length = -1;
        boolean chunked = false;
        boolean closes = false;
        for (String header = line(); !header.isEmpty(); header = line()) {
            int colon = header.indexOf(':');
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            switch (name) {
                case "location" -> location = value;
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" ->
                        chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> closes = value.equalsIgnoreCase("close");
                default -> {}
            }
        }
        if (chunked) {
            for (long size = chunkSize(); size > 0; size = chunkSize()) {
                skip(size);
                line();
            }
            for (String trailer = line(); !trailer.isEmpty(); trailer = line()) {
                // trailers, unused
            }
        } else if (length > 0) {
            skip(length);
        }
        if (closes) {
            close();
        }
        return new Answer(status, location);
    }

    private long chunkSize() throws IOException {
        String line = line();
        int extension = line.indexOf(';');
        return Long.parseLong((extension < 0 ? line : line.substring(0, extension)).trim(), 16);
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            long skipped = in.skip(n);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new EOFException("the connection closed inside an answer's body");
                }
                skipped = 1;
            }
            n -= skipped;
        }
    }

    /** A line without its CRLF (headers are ASCII). */
    private String line() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new EOFException("the connection closed inside an answer");
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
            socket = null;
        }
    }
}
