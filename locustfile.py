"""Replay every recording in recordings/ with FastHttpUser: `locust -f locustfile.py --host URL`.

Each recording becomes its own user class (pick them with --recordings or Locust's
--class-picker); `replay run --help` lists the options we add (Locust prints its own --help
before it reads a locustfile, so `locust --help` cannot). Recordings
are read from recordings/ beside this file, or from $REPLAY_RECORDINGS_DIR, and run-time
settings from replay.toml in that folder (see the README, "Replay controls").
"""

import os
from pathlib import Path

from locust import events

from replay.runtime import model_shape, users

RECORDINGS = Path(os.environ.get("REPLAY_RECORDINGS_DIR") or Path(__file__).parent / "recordings")

for _session in users.load_recordings(RECORDINGS):
    globals()[_session.__name__] = users.user_class(_session)
TrafficModel = model_shape.user_class()  # the users of --model; set aside without it


@events.init_command_line_parser.add_listener
def _add_arguments(parser):
    users.add_arguments(parser)


@events.init.add_listener
def _init(environment, **_kwargs):
    model_shape.on_init(environment)
    users.on_init(environment, RECORDINGS)


@events.test_start.add_listener
def _test_start(environment, **_kwargs):
    users.on_test_start(environment, RECORDINGS)
    model_shape.on_test_start(environment)


@events.test_stop.add_listener
def _test_stop(environment, **_kwargs):
    users.on_test_stop(environment)
    model_shape.on_test_stop(environment)
