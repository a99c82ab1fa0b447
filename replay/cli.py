"""`replay`: convert captures into recordings, record sessions, run and verify them.

The only module that ties the stages together; errors end in one line and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from recorder.model import CaptureError, Recording
from replay import pipeline
from replay.rules import NO_RULES, Rules, RulesError, parse_rules, rules_path

logger = logging.getLogger("replay")

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; shown as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    _log_to_terminal()
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except (UserError, CaptureError, RulesError) as e:
        logger.error("replay: error: %s", e)
        return EXIT_USAGE
    except KeyboardInterrupt:
        logger.error("replay: interrupted; nothing was overwritten")
        return 130
    except Exception as e:  # noqa: BLE001 (one line for the user; the traceback on request)
        if os.environ.get("REPLAY_DEBUG"):
            raise
        logger.error(
            "replay: internal error: %s: %s (set REPLAY_DEBUG=1 for details)", type(e).__name__, e
        )
        return 1


def _log_to_terminal() -> None:
    """Summaries on stdout, warnings and errors on stderr, as plain lines."""
    out, err = logging.StreamHandler(sys.stdout), logging.StreamHandler(sys.stderr)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[out, err])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="replay", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    convert = commands.add_parser("convert", help="turn a HAR or capture into a recording")
    convert.add_argument("capture", type=Path, help="HAR file, capture .jsonl or mitmproxy flows")
    convert.add_argument("-o", "--output", type=Path, help="default: recordings/NAME.py")
    _add_convert_options(convert)
    convert.set_defaults(command=convert_command)

    record = commands.add_parser("record", help="record a browser session, then convert it")
    record.add_argument("name", help="recording name: writes recordings/NAME.py")
    how = record.add_mutually_exclusive_group(required=True)
    how.add_argument("--proxy", action="store_true", help="record through mitmproxy")
    how.add_argument("--browser", metavar="URL", help="open Chromium at URL and record a HAR")
    record.add_argument("--port", type=int, default=8080, help="proxy port (default 8080)")
    record.add_argument("--steps", type=Path, help="drive the browser with these steps")
    record.add_argument("--script", type=Path, help="drive the browser with run(page) here")
    record.add_argument(
        "--headless", action="store_true", help="no window (implied by --steps/--script)"
    )
    _add_convert_options(record)
    record.set_defaults(command=record_command)

    demo = commands.add_parser("demo", help="run the bundled demo app and replay against it")
    demo.add_argument("--users", type=int, default=5)
    demo.add_argument("--run-time", default="20s")
    demo.set_defaults(command=demo_command)
    return parser


def _add_convert_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="class name (default: from the file name)")
    parser.add_argument("--host", default="", help="target host (default: first page's site)")
    parser.add_argument(
        "--include-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also keep requests to this host or domain (repeatable)",
    )
    parser.add_argument("--keep-static", action="store_true", help="keep static assets")
    parser.add_argument(
        "--no-correlate", dest="correlate", action="store_false", help="replay values verbatim"
    )


def convert_command(args: argparse.Namespace) -> int:
    output = args.output or Path("recordings") / f"{pipeline.module_name(args.capture)}.py"
    return _convert(args.capture, output, args)


def _convert(capture: Path, output: Path, args: argparse.Namespace) -> int:
    recording = read_capture(capture)
    options = pipeline.Options(
        name=args.name or "",
        host=args.host,
        include_hosts=tuple(args.include_host),
        keep_static=args.keep_static,
        correlate=args.correlate,
        rules=read_rules(output),
    )
    try:
        result = pipeline.convert(recording, options)
    except (pipeline.NothingToReplay, RulesError) as e:
        raise UserError(f"{capture}: {e}") from None
    write_atomically(output, result.source)
    for line in pipeline.summary(recording, result, output):
        logger.info("%s", line)
    return 0


def read_rules(output: Path) -> Rules:
    """The rules beside the recording, else `[tool.replay]` of ./pyproject.toml, else none."""
    for path in (rules_path(output), Path("pyproject.toml")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.name != "pyproject.toml" or "[tool.replay" in text:
                logger.info("rules from %s", path)
                return parse_rules(text, str(path))
    return NO_RULES


def read_capture(path: Path) -> Recording:
    """Any supported capture format, by content rather than by extension."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a capture file")
    if not path.exists():
        raise UserError(f"{path}: no such file")
    from recorder import flows, har

    readers = {"har": har.read_har, "capture": flows.read_capture, "mitm": flows.read_mitm_flows}
    return readers[flows.sniff(path)](path)


def record_command(args: argparse.Namespace) -> int:
    """Record into recordings/raw/NAME.*, then convert into recordings/NAME.py."""
    name = pipeline.module_name(Path(args.name))
    raw = Path("recordings") / "raw"
    if args.proxy:
        capture = _record_through_proxy(raw / f"{name}.jsonl", args.port)
    else:
        capture = _record_with_browser(raw / f"{name}.har", args)
    return _convert(capture, Path("recordings") / f"{name}.py", args)


def _record_through_proxy(capture: Path, port: int) -> Path:
    from recorder.proxy import ProxyError, print_instructions, run_capture_proxy

    try:
        proxy = run_capture_proxy(capture, port)
    except ProxyError as e:
        raise UserError(str(e)) from None
    with proxy:
        print_instructions(proxy, sys.stderr)
        try:
            proxy.process.wait()
        except KeyboardInterrupt:
            logger.info("stopping the proxy; converting %s", capture)
    return capture


def _record_with_browser(har: Path, args: argparse.Namespace) -> Path:
    from recorder.browser import BrowserError, load_steps, record_browser

    scripted = bool(args.steps or args.script)
    try:
        return record_browser(
            args.browser,
            har,
            script=args.script,
            steps=load_steps(args.steps) if args.steps else None,
            headless=args.headless or scripted,
        )
    except BrowserError as e:
        raise UserError(str(e)) from None


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written module."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def demo_command(args: argparse.Namespace) -> int:
    from replay import run

    return run.demo(users=args.users, run_time=args.run_time)


if __name__ == "__main__":
    sys.exit(main())
