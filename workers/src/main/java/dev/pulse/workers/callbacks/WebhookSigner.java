package dev.pulse.workers.callbacks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs callback bodies per the Standard Webhooks spec: HMAC-SHA256 over {@code webhook-id + "." +
 * webhook-timestamp + "." + body}, sent as {@code v1,<base64>}.
 */
public final class WebhookSigner {

    // One keyed Mac per sending thread: looking one up and keying it cost more than the signature.
    private final ThreadLocal<Mac> macs;

    public WebhookSigner(WebhookSecret secret) {
        SecretKeySpec key = new SecretKeySpec(secret.key(), "HmacSHA256");
        this.macs =
                ThreadLocal.withInitial(
                        () -> {
                            try {
                                Mac mac = Mac.getInstance("HmacSHA256");
                                mac.init(key);
                                return mac;
                            } catch (GeneralSecurityException e) {
                                throw new IllegalStateException(
                                        "HmacSHA256 is part of every Java runtime", e);
                            }
                        });
    }

    public String sign(String webhookId, long timestampSeconds, String body) {
        // doFinal leaves the Mac reset, keyed, for the next message.
        byte[] digest =
                macs.get()
                        .doFinal(
                                (webhookId + "." + timestampSeconds + "." + body)
                                        .getBytes(StandardCharsets.UTF_8));
        return "v1," + Base64.getEncoder().encodeToString(digest);
    }
}
