package dev.pulse.executors.http;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where Pulse may send requests (callbacks, serverless endpoints, LLM servers). Loopback, private,
 * link-local (cloud metadata included), carrier-grade NAT, multicast and reserved addresses are
 * refused unless allowed: by CIDR ({@code 10.1.0.0/16}), address, or host name ({@code
 * hooks.internal}, {@code *.corp.example}). Addresses are judged after DNS resolution, so a public
 * name that resolves to a private address is refused too.
 */
public final class EgressPolicy {

    private static final List<Cidr> DENIED =
            List.of(
                    Cidr.parse("0.0.0.0/8"),
                    Cidr.parse("10.0.0.0/8"),
                    Cidr.parse("100.64.0.0/10"),
                    Cidr.parse("127.0.0.0/8"),
                    Cidr.parse("169.254.0.0/16"),
                    Cidr.parse("172.16.0.0/12"),
                    Cidr.parse("192.0.0.0/24"),
                    Cidr.parse("192.168.0.0/16"),
                    Cidr.parse("198.18.0.0/15"),
                    Cidr.parse("224.0.0.0/4"),
                    Cidr.parse("240.0.0.0/4"),
                    Cidr.parse("::/128"),
                    Cidr.parse("::1/128"),
                    Cidr.parse("fc00::/7"),
                    Cidr.parse("fe80::/10"),
                    Cidr.parse("ff00::/8"),
                    Cidr.parse("64:ff9b::/96"));

    private final List<Cidr> allowedRanges;
    private final List<String> allowedHosts;

    private EgressPolicy(List<Cidr> allowedRanges, List<String> allowedHosts) {
        this.allowedRanges = allowedRanges;
        this.allowedHosts = allowedHosts;
    }

    /**
     * Parses {@code PULSE_EGRESS_ALLOW}: comma-separated CIDRs, addresses or host names (may start
     * with {@code *.}).
     */
    public static EgressPolicy allowing(String commaSeparated) {
        List<Cidr> ranges = new ArrayList<>();
        List<String> hosts = new ArrayList<>();
        if (commaSeparated != null) {
            for (String raw : commaSeparated.split(",")) {
                String entry = raw.trim().toLowerCase(Locale.ROOT);
                if (entry.isEmpty()) {
                    continue;
                }
                if (Cidr.looksLikeAddress(entry)) {
                    ranges.add(
                            Cidr.parse(
                                    entry.contains("/")
                                            ? entry
                                            : entry + (entry.contains(":") ? "/128" : "/32")));
                } else if (entry.matches("(\\*\\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?")) {
                    hosts.add(entry);
                } else {
                    throw new IllegalArgumentException(
                            "'" + raw.trim() + "' is neither a CIDR, an address nor a host name");
                }
            }
        }
        return new EgressPolicy(List.copyOf(ranges), List.copyOf(hosts));
    }

    /** Whether requests to {@code host} may go to {@code address}. */
    public boolean permits(String host, InetAddress address) {
        if (hostAllowed(host) || allowedRanges.stream().anyMatch(r -> r.contains(address))) {
            return true;
        }
        InetAddress effective = Cidr.unmapped(address);
        return DENIED.stream().noneMatch(r -> r.contains(effective));
    }

    /**
     * For a host written as an IP literal, whether it is permitted; null when the host is a name
     * (judged after DNS).
     */
    public Boolean permitsLiteral(String host) {
        String bare =
                host.startsWith("[") && host.endsWith("]")
                        ? host.substring(1, host.length() - 1)
                        : host;
        if (!Cidr.looksLikeAddress(bare)) {
            return null;
        }
        try {
            return permits(bare, InetAddress.getByName(bare));
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private boolean hostAllowed(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return allowedHosts.stream()
                .anyMatch(a -> a.startsWith("*.") ? h.endsWith(a.substring(1)) : h.equals(a));
    }

    /** The message every refusal carries, naming the way out. */
    public static String refusal(String host) {
        return "destination "
                + host
                + " is refused by the egress policy (loopback, private, link-local and metadata"
                + " addresses are blocked); allow it with PULSE_EGRESS_ALLOW";
    }

    /** An IP range. */
    record Cidr(byte[] network, int bits) {

        static boolean looksLikeAddress(String s) {
            String addr = s.contains("/") ? s.substring(0, s.indexOf('/')) : s;
            return addr.matches("[0-9.]+") || (addr.contains(":") && addr.matches("[0-9a-f:.]+"));
        }

        static Cidr parse(String cidr) {
            int slash = cidr.indexOf('/');
            try {
                byte[] network = InetAddress.getByName(cidr.substring(0, slash)).getAddress();
                int bits = Integer.parseInt(cidr.substring(slash + 1));
                if (bits < 0 || bits > network.length * 8) {
                    throw new IllegalArgumentException("prefix length out of range in " + cidr);
                }
                return new Cidr(network, bits);
            } catch (UnknownHostException | NumberFormatException e) {
                throw new IllegalArgumentException(
                        "'" + cidr + "' is not a CIDR such as 10.0.0.0/8");
            }
        }

        boolean contains(InetAddress address) {
            byte[] a = address.getAddress();
            if (a.length != network.length) {
                return false;
            }
            int full = bits / 8;
            for (int i = 0; i < full; i++) {
                if (a[i] != network[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = (0xFF << (8 - rest)) & 0xFF;
            return (a[full] & mask) == (network[full] & mask);
        }

        /** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) judged as the IPv4 address it carries. */
        static InetAddress unmapped(InetAddress address) {
            byte[] a = address.getAddress();
            if (a.length == 16) {
                boolean mapped = true;
                for (int i = 0; i < 10; i++) {
                    mapped &= a[i] == 0;
                }
                mapped &= (a[10] & 0xFF) == 0xFF && (a[11] & 0xFF) == 0xFF;
                if (mapped) {
                    try {
                        return InetAddress.getByAddress(new byte[] {a[12], a[13], a[14], a[15]});
                    } catch (UnknownHostException e) {
                        return address;
                    }
                }
            }
            return address;
        }
    }
}
