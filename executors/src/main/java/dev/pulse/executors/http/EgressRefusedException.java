package dev.pulse.executors.http;

import java.net.UnknownHostException;

/** A destination the egress policy refuses; not worth retrying until the policy changes. */
public final class EgressRefusedException extends UnknownHostException {

    public EgressRefusedException(String host) {
        super(EgressPolicy.refusal(host));
    }
}
