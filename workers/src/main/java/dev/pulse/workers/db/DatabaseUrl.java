package dev.pulse.workers.db;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * A PostgreSQL location given either as a JDBC URL ({@code jdbc:postgresql://host:port/db?user=…})
 * or as a libpq-style URL ({@code postgres://user:pass@host:port/db}). Both may name several hosts
 * ({@code jdbc:postgresql://a:5432,b:5432/db?targetServerType=primary}, {@code
 * postgres://user:pass@a:5432,b:5432/db?target_session_attrs=read-write}): the driver then connects
 * to whichever is the primary, and again after a failover. The password is kept out of {@link
 * #toString()} so the URL can be logged.
 */
public record DatabaseUrl(String jdbcUrl, String user, String password) {

    public static DatabaseUrl parse(String url) {
        if (url.startsWith("jdbc:postgresql:")) {
            return new DatabaseUrl(url, null, null);
        }
        if (!url.startsWith("postgres://") && !url.startsWith("postgresql://")) {
            throw new IllegalArgumentException(
                    "database URL must start with jdbc:postgresql://, postgres:// or postgresql://");
        }
        String rest = url.substring(url.indexOf("://") + 3);
        int end = indexOfAny(rest, "/?");
        String authority = end < 0 ? rest : rest.substring(0, end);
        if (authority.substring(authority.lastIndexOf('@') + 1).contains(",")) {
            return parseMultiHost(authority, end < 0 ? "" : rest.substring(end));
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    "database URL is not a valid URL: " + e.getMessage());
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException(
                    "database URL has no host: expected postgres://user:pass@host:port/db");
        }
        String user = null;
        String password = null;
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            user = decode(parts[0]);
            password = parts.length > 1 ? decode(parts[1]) : null;
        }
        String jdbc =
                "jdbc:postgresql://"
                        + uri.getHost()
                        + (uri.getPort() > 0 ? ":" + uri.getPort() : "")
                        + (uri.getRawPath() == null || uri.getRawPath().isEmpty()
                                ? "/"
                                : uri.getRawPath())
                        + (uri.getRawQuery() != null ? "?" + uri.getRawQuery() : "");
        return new DatabaseUrl(jdbc, user, password);
    }

    /** libpq's {@code target_session_attrs}, as pgjdbc's {@code targetServerType}. */
    private static final java.util.Map<String, String> TARGETS =
            java.util.Map.of(
                    "any", "any",
                    "read-write", "primary",
                    "primary", "primary",
                    "read-only", "secondary",
                    "standby", "secondary",
                    "prefer-standby", "preferSecondary");

    private static DatabaseUrl parseMultiHost(String authority, String pathAndQuery) {
        int at = authority.lastIndexOf('@');
        String user = null;
        String password = null;
        if (at >= 0) {
            String[] parts = authority.substring(0, at).split(":", 2);
            user = decode(parts[0]);
            password = parts.length > 1 ? decode(parts[1]) : null;
        }
        String hosts = authority.substring(at + 1);
        for (String host : hosts.split(",")) {
            if (!host.matches("[A-Za-z0-9.\\-]+(:\\d{1,5})?|\\[[0-9A-Fa-f:.]+\\](:\\d{1,5})?")) {
                throw new IllegalArgumentException(
                        "database URL has an invalid host '"
                                + host
                                + "': expected postgres://user:pass@host1:port1,host2:port2/db");
            }
        }
        int q = pathAndQuery.indexOf('?');
        String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        String query = q < 0 ? "" : pathAndQuery.substring(q + 1);
        StringBuilder params = new StringBuilder();
        for (String param : query.isEmpty() ? new String[0] : query.split("&")) {
            String[] kv = param.split("=", 2);
            if (kv[0].equals("target_session_attrs")) {
                String target = kv.length > 1 ? TARGETS.get(kv[1]) : null;
                if (target == null) {
                    throw new IllegalArgumentException(
                            "database URL: target_session_attrs must be one of "
                                    + String.join(", ", new java.util.TreeSet<>(TARGETS.keySet())));
                }
                param = "targetServerType=" + target;
            }
            params.append(params.length() == 0 ? "?" : "&").append(param);
        }
        return new DatabaseUrl(
                "jdbc:postgresql://" + hosts + (path.isEmpty() ? "/" : path) + params,
                user,
                password);
    }

    private static int indexOfAny(String s, String chars) {
        for (int i = 0; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        String shown = jdbcUrl.replaceAll("(?i)(password=)[^&]*", "$1***");
        return user == null ? shown : shown + " (user " + user + ")";
    }
}
