"""`locust -f locustfile.py` from a checkout: the packaged locustfile
(replay/runtime/locustfile.py), on recordings/ beside this file unless $REPLAY_RECORDINGS_DIR
names another folder. Installed, `replay run ARGS` runs the packaged one on ./recordings.
"""

import os
from pathlib import Path

os.environ.setdefault("REPLAY_RECORDINGS_DIR", str(Path(__file__).parent / "recordings"))

from replay.runtime.locustfile import *  # noqa: E402, F403  (the user classes)
