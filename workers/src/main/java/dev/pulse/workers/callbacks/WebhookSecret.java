package dev.pulse.workers.callbacks;

import java.util.Base64;
import java.util.random.RandomGenerator;

/**
 * A Standard Webhooks signing secret: {@code whsec_} followed by base64 of the key bytes. Its
 * {@link #toString()} never shows the key.
 */
public final class WebhookSecret {

    public static final String PREFIX = "whsec_";
    private static final int GENERATED_BYTES = 32;

    private final String encoded;
    private final byte[] key;

    private WebhookSecret(String encoded, byte[] key) {
        this.encoded = encoded;
        this.key = key;
    }

    /**
     * @throws IllegalArgumentException saying what is wrong with the value, without echoing it
     */
    public static WebhookSecret parse(String value) {
        if (value == null || !value.startsWith(PREFIX)) {
            throw new IllegalArgumentException(
                    "webhook secret must start with "
                            + PREFIX
                            + " followed by base64, e.g. "
                            + PREFIX
                            + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(value.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "webhook secret after " + PREFIX + " is not valid base64");
        }
        if (key.length < 24) {
            throw new IllegalArgumentException(
                    "webhook secret is too short: use at least 24 random bytes (32 recommended)");
        }
        return new WebhookSecret(value, key);
    }

    public static WebhookSecret generate(RandomGenerator random) {
        byte[] key = new byte[GENERATED_BYTES];
        random.nextBytes(key);
        return parse(PREFIX + Base64.getEncoder().encodeToString(key));
    }

    byte[] key() {
        return key.clone();
    }

    /** The secret in its {@code whsec_} form, for storing and for showing once to the operator. */
    public String reveal() {
        return encoded;
    }

    @Override
    public String toString() {
        return PREFIX + "***";
    }
}
