"""Replay every recording with FastHttpUser: `replay run ARGS`, or `locust -f` this file.

Recordings are read from ./recordings of the working directory, or $REPLAY_RECORDINGS_DIR
(`replay run --recordings-dir DIR` sets it), and run-time settings from replay.toml in that
folder. Each recording becomes its own user class (pick them with --recordings or Locust's
--class-picker); `replay run --help` lists our options with Locust's own (see the README,
"Replay controls").
"""

from locust import events

from replay.runtime import model_shape, users
from replay.runtime.settings import recordings_folder

RECORDINGS = recordings_folder().absolute()
_USERS = users.recording_users(RECORDINGS)
globals().update({user.__name__: user for user in _USERS})
TrafficModel = model_shape.user_class()  # the users of --model; set aside without it
__all__ = [*(user.__name__ for user in _USERS), "TrafficModel"]
"""The user classes: what `from replay.runtime.locustfile import *` hands a locustfile."""


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
