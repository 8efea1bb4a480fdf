package dev.pulse.executors.local;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads a stream to its end, keeping at most {@code limit} bytes: the head for results, the tail
 * for logs (the end of a log is usually what explains a failure).
 */
final class BoundedText {

    private BoundedText() {}

    static Captured readHead(InputStream in, int limit) throws IOException {
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        long total = 0;
        for (int n; (n = in.read(buf)) != -1; ) {
            int room = (int) Math.max(0, limit - kept.size());
            kept.write(buf, 0, Math.min(n, room));
            total += n;
        }
        return new Captured(kept.toString(StandardCharsets.UTF_8), total > limit);
    }

    static String readTail(InputStream in, int limit) throws IOException {
        byte[] ring = new byte[limit];
        long total = 0;
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) != -1; ) {
            for (int i = 0; i < n; i++) {
                ring[(int) (total++ % limit)] = buf[i];
            }
        }
        if (total <= limit) {
            return new String(ring, 0, (int) total, StandardCharsets.UTF_8);
        }
        int start = (int) (total % limit);
        byte[] ordered = new byte[limit];
        System.arraycopy(ring, start, ordered, 0, limit - start);
        System.arraycopy(ring, 0, ordered, limit - start, start);
        return "[… "
                + (total - limit)
                + " earlier bytes dropped]\n"
                + new String(ordered, StandardCharsets.UTF_8);
    }

    record Captured(String text, boolean truncated) {}
}
