"""`python -m replay.demo --host 127.0.0.1 --port 8089`: serve the demo shop until killed."""

import argparse
import contextlib

from gevent import monkey

monkey.patch_all()

from replay.demo.app import serve  # noqa: E402  (Flask and the app load after patching)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m replay.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port)


if __name__ == "__main__":
    main()
