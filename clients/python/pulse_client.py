"""A client for Pulse in one file: copy it into your project. Standard library only, Python >= 3.9.

    from pulse_client import PulseClient, Worker, verify_webhook

    pulse = PulseClient("http://localhost:8080", "pulse_...")
    task = pulse.queue_task("summarize", {"text": "..."}, callback_url="https://example.com/hook")
    done = pulse.wait_for_task(task["id"], timeout=60)

    # A remote agent (spec.executor: remote): this process runs its tasks.
    Worker("http://localhost:8080", "pulse_...", handlers={"summarize": lambda input: {...}}).run()

    # In a callback receiver: check the Standard Webhooks signature, get the event.
    event = verify_webhook("whsec_...", request_headers, request_body)

Every call raises PulseError (with the problem document Pulse answered) for an HTTP error.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import socket
import threading
import time
import traceback
import urllib.parse
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

__all__ = ["PulseClient", "Worker", "verify_webhook", "PulseError", "WebhookVerificationError"]

TERMINAL_STATES = ("succeeded", "failed", "cancelled")


class PulseError(Exception):
    """An HTTP error from Pulse: ``status`` and the problem document (``problem``, a dict)."""

    def __init__(self, status: int, problem: Dict[str, Any]):
        self.status = status
        self.problem = problem
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title') or problem}")


class WebhookVerificationError(Exception):
    """A callback whose signature or timestamp does not check out: do not trust its body."""


class _Http:
    """One request per connection, so that another thread can abort a long poll (``abort``)."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0):
        url = urllib.parse.urlsplit(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port], got {base_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._prefix = url.path
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": "pulse_client.py",
        }
        self._timeout = timeout
        self._lock = threading.Lock()
        self._open = set()

    def request(self, method: str, path: str, body: Any = None,
                timeout: Optional[float] = None) -> Tuple[Dict[str, Any], Mapping[str, str]]:
        """Sends a request; returns the JSON answer and the response headers, or raises."""
        connection_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = connection_class(self._host, self._port, timeout=timeout or self._timeout)
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        with self._lock:
            self._open.add(conn)
        try:
            conn.request(method, self._prefix + path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            answer = json.loads(raw) if raw else {}
            if response.status >= 400:
                raise PulseError(response.status, answer if isinstance(answer, dict) else {"detail": raw})
            return answer, response.headers
        finally:
            with self._lock:
                self._open.discard(conn)
            conn.close()

    def abort(self) -> None:
        """Cuts every request in flight (they raise OSError): how a worker stops a long poll."""
        with self._lock:
            connections = list(self._open)
        for conn in connections:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class PulseClient:
    """Queue tasks and follow them. ``api_key`` needs ``tasks:write`` to queue, ``tasks:read`` to read."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0):
        self._http = _Http(base_url, api_key, timeout)

    def queue_task(self, agent: str, input: Any = None, **fields: Any) -> Dict[str, Any]:
        """POST /v1/tasks. ``fields`` are the request's other fields: callback_url, metadata,
        delay_seconds, run_at, priority, timeout_seconds, max_attempts, idempotency_key, ..."""
        body = {"agent": agent, **fields}
        if input is not None:
            body["input"] = input
        return self._http.request("POST", "/v1/tasks", body)[0]

    def get_task(self, id: str) -> Dict[str, Any]:
        return self._http.request("GET", f"/v1/tasks/{urllib.parse.quote(str(id))}")[0]

    def list_tasks(self, **filters: Any) -> Dict[str, Any]:
        """GET /v1/tasks: filters such as state, agent, schedule, limit, cursor; returns
        ``{"items": [...], "next_cursor": ...}``."""
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        return self._http.request("GET", "/v1/tasks" + (f"?{query}" if query else ""))[0]

    def cancel_task(self, id: str) -> Dict[str, Any]:
        return self._http.request("POST", f"/v1/tasks/{urllib.parse.quote(str(id))}/cancel")[0]

    def wait_for_task(self, id: str, timeout: float = 60) -> Dict[str, Any]:
        """The task once it has ended (succeeded, failed or cancelled); raises TimeoutError if it
        has not ended within ``timeout`` seconds. Polls every 50 ms at first, backing off to 1 s."""
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            task = self.get_task(id)
            if task.get("state") in TERMINAL_STATES:
                return task
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"task {id} is still {task.get('state')} after {timeout} s")
            time.sleep(min(pause, left))
            pause = min(pause * 2, 1.0)


class _Lost(Exception):
    """The lease is no longer this worker's (409), or the task was cancelled: stop, report nothing."""


class Worker:
    """Runs the tasks of remote agents (``spec.executor: remote``) in this process.

    ``handlers`` maps agent names to functions ``fn(input) -> dict``; up to ``concurrency`` run at
    once, each on its own thread. ``run()`` claims with long polls, heartbeats every third of the
    lease while a function runs, and reports its result, or the exception it raised as the
    attempt's error (retried by Pulse while attempts remain). A task cancelled meanwhile, or whose
    lease was lost, is abandoned: its function's result is dropped. The key needs ``tasks:work``.
    """

    def __init__(self, base_url: str, api_key: str, handlers: Mapping[str, Callable[[Any], Any]],
                 concurrency: int = 1, worker_id: Optional[str] = None, wait_seconds: float = 30,
                 log: Optional[Callable[[str], None]] = None):
        if not handlers:
            raise ValueError("handlers must name at least one agent")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.worker_id = worker_id or _default_worker_id()
        self.wait_seconds = min(max(wait_seconds, 0), 60)
        self._http = _Http(base_url, api_key, timeout=30)
        # Claims on a client of their own: stopping cuts a waiting claim, never a report.
        self._claims = _Http(base_url, api_key, timeout=self.wait_seconds + 30)
        self._log = log or (lambda message: None)
        self._slots = threading.Semaphore(concurrency)
        self._running: List[threading.Thread] = []

    def run(self, stop: Optional[threading.Event] = None) -> None:
        """Works until ``stop`` is set (forever without one); then returns once the tasks it holds
        have been reported. Network errors are retried with backoff (0.5 s doubling to 30 s)."""
        stop = stop or threading.Event()
        watcher = threading.Thread(target=self._abort_on, args=(stop,), daemon=True)
        watcher.start()
        backoff = 0.5
        try:
            while not stop.is_set():
                free = self._take_free_slots(stop)
                if free == 0:
                    continue
                try:
                    tasks, lease_seconds = self._claim(free)
                    backoff = 0.5
                except (OSError, http.client.HTTPException, PulseError, ValueError) as e:
                    self._release(free)
                    if stop.is_set():
                        break
                    if isinstance(e, PulseError) and e.status in (401, 403, 422):
                        raise
                    self._log(f"claim failed ({e}); retrying in {backoff:.1f} s")
                    stop.wait(backoff * random.uniform(0.5, 1.0))
                    backoff = min(backoff * 2, 30)
                    continue
                self._release(free - len(tasks))
                for task in tasks:
                    thread = threading.Thread(target=self._work, args=(task, lease_seconds),
                                              name=f"pulse-task-{task['id']}", daemon=True)
                    self._running.append(thread)
                    thread.start()
                self._running = [t for t in self._running if t.is_alive()]
        finally:
            for thread in self._running:
                thread.join()

    def _abort_on(self, stop: threading.Event) -> None:
        stop.wait()
        self._claims.abort()

    def _take_free_slots(self, stop: threading.Event) -> int:
        """Waits (until stop) for a free slot, then takes every free one."""
        while not self._slots.acquire(timeout=0.2):
            if stop.is_set():
                return 0
        taken = 1
        while taken < self.concurrency and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _release(self, n: int) -> None:
        for _ in range(n):
            self._slots.release()

    def _claim(self, limit: int) -> Tuple[List[Dict[str, Any]], Dict[str, float]]:
        answer, headers = self._claims.request("POST", "/v1/workers/claim", {
            "worker": self.worker_id,
            "agents": sorted(self.handlers),
            "limit": limit,
            "wait_seconds": self.wait_seconds,
        })
        tasks = answer.get("tasks", [])
        server_now = _server_time(headers)
        leases = {t["id"]: max(0.3, _parse_time(t["lease_expires_at"]) - server_now) for t in tasks}
        return tasks, leases

    def _work(self, task: Dict[str, Any], leases: Dict[str, float]) -> None:
        try:
            interval = leases.get(task["id"], 30.0) / 3
            outcome: Dict[str, Any] = {}
            done = threading.Event()

            def call() -> None:
                try:
                    outcome["result"] = self.handlers[task["agent"]](task.get("input"))
                except BaseException as e:  # the agent's failure is the attempt's error
                    outcome["error"] = {"code": "agent_error", "message": f"{type(e).__name__}: {e}"[:4096]}
                    outcome["logs"] = traceback.format_exc()[-65536:]
                finally:
                    done.set()

            threading.Thread(target=call, name=f"pulse-agent-{task['id']}", daemon=True).start()
            try:
                while not done.wait(interval):
                    self._heartbeat(task)
                self._complete(task, outcome)
            except _Lost as lost:
                self._log(f"task {task['id']}: {lost}; its result is dropped")
        finally:
            self._slots.release()

    def _heartbeat(self, task: Dict[str, Any]) -> None:
        try:
            answer, _ = self._http.request("POST", f"/v1/tasks/{task['id']}/heartbeat",
                                           {"lease_token": task["lease_token"]}, timeout=10)
        except PulseError as e:
            if e.status in (404, 409):
                raise _Lost(f"lease lost ({e})")
            self._log(f"heartbeat of {task['id']} refused ({e}); trying again at the next one")
            return
        except (OSError, http.client.HTTPException) as e:
            self._log(f"heartbeat of {task['id']} failed ({e}); trying again at the next one")
            return
        if answer.get("cancel_requested"):
            raise _Lost("the task was cancelled")

    def _complete(self, task: Dict[str, Any], outcome: Dict[str, Any]) -> None:
        report: Dict[str, Any] = {"lease_token": task["lease_token"]}
        if "error" in outcome:
            report["error"] = outcome["error"]
            report["logs"] = outcome.get("logs")
        else:
            report["result"] = outcome.get("result")
        pause = 0.5
        for _ in range(12):  # network errors: about a minute of retries, then the lease decides
            try:
                self._http.request("POST", f"/v1/tasks/{task['id']}/complete", report, timeout=30)
                return
            except PulseError as e:
                if e.status in (404, 409):
                    raise _Lost(f"report refused ({e})")
                if e.status < 500 and e.status != 429:
                    self._log(f"report of {task['id']} refused ({e})")
                    return
            except (OSError, http.client.HTTPException) as e:
                self._log(f"report of {task['id']} failed ({e}); retrying")
            time.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, 10)


