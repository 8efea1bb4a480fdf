# A remote agent in 15 lines: run it with PULSE_KEY set, next to pulse_client.py.
import os, threading
from pulse_client import PulseClient, Worker

def shout(input):                                   # a task's input in, its result out
    return {"text": input["text"].upper() + "!"}

url, key = os.environ.get("PULSE_URL", "http://localhost:8080"), os.environ["PULSE_KEY"]
stop = threading.Event()
worker = threading.Thread(target=Worker(url, key, handlers={"shout": shout}).run, args=(stop,))
worker.start()
pulse = PulseClient(url, key)
task = pulse.queue_task("shout", {"text": "hello from a remote agent"})
print(pulse.wait_for_task(task["id"])["result"])    # {'text': 'HELLO FROM A REMOTE AGENT!'}
stop.set(); worker.join()
