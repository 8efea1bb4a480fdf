package dev.pulse.workers.callbacks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs callback bodies per the Standard Webhooks spec: HMAC-SHA256 over
 * {@code webhook-id + "." + webhook-timestamp + "." + body}, sent as {@code v1,<base64>}.
 */
public final class WebhookSigner {

    private final SecretKeySpec key;

    public WebhookSigner(WebhookSecret secret) {
        this.key = new SecretKeySpec(secret.key(), "HmacSHA256");
    }

    public String sign(String webhookId, long timestampSeconds, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            byte[] digest = mac.doFinal((webhookId + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }
}
