"""Replay every recording in recordings/ with FastHttpUser: `locust -f locustfile.py --host URL`.

Each recording becomes its own user class (pick them with --recordings or Locust's
--class-picker); run `locust -f locustfile.py --help` for the options we add. Recordings
are read from recordings/ beside this file, or from $REPLAY_RECORDINGS_DIR.
"""

import os
from pathlib import Path

from locust import events

from replay.users import add_arguments, load_recordings, select_recordings, user_class

RECORDINGS = Path(os.environ.get("REPLAY_RECORDINGS_DIR") or Path(__file__).parent / "recordings")

for _session in load_recordings(RECORDINGS):
    globals()[_session.__name__] = user_class(_session)


@events.init_command_line_parser.add_listener
def _add_arguments(parser):
    add_arguments(parser)


@events.init.add_listener
def _select_recordings(environment, **_kwargs):
    if environment.parsed_options is not None:
        select_recordings(environment)
