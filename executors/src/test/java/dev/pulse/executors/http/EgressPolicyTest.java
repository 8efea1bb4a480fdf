package dev.pulse.executors.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EgressPolicyTest {

    private final EgressPolicy strict = EgressPolicy.allowing("");

    @ParameterizedTest
    @ValueSource(
            strings = {
                "127.0.0.1",
                "10.1.2.3",
                "172.20.0.1",
                "192.168.1.1",
                "169.254.169.254",
                "100.64.0.7",
                "0.0.0.0",
                "224.0.0.1",
                "::1",
                "fd00:ec2::254",
                "fe80::1",
                "::ffff:127.0.0.1",
                "::ffff:169.254.169.254"
            })
    void privateLoopbackLinkLocalAndMetadataAddressesAreRefusedByDefault(String address)
            throws Exception {
        assertThat(strict.permits("host", InetAddress.getByName(address))).isFalse();
        assertThat(strict.permitsLiteral(address.contains(":") ? "[" + address + "]" : address))
                .isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"93.184.215.14", "8.8.8.8", "2606:4700::1111"})
    void publicAddressesArePermitted(String address) throws Exception {
        assertThat(strict.permits("example.com", InetAddress.getByName(address))).isTrue();
    }

    @Test
    void allowedRangesAndHostNamesOpenTheirDestinationsOnly() throws Exception {
        EgressPolicy policy =
                EgressPolicy.allowing("10.20.0.0/16, 127.0.0.1, hooks.internal, *.corp.example");
        assertThat(policy.permits("x", InetAddress.getByName("10.20.5.5"))).isTrue();
        assertThat(policy.permits("x", InetAddress.getByName("10.21.5.5"))).isFalse();
        assertThat(policy.permits("x", InetAddress.getByName("127.0.0.1"))).isTrue();
        assertThat(policy.permits("x", InetAddress.getByName("127.0.0.2"))).isFalse();
        assertThat(policy.permits("hooks.internal", InetAddress.getByName("10.9.9.9"))).isTrue();
        assertThat(policy.permits("api.corp.example", InetAddress.getByName("192.168.3.3")))
                .isTrue();
        assertThat(policy.permits("corp.example.evil.com", InetAddress.getByName("192.168.3.3")))
                .isFalse();
        assertThat(policy.permitsLiteral("example.com")).as("names are judged after DNS").isNull();
    }

    @Test
    void aMalformedEntryIsRefusedWithItsText() {
        assertThatThrownBy(() -> EgressPolicy.allowing("10.0.0.0/99"))
                .hasMessageContaining("10.0.0.0/99");
        assertThatThrownBy(() -> EgressPolicy.allowing("not a host!"))
                .hasMessageContaining("not a host!");
    }

    @Test
    void anOkHttpClientUnderThePolicyRefusesLoopbackByAddressAndByNameUnlessAllowed()
            throws Exception {
        HttpServer server =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(
                "/",
                exchange -> {
                    exchange.sendResponseHeaders(204, -1);
                    exchange.close();
                });
        server.start();
        int port = server.getAddress().getPort();
        try {
            OkHttpClient refused = PolicyEnforcement.apply(new OkHttpClient(), strict);
            for (String host : new String[] {"127.0.0.1", "localhost"}) {
                Request request =
                        new Request.Builder().url("http://" + host + ":" + port + "/").build();
                assertThatThrownBy(() -> refused.newCall(request).execute())
                        .isInstanceOf(EgressRefusedException.class)
                        .hasMessageContaining("PULSE_EGRESS_ALLOW");
            }
            OkHttpClient allowed =
                    PolicyEnforcement.apply(
                            new OkHttpClient(), EgressPolicy.allowing("127.0.0.1/32"));
            try (Response r =
                    allowed.newCall(
                                    new Request.Builder()
                                            .url("http://localhost:" + port + "/")
                                            .build())
                            .execute()) {
                assertThat(r.code()).isEqualTo(204);
            }
        } finally {
            server.stop(0);
        }
    }
}
