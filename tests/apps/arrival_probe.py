"""A locustfile for tests, run beside the project's: writes when each request started.

`locust -f locustfile.py,tests/apps/arrival_probe.py` with $ARRIVAL_PROBE set: each process
writes ARRIVAL_PROBE.<pid>.json with the test's start and every request's start, method,
name and whether it failed, so a test can count session arrivals per second as sent.
"""

import json
import os
import time

from locust import events

STARTED: list[float] = []
REQUESTS: list[tuple[float, str, str, bool]] = []


@events.test_start.add_listener
def _started(**_kwargs):
    STARTED.append(time.time())


@events.request.add_listener
def _request(request_type, name, exception=None, start_time=None, **_kwargs):
    REQUESTS.append((start_time or time.time(), request_type, name, exception is not None))


@events.quitting.add_listener
def _write(**_kwargs):
    path = f"{os.environ['ARRIVAL_PROBE']}.{os.getpid()}.json"
    with open(path, "w") as f:
        json.dump({"started": STARTED, "requests": REQUESTS}, f)
