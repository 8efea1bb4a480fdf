package dev.pulse.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;
import java.util.random.RandomGenerator;

/** Names this process in leases and attempt history: host, pid and a random suffix. */
final class NodeIds {

    private NodeIds() {}

    static String forThisProcess(RandomGenerator random) {
        byte[] suffix = new byte[2];
        random.nextBytes(suffix);
        return host()
                + "-"
                + ProcessHandle.current().pid()
                + "-"
                + HexFormat.of().formatHex(suffix);
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }
}