def verify_webhook(secret: str, headers: Mapping[str, str], body: Union[bytes, str],
                   tolerance_seconds: int = 300) -> Dict[str, Any]:
    """Checks a Pulse callback per Standard Webhooks and returns its event (a dict).

    ``secret`` is the webhook signing secret (``whsec_<base64>``, Pulse's ``PULSE_WEBHOOK_SECRET``),
    ``headers`` the request's headers (any capitalisation), ``body`` its raw body. Raises
    WebhookVerificationError unless one ``v1`` signature matches and ``webhook-timestamp`` is within
    ``tolerance_seconds`` of now (a replayed old request is refused).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    timestamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not a number: {timestamp!r}") from None
    if abs(time.time() - sent_at) > tolerance_seconds:
        raise WebhookVerificationError(f"webhook-timestamp {sent_at} is more than {tolerance_seconds} s from now")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    expected = hmac.new(key, f"{msg_id}.{sent_at}.".encode() + raw, hashlib.sha256).digest()
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(value)
        except ValueError:
            continue
        if hmac.compare_digest(expected, candidate):
            return json.loads(raw)
    raise WebhookVerificationError("no v1 signature matches: wrong secret, or the body was changed")


def _default_worker_id() -> str:
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:60] or "worker"
    return f"{host}-{os.getpid()}-{random.randrange(16 ** 4):04x}"


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)


def _parse_time(text: str) -> float:
    """RFC 3339 as Pulse writes it, with any number of fractional digits (3.9's fromisoformat
    takes only 3 or 6)."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    zone = "+00:00" if m.group(3).upper() == "Z" else m.group(3)
    whole = datetime.fromisoformat(m.group(1) + zone).timestamp()
    return whole + float(m.group(2) or 0)


def _server_time(headers: Mapping[str, str]) -> float:
    """The server's clock from its Date header (whole seconds, so the mid-second), else ours."""
    try:
        return parsedate_to_datetime(headers["Date"]).timestamp() + 0.5
    except (KeyError, TypeError, ValueError):
        return time.time()
