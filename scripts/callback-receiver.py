#!/usr/bin/env python3
"""A tiny callback receiver for trying Pulse by hand.

Listens on 127.0.0.1:PORT (default 9000), prints every callback it receives and checks its
Standard Webhooks signature when PULSE_WEBHOOK_SECRET (whsec_...) is set in its environment.

    PULSE_WEBHOOK_SECRET=whsec_... python3 scripts/callback-receiver.py 9000
"""
import base64
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def signature_ok(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig.split(",", 1)[1])
               for sig in header.split() if sig.startswith("v1,"))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        secret = os.environ.get("PULSE_WEBHOOK_SECRET")
        verdict = "not checked (set PULSE_WEBHOOK_SECRET)"
        if secret:
            ok = signature_ok(secret, self.headers["webhook-id"], self.headers["webhook-timestamp"], body,
                              self.headers.get("webhook-signature", ""))
            verdict = "valid" if ok else "INVALID"
        event = json.loads(body)
        print(f"{event['type']} for task {event['data']['id']} (webhook-id {self.headers['webhook-id']}, "
              f"signature {verdict})")
        print(json.dumps(event, indent=2), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    print(f"waiting for callbacks on http://127.0.0.1:{port}/", flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
