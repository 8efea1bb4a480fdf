"""Tests of pulse_client.py against a real Pulse node.

The Maven build runs them (server: clients/PythonClientTest starts a node and runs
``python3 -m unittest`` here); to run them by hand against a node of your own:

    PULSE_URL=http://localhost:8080 PULSE_KEY=<admin key> PULSE_WORK_KEY=<tasks:work key> \\
    PULSE_WEBHOOK_SECRET=whsec_... python3 -m unittest -v test_pulse_client

The node must allow callbacks to 127.0.0.1 (PULSE_EGRESS_ALLOW=127.0.0.1/32): the callback
receiver here is a loopback stand-in for a service's endpoint.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

from pulse_client import PulseClient, PulseError, WebhookVerificationError, Worker, verify_webhook

URL = os.environ.get("PULSE_URL", "http://127.0.0.1:8080")
ADMIN_KEY = os.environ.get("PULSE_KEY", "")
WORK_KEY = os.environ.get("PULSE_WORK_KEY", ADMIN_KEY)
SECRET = os.environ.get("PULSE_WEBHOOK_SECRET", "")
PATIENCE = 120.0
HERE = os.path.dirname(os.path.abspath(__file__))


def put_agent(name, spec):
    """Declares an agent through PUT /v1/agents/{name} (the client has no call for it)."""
    client = PulseClient(URL, ADMIN_KEY)
    document = {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": name}, "spec": spec}
    client._http.request("PUT", f"/v1/agents/{name}", document)


def remote_agent(spec_extra=None, lease="2s"):
    name = "py-" + uuid.uuid4().hex[:10]
    put_agent(name, {"executor": "remote", "remote": {"lease": lease}, **(spec_extra or {})})
    return name


def await_true(check, what, patience=PATIENCE):
    deadline = time.monotonic() + patience
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {patience} s: {what}")
        time.sleep(0.05)


class CallbackReceiver:
    """A loopback stand-in for a service receiving Pulse's callbacks: keeps every request."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def all(self):
        with self.lock:
            return list(self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WorkerThread:
    """A Worker running on a thread of this process until stopped."""

    def __init__(self, handlers, **options):
        self.stop = threading.Event()
        self.worker = Worker(URL, WORK_KEY, handlers, **options)
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "Worker.run() did not return after stop was set"


@unittest.skipUnless(ADMIN_KEY, "set PULSE_URL and PULSE_KEY to a Pulse node (the Maven build does)")
class PulseClientTest(unittest.TestCase):

    def setUp(self):
        self.pulse = PulseClient(URL, ADMIN_KEY)

    def test_a_queued_task_is_read_listed_and_waited_for(self):
        task = self.pulse.queue_task("echo", {"hello": "world"}, metadata={"ticket": "T-1"})
        self.assertIn(task["state"], ("queued", "running", "succeeded"))
        done = self.pulse.wait_for_task(task["id"], timeout=PATIENCE)
        self.assertEqual("succeeded", done["state"])
        self.assertEqual({"hello": "world"}, done["result"])
        self.assertEqual({"ticket": "T-1"}, self.pulse.get_task(task["id"])["metadata"])
        listed = self.pulse.list_tasks(agent="echo", state="succeeded", limit=100)
        self.assertIn(task["id"], [t["id"] for t in listed["items"]])

    def test_bad_input_raises_a_pulse_error_naming_the_field(self):
        with self.assertRaises(PulseError) as caught:
            self.pulse.queue_task("no-such-agent")
        self.assertEqual(422, caught.exception.status)
        self.assertEqual("agent", caught.exception.problem["errors"][0]["field"])

    def test_wait_for_task_gives_up_after_its_timeout(self):
        later = self.pulse.queue_task("echo", delay_seconds=3600)
        with self.assertRaises(TimeoutError):
            self.pulse.wait_for_task(later["id"], timeout=0.3)
        self.assertEqual("cancelled", self.pulse.cancel_task(later["id"])["state"])

    def test_a_worker_runs_its_agents_tasks_and_reports_their_results(self):
        agent = remote_agent()
        worker = WorkerThread({agent: lambda input: {"upper": input["text"].upper()}}, concurrency=2,
                              worker_id="py-test-worker")
        try:
            ids = [self.pulse.queue_task(agent, {"text": f"hi {i}"})["id"] for i in range(5)]
            for i, id in enumerate(ids):
                done = self.pulse.wait_for_task(id, timeout=PATIENCE)
                self.assertEqual("succeeded", done["state"], done)
                self.assertEqual({"upper": f"HI {i}"}, done["result"])
                self.assertEqual(1, done["attempts"])
        finally:
            worker.close()
        attempts = self.pulse._http.request("GET", f"/v1/tasks/{ids[0]}/attempts")[0]["items"]
        self.assertEqual("remote:py-test-worker", attempts[0]["node"])

    def test_an_exception_is_reported_as_the_attempts_error(self):
        agent = remote_agent({"max_attempts": 1})

        def broken(input):
            raise ValueError("no text given")

        worker = WorkerThread({agent: broken})
        try:
            done = self.pulse.wait_for_task(self.pulse.queue_task(agent)["id"], timeout=PATIENCE)
        finally:
            worker.close()
        self.assertEqual("failed", done["state"])
        self.assertEqual("agent_error", done["error"]["code"])
        self.assertIn("ValueError: no text given", done["error"]["message"])

    def test_heartbeats_keep_a_task_longer_than_its_lease(self):
        agent = remote_agent(lease="1s")
        worker = WorkerThread({agent: lambda input: time.sleep(3) or {"slept": 3}})
        try:
            done = self.pulse.wait_for_task(self.pulse.queue_task(agent)["id"], timeout=PATIENCE)
        finally:
            worker.close()
        self.assertEqual("succeeded", done["state"])
        self.assertEqual(1, done["attempts"], "the lease was never lost")

    def test_a_cancelled_task_is_abandoned_and_stays_cancelled(self):
        agent = remote_agent({"max_attempts": 1}, lease="1s")
        started, release = threading.Event(), threading.Event()

        def slow(input):
            started.set()
            release.wait(PATIENCE)
            return {"finished": True}

        worker = WorkerThread({agent: slow})
        try:
            task = self.pulse.queue_task(agent)
            self.assertTrue(started.wait(PATIENCE))
            self.pulse.cancel_task(task["id"])
            done = self.pulse.wait_for_task(task["id"], timeout=PATIENCE)
            self.assertEqual("cancelled", done["state"])
            release.set()
        finally:
            release.set()
            worker.close()
        self.assertEqual("cancelled", self.pulse.get_task(task["id"])["state"])
        self.assertIsNone(self.pulse.get_task(task["id"]).get("result"))

    def test_run_returns_promptly_when_stop_is_set_during_a_long_poll(self):
        agent = remote_agent()
        worker = WorkerThread({agent: lambda input: {}}, wait_seconds=60)
        time.sleep(0.5)  # let it start waiting on its long poll
        began = time.monotonic()
        worker.close()
        self.assertLess(time.monotonic() - began, 30, "run() waited out its long poll")

    @unittest.skipUnless(SECRET, "set PULSE_WEBHOOK_SECRET to the node's webhook secret")
    def test_verify_webhook_accepts_pulses_callbacks_and_refuses_tampered_ones(self):
        receiver = CallbackReceiver()
        try:
            task = self.pulse.queue_task("echo", {"n": 1}, callback_url=receiver.url)
            await_true(lambda: receiver.all(), "a callback")
            headers, body = receiver.all()[0]
        finally:
            receiver.close()
        event = verify_webhook(SECRET, headers, body)
        self.assertEqual("task.succeeded", event["type"])
        self.assertEqual(task["id"], event["data"]["id"])
        self.assertEqual(event, verify_webhook(SECRET, {k.upper(): v for k, v in headers.items()}, body.decode()))

        with self.assertRaises(WebhookVerificationError):
            verify_webhook(SECRET, headers, body.replace(b'"n":1', b'"n":2').replace(b'"n": 1', b'"n": 2') + b" ")
        with self.assertRaises(WebhookVerificationError):
            verify_webhook("whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode(),
                           headers, body)
        old = dict(headers)
        old_time = str(int(time.time()) - 3600)
        key = base64.b64decode(SECRET[len("whsec_"):])
        msg_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        signed = hmac.new(key, f"{msg_id}.{old_time}.".encode() + body, hashlib.sha256).digest()
        old = {"webhook-id": msg_id, "webhook-timestamp": old_time,
               "webhook-signature": "v1," + base64.b64encode(signed).decode()}
        with self.assertRaises(WebhookVerificationError) as caught:
            verify_webhook(SECRET, old, body)
        self.assertIn("timestamp", str(caught.exception))
        self.assertEqual(event, verify_webhook(SECRET, old, body, tolerance_seconds=7200))


@unittest.skipUnless(ADMIN_KEY, "set PULSE_URL and PULSE_KEY to a Pulse node (the Maven build does)")
class ExampleTest(unittest.TestCase):
    """The README's remote agent (example_remote_agent.py, for the shipped example agent shout)."""

    def test_the_readme_example_runs(self):
        with open(os.path.join(HERE, "..", "..", "config", "examples", "agents", "shout-remote.yaml")) as f:
            self.assertIn("executor: remote", f.read())
        put_agent("shout", {"executor": "remote", "timeout": "1m", "max_attempts": 3, "remote": {"lease": "30s"}})
        example = os.path.join(HERE, "example_remote_agent.py")
        out = subprocess.run([sys.executable, example], cwd=HERE, capture_output=True, text=True,
                             timeout=PATIENCE, env={**os.environ, "PULSE_URL": URL, "PULSE_KEY": ADMIN_KEY})
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertEqual("{'text': 'HELLO FROM A REMOTE AGENT!'}", out.stdout.strip())
        with open(example) as f, open(os.path.join(HERE, "..", "..", "README.md")) as readme:
            code = f.read()
            self.assertLessEqual(len(code.strip().splitlines()), 15)
            self.assertIn(code.strip(), readme.read(), "README.md shows example_remote_agent.py as it is")


WORKER_PROCESS = """
import sys, threading, time
sys.path.insert(0, {here!r})
from pulse_client import Worker

handled = 0
counting = threading.Lock()

def handle(input):
    global handled
    with counting:
        handled += 1
        hang = {hang_after!r} is not None and handled > {hang_after!r}
    if hang:
        # Holds this task (and, one per slot, the next ones) until the process is killed.
        open({marker!r}, "w").close()
        time.sleep(3600)
    time.sleep(0.01)
    return {{"n": input["n"], "worker": {worker_id!r}}}

Worker({url!r}, {key!r}, {{{agent!r}: handle}}, concurrency=4, worker_id={worker_id!r}, wait_seconds=5).run()
"""


@unittest.skipUnless(ADMIN_KEY, "set PULSE_URL and PULSE_KEY to a Pulse node (the Maven build does)")
class DrainTest(unittest.TestCase):
    """Three worker processes drain 1,000 tasks while one is killed with kill -9 mid-run."""

    TASKS = 1000

    def test_three_workers_drain_a_thousand_tasks_while_one_is_killed(self):
        pulse = PulseClient(URL, ADMIN_KEY)
        # A short lease, so that the killed worker's tasks come back quickly; attempts enough for
        # a task to be lost once.
        agent = remote_agent({"max_attempts": 5}, lease="3s")
        receiver = CallbackReceiver()
        workers = []
        try:
            # The victim hangs in the tasks it takes after its first 20, so that it is killed
            # while it holds some, however the machine schedules the three processes.
            marker = os.path.join(tempfile.mkdtemp(), "victim-holds-tasks")
            for i in range(3):
                code = WORKER_PROCESS.format(here=HERE, url=URL, key=WORK_KEY, agent=agent,
                                             worker_id=f"drain-{i}", marker=marker,
                                             hang_after=20 if i == 0 else None)
                workers.append(subprocess.Popen([sys.executable, "-c", code]))
            items = [{"agent": agent, "input": {"n": n}, "callback_url": receiver.url}
                     for n in range(self.TASKS)]
            created = pulse._http.request("POST", "/v1/tasks/batch", {"tasks": items})[0]
            ids = {r["id"]: n for n, r in enumerate(created["items"])}
            self.assertEqual(self.TASKS, len(ids))

            # Kill one worker while it holds tasks: once some are done, and it is holding some.
            await_true(lambda: len(receiver.all()) >= self.TASKS // 5, "a fifth of the tasks done")
            await_true(lambda: os.path.exists(marker), "the victim holding tasks")
            victim = workers[0]
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(PATIENCE)

            await_true(lambda: len(receiver.all()) >= self.TASKS, "every callback", patience=300)
            time.sleep(1)  # a duplicate would come now, if any were sent
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait(PATIENCE)
            receiver.close()

        callbacks = {}
        for headers, body in receiver.all():
            event = verify_webhook(SECRET, headers, body) if SECRET else json.loads(body)
            callbacks.setdefault(event["data"]["id"], []).append(event)
        self.assertEqual(set(ids), set(callbacks), "a callback for every task, and for no other")
        duplicates = {id: len(events) for id, events in callbacks.items() if len(events) != 1}
        self.assertEqual({}, duplicates, "every callback delivered once")

        lost = 0
        for id, n in ids.items():
            task = pulse.get_task(id)
            self.assertEqual("succeeded", task["state"], task)
            self.assertEqual(n, task["result"]["n"])
            attempts = pulse._http.request("GET", f"/v1/tasks/{id}/attempts")[0]["items"]
            outcomes = [a["outcome"] for a in attempts]
            self.assertEqual(1, outcomes.count("succeeded"), f"task {id} done once: {outcomes}")
            self.assertTrue(all(o in ("succeeded", "lost", "stale") for o in outcomes), outcomes)
            self.assertEqual(len(attempts), task["attempts"])
            lost += outcomes.count("lost") + outcomes.count("stale")
            if len(attempts) > 1:
                self.assertEqual("remote:drain-0", attempts[0]["node"], "only the killed worker lost tasks")
        self.assertGreater(lost, 0, "the worker was killed while it held tasks, and they were rescued")
        print(f"\ndrain: {self.TASKS} tasks, {lost} attempt(s) lost with the killed worker and run again",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
