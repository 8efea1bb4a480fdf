package dev.pulse.executors.http;

import java.net.InetAddress;
import java.util.List;
import okhttp3.Dns;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;

/**
 * Applies an {@link EgressPolicy} to an OkHttp client: names are judged by the addresses they
 * resolve to (a DNS hook, so the connection goes only to the addresses judged), IP literals (which
 * OkHttp does not resolve) by an interceptor before the call is made.
 */
public final class PolicyEnforcement {

    private PolicyEnforcement() {}

    public static OkHttpClient apply(OkHttpClient client, EgressPolicy policy) {
        Dns system = client.dns();
        Dns checked =
                host -> {
                    List<InetAddress> permitted =
                            system.lookup(host).stream()
                                    .filter(a -> policy.permits(host, a))
                                    .toList();
                    if (permitted.isEmpty()) {
                        throw new EgressRefusedException(host);
                    }
                    return permitted;
                };
        Interceptor literals =
                chain -> {
                    String host = chain.request().url().host();
                    if (Boolean.FALSE.equals(policy.permitsLiteral(host))) {
                        throw new EgressRefusedException(host);
                    }
                    return chain.proceed(chain.request());
                };
        return client.newBuilder().dns(checked).addInterceptor(literals).build();
    }

    /** Whether an exception (or its cause) is a refusal by the policy. */
    public static boolean isRefusal(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof EgressRefusedException) {
                return true;
            }
        }
        return false;
    }
}
