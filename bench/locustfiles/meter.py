"""Loaded beside the locustfile under test (`-f file.py,bench/locustfiles/meter.py`): counts the
requests this process makes over a steady window, after every user is running.

Locust's own stats files have one-second timestamps, too coarse for a 3% target over a short
window, and a worker's stats are reset at every report to the master; so each process counts
its own requests (one listener call per request) and writes them to $BENCH_METER_DIR.
"""

import json
import os
import time
from pathlib import Path

import gevent
from locust import events
from locust.runners import MasterRunner

WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))
WINDOW = float(os.environ.get("BENCH_WINDOW", "10"))


_counts = [0, 0]
"""Requests and failures made by this process so far."""


@events.request.add_listener
def _count(exception=None, **_kwargs):
    _counts[0] += 1
    if exception:
        _counts[1] += 1


def _snapshot():
    return time.perf_counter(), time.process_time(), *_counts


def _measure(environment):
    gevent.sleep(WARMUP)
    start = _snapshot()
    gevent.sleep(WINDOW)
    end = _snapshot()
    seconds = end[0] - start[0]
    result = {
        "seconds": seconds,
        "requests": end[2] - start[2],
        "failures": end[3] - start[3],
        "cpu": (end[1] - start[1]) / seconds,
        "errors": [str(e.error)[:200] for e in list(environment.stats.errors.values())[:3]],
    }
    written = Path(os.environ["BENCH_METER_DIR"]) / f"{os.getpid()}.json"
    partial = written.with_suffix(".part")
    partial.write_text(json.dumps(result))
    partial.rename(written)  # whole: the benchmark stops the run once every meter is in


@events.init.add_listener
def _on_init(environment, runner, **_kwargs):
    if isinstance(runner, MasterRunner):
        return  # the workers measure what they make
    started = []

    @environment.events.spawning_complete.add_listener
    def _start(**_kwargs):
        if not started:
            started.append(gevent.spawn(_measure, environment))
