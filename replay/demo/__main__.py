"""`python -m replay.demo --port 8000`: serve the demo shop until killed (`replay demo --serve`).

Not 8089: that is Locust's web UI.
"""

import argparse
import contextlib

from gevent import monkey

monkey.patch_all()

from replay.demo.app import serve  # noqa: E402  (Flask and the app load after patching)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m replay.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="default 8000; 0 picks a free port")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port)


if __name__ == "__main__":
    main()
