#!/usr/bin/env python3
"""An example serverless function for Pulse's serverless executor, standard library only.

  POST /summarize        sync:  answers with the result at once.
  POST /summarize-later  async: answers 202 at once, then reports the result to the
                         Pulse-Complete-Url it was sent, with its Pulse-Lease-Token, using the
                         API key in PULSE_REPORT_KEY (scope tasks:complete).

Run it:  PULSE_REPORT_KEY=<key> python3 summarize_function.py [PORT]   (default 8090)
"""
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def summarize(task_input):
    text = str(task_input.get("text", "")) if isinstance(task_input, dict) else ""
    words = text.split()
    return {"summary": " ".join(words[:8]) + ("…" if len(words) > 8 else ""), "words": len(words)}


def report_later(url, token, task_input):
    time.sleep(float(task_input.get("work_seconds", 1)) if isinstance(task_input, dict) else 1)
    body = json.dumps({"lease_token": token, "result": summarize(task_input)}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "Authorization": "Bearer " + os.environ.get("PULSE_REPORT_KEY", ""),
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            print(f"reported to {url}: HTTP {answer.status}", file=sys.stderr)
    except urllib.error.HTTPError as refused:
        print(f"report refused by {url}: HTTP {refused.code} {refused.read().decode()}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        task_input = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        if self.path == "/summarize":
            self.answer(200, summarize(task_input))
        elif self.path == "/summarize-later":
            url, token = self.headers.get("Pulse-Complete-Url"), self.headers.get("Pulse-Lease-Token")
            if not url or not token:
                self.answer(400, {"error": "expected Pulse-Complete-Url and Pulse-Lease-Token headers"})
                return
            threading.Thread(target=report_later, args=(url, token, task_input), daemon=True).start()
            self.answer(202, {"accepted": True})
        else:
            self.answer(404, {"error": "no such function"})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8090), Handler)
    print(f"example function listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
