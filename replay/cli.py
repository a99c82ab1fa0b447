"""`replay`: convert captures into recordings, record sessions, run and verify them.

The only module that ties the stages together; errors end in one line and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import recorder
from recorder.model import CaptureError, Recording
from replay import convert as pipeline
from replay.convert.rules import (
    RulesError,
    add_extract_rules,
    extract_rule_text,
    read_rules,
    rules_path,
)
from replay.names import class_name
from replay.runtime.settings import (
    SETTINGS_FILE,
    SettingsError,
    add_replay_arguments,
    check_host,
    recordings_folder,
    url_parts,
)

logger = logging.getLogger("replay")

EXIT_USAGE = 2
WRITTEN: list[Path] = []
"""Files this command has replaced, for an honest message when Ctrl-C comes after one."""


class UserError(Exception):
    """A problem the user can fix; shown as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    _log_to_terminal()
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    finally:
        if argv is None:  # run as the program: its work is done and said, and a Ctrl-C now
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # would only break the exit, loudly


def _run(args: argparse.Namespace) -> int:
    """The command, its failures said in one line."""
    try:
        return args.command(args)
    except (UserError, CaptureError, RulesError, SettingsError) as e:
        logger.error("replay: error: %s", e)
        return EXIT_USAGE
    except KeyboardInterrupt:
        done = f"{', '.join(map(str, WRITTEN))} written whole" if WRITTEN else "nothing written"
        logger.error("replay: interrupted; %s, no file half-written", done)
        return 130
    except Exception as e:  # noqa: BLE001 (one line for the user; the traceback on request)
        if os.environ.get("REPLAY_DEBUG"):
            raise
        logger.error(
            "replay: internal error: %s: %s (set REPLAY_DEBUG=1 for details)", type(e).__name__, e
        )
        return 1


class _Terminal(logging.StreamHandler):
    """A reader that went away (`replay convert X | head`) is no error: what is left to say
    goes nowhere, and the command finishes its work. Recorded text in a message (a host, a
    URL, a title) shows its control, bidi and lone surrogate characters escaped: a capture
    must not move the cursor, recolour or reorder the terminal, nor fail to encode."""

    def format(self, record: logging.LogRecord) -> str:
        return UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], super().format(record))

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            return
        super().handleError(record)


UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _log_to_terminal() -> None:
    """Summaries on stdout, warnings and errors on stderr, as plain lines."""
    out, err = _Terminal(sys.stdout), _Terminal(sys.stderr)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[out, err])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="replay", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    init = commands.add_parser(
        "init",
        help="make the folders a project needs: recordings/, its replay.toml and .gitignore",
        description="Make ./recordings (or --recordings-dir) with a replay.toml skeleton and a "
        ".gitignore that keeps raw captures (they hold secrets) out of version control.",
    )
    _add_recordings_dir(init)
    init.set_defaults(command=init_command)

    convert = commands.add_parser(
        "convert",
        help="turn a HAR or capture into a recording",
        description="Turn a HAR (from the browser's DevTools), a capture .jsonl (replay record "
        "--proxy) or a mitmproxy flow file into recordings/NAME.py: a readable Locust "
        "SequentialTaskSet with server-made values correlated and typed values parameterized.",
        epilog="example: replay convert session.har   # writes recordings/session.py",
    )
    convert.add_argument("capture", type=Path, help="HAR file, capture .jsonl or mitmproxy flows")
    convert.add_argument("-o", "--output", type=Path, help="default: recordings/NAME.py")
    _add_convert_options(convert)
    convert.set_defaults(command=convert_command)

    record = commands.add_parser("record", help="record a browser session, then convert it")
    record.add_argument("name", help="recording name: writes recordings/NAME.py")
    how = record.add_mutually_exclusive_group(required=True)
    how.add_argument("--proxy", action="store_true", help="record through mitmproxy")
    how.add_argument("--browser", metavar="URL", help="open Chromium at URL and record a HAR")
    how.add_argument(
        "--reverse",
        metavar="URL",
        help="record every client of the application at URL (a reverse proxy in front of it), "
        "then build the traffic model",
    )
    record.add_argument("--port", type=int, default=8080, help="proxy port (default 8080)")
    record.add_argument("--steps", type=Path, help="drive the browser with these steps")
    record.add_argument("--script", type=Path, help="drive the browser with run(page) here")
    record.add_argument(
        "--headless", action="store_true", help="no window (implied by --steps/--script)"
    )
    _add_reverse_options(record)
    _add_convert_options(record)
    record.set_defaults(command=record_command)

    demo = commands.add_parser(
        "demo",
        help="run the bundled demo app and replay against it",
        description="Start the bundled demo shop on a free port, replay its shipped recordings "
        "against it with Locust (headless), print Locust's summary and stop everything; then "
        "print the commands that record, verify and run a visit of your own. With --serve, "
        "start only the demo app, until Ctrl-C.",
        epilog="example: replay demo --serve --port 8000   # the demo app alone on :8000",
    )
    demo.add_argument("--users", type=int, default=5, help="virtual users (default 5)")
    demo.add_argument("--run-time", default="20s", help="how long Locust runs (default 20s)")
    demo.add_argument("--serve", action="store_true", help="only serve the demo app")
    demo.add_argument(
        "--port", type=int, default=8000, help="--serve on this port (default 8000; 0: a free one)"
    )  # not 8089: Locust's web UI
    demo.set_defaults(command=demo_command)

    verify = commands.add_parser("verify", help="run a recording once and compare it, step by step")
    verify.add_argument("recording", type=Path, help="recordings/NAME.py")
    verify.add_argument("--host", help="target to verify against (or an --env profile's host)")
    verify.add_argument("--har", type=Path, help="the capture (default: the recording's own)")
    verify.add_argument(
        "--fix", action="store_true", help="write the missing rules, convert again, verify again"
    )
    add_replay_arguments(verify.add_argument_group("replay options"))
    verify.set_defaults(command=verify_command)

    # Its own prefix, so every Locust flag after `run` reaches Locust untouched.
    run = commands.add_parser(
        "run",
        help="locust ARGS on ./recordings (every Locust option works; --recordings-dir DIR)",
        prefix_chars="+",
    )
    run.add_argument("locust_args", nargs=argparse.REMAINDER, help="Locust's own options")
    run.set_defaults(command=run_command)
    _add_model_command(commands)
    return parser


def _add_recordings_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--recordings-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the recordings folder (default: $REPLAY_RECORDINGS_DIR, else ./recordings)",
    )


def _add_convert_options(parser: argparse.ArgumentParser) -> None:
    _add_recordings_dir(parser)
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


def init_command(args: argparse.Namespace) -> int:
    """The folder layout a project needs; what is there already is kept."""
    folder = recordings_folder(args.recordings_dir)
    files = {
        folder / SETTINGS_FILE: SETTINGS_SKELETON,
        folder / ".gitignore": "# Raw captures hold cookies, tokens and what users typed.\nraw/\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        if path.exists():
            logger.info("kept %s (already there)", path)
        else:
            write_atomically(path, text)
            logger.info("wrote %s", path)
    logger.info(
        "ready: `replay record NAME --browser URL` or `replay convert CAPTURE` writes "
        "%s/NAME.py; `replay run --host URL` runs what is there",
        folder,
    )
    return 0


SETTINGS_SKELETON = """\
# Run-time settings of the recordings in this folder (see the README, "Replay controls").
# The command line wins over the [env.NAME] profile it selects (--env NAME), which wins over
# a recording's own [recording.NAME] table.

# [recording.Checkout]             # a recording's class name
# weight = 3                       # or fixed_count = 1
# wait_time = "between(1, 5)"      # default: the recorded think times
# on_start = ["post_login"]        # steps run once per virtual user

# [env.staging]                    # replay run --env staging
# host = "https://staging.example.com"
# accounts = "staging-accounts.csv"  # relative to this file
"""


def convert_command(args: argparse.Namespace) -> int:
    folder = recordings_folder(args.recordings_dir)
    output = args.output or folder / f"{pipeline.module_name(args.capture)}.py"
    return _convert(args.capture, output, _options(args))


def _options(args: argparse.Namespace) -> pipeline.Options:
    """What convert's and record's command lines choose (the class name and the rules file
    follow from the output, in `_converted`)."""
    for option, value in [("--host", args.host)] + [
        ("--include-host", h) for h in args.include_host
    ]:
        url_parts(value, option)
    return pipeline.Options(
        name=args.name or "",
        host=args.host,
        include_hosts=tuple(args.include_host),
        keep_static=args.keep_static,
        correlate=args.correlate,
    )


def _convert(capture: Path, output: Path, options: pipeline.Options) -> int:
    check_writable(output)
    with _progress(capture) as stage:
        stage("read")
        recording = recorder.read(capture)
        result = _converted(recording, output, options, stage)
    created = not output.parent.exists()
    write_atomically(output, result.pieces)
    if created:
        logger.info(
            "created %s/ (`replay init` adds its replay.toml and .gitignore)", output.parent
        )
    for line in pipeline.summary(recording, result, output):
        logger.info("%s", line)
    return 0


@contextlib.contextmanager
def _progress(capture: Path) -> Iterator[Callable[[str], None]]:
    """A bar of the conversion's stages on a terminal, once it has taken a second
    (a 20,000-entry capture takes several); nothing when stderr is a file or a pipe, and then
    tqdm is not even loaded (its import takes longer than converting a small capture)."""
    if not sys.stderr.isatty():
        yield lambda name: None
        return
    from tqdm import tqdm

    stages = ("read", *pipeline.STAGES)
    with tqdm(
        total=len(stages),
        desc=f"converting {capture.name}",
        unit="stage",
        delay=PROGRESS_DELAY,
        leave=False,
        bar_format="{desc}: {postfix} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
    ) as bar:

        def stage(name: str) -> None:
            bar.set_postfix_str(name, refresh=False)
            bar.update(stages.index(name) - bar.n)

        yield stage


PROGRESS_DELAY = 1.0
"""Seconds before a progress bar shows: shorter work finishes without one."""


def _converted(recording: Recording, output: Path, options: pipeline.Options, stage):
    options = replace(
        options,
        name=options.name or _free_class_name(recording, output),
        rules=read_rules(output),
        capture=_capture_name(Path(recording.source), output),
    )
    try:
        return pipeline.convert(recording, options, stage)
    except (pipeline.NothingToReplay, RulesError) as e:
        raise UserError(f"{recording.source}: {e}") from None


def _capture_name(capture: Path, output: Path) -> str:
    """The capture as the module names it: relative to the module's folder when it lies
    under it (`raw/checkout.har`), so the folder can move whole and the line stays short;
    else as given."""
    try:
        return capture.resolve().relative_to(output.resolve().parent).as_posix()
    except ValueError:
        return str(capture)


CLASS = re.compile(r"class (\w+)\(")
LATER_CLASS = re.compile(r"\nclass (\w+)\(")
"""A class at the top of a module after its first line: a pattern that starts with text is
searched for as text, ten times as fast as `^` (re.MULTILINE) is tried at every position, and
a folder of recordings may hold megabytes of them."""


def _classes(module: Path) -> list[str]:
    """Names of the classes at the top of a module."""
    text = module.read_text(encoding="utf-8", errors="replace")
    names = LATER_CLASS.findall(text)
    first = CLASS.match(text)
    return [first[1], *names] if first else names


def _free_class_name(recording: Recording, output: Path) -> str:
    """The capture's name for the class, unless another recording in the output folder has it:
    Locust keys users by class name, so two alike would show as one. Then the output file's
    name, numbered if need be."""
    taken = {
        name
        for path in output.parent.glob("*.py")
        if path.resolve() != output.resolve()
        for name in _classes(path)
    }
    name = class_name(Path(recording.source).stem)
    if name not in taken:
        return name
    free = class_name(output.stem)
    free = next(
        f"{free}{n or ''}" for n in range(len(taken) + 2) if f"{free}{n or ''}" not in taken
    )
    logger.info(
        "class %s is taken in %s: this recording is %s (--name sets it)", name, output.parent, free
    )
    return free


def record_command(args: argparse.Namespace) -> int:
    """Record into recordings/raw/NAME.*, then convert into recordings/NAME.py."""
    name = pipeline.module_name(Path(args.name))
    folder = recordings_folder(args.recordings_dir)
    if args.reverse:
        return _record_reverse(folder / "raw" / f"{name}.jsonl", args)
    if args.proxy:
        capture = _record_through_proxy(folder / "raw" / f"{name}.jsonl", args.port)
    else:
        capture = _record_with_browser(folder / "raw" / f"{name}.har", args)
    return _convert(capture, folder / f"{name}.py", _options(args))


def _record_through_proxy(capture: Path, port: int) -> Path:
    from recorder.proxy import ProxyError, print_instructions, run_capture_proxy

    try:
        proxy = run_capture_proxy(capture, port)
    except ProxyError as e:
        raise UserError(str(e)) from None
    with proxy:
        print_instructions(proxy, sys.stderr)
        try:
            _wait_counting_flows(proxy.process, capture)
        except KeyboardInterrupt:
            logger.info("stopping the proxy; converting %s", capture)
    return capture


def _wait_counting_flows(process, capture: Path) -> None:
    """Wait for the proxy; on a terminal, with a running count of the flows it captures
    (a capture line each, after the file's header line)."""
    if not sys.stderr.isatty():
        process.wait()
        return
    from tqdm import tqdm

    offset = capture.stat().st_size if capture.exists() else 0
    with tqdm(desc=f"recording into {capture}", unit=" flows") as bar:
        while process.poll() is None:
            time.sleep(FLOW_COUNT_INTERVAL)
            with contextlib.suppress(FileNotFoundError), capture.open("rb") as f:
                f.seek(offset)
                lines = f.read().splitlines(keepends=True)
                whole = [line for line in lines if line.endswith(b"\n")]
                offset += sum(map(len, whole))
                bar.update(sum(not line.startswith(b'{"format"') for line in whole))


FLOW_COUNT_INTERVAL = 0.5


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


def check_writable(path: Path) -> None:
    """Refuse, before any work, an output the rename would destroy or cannot make: a
    directory, a device or a pipe (`-o /dev/null` run as root would replace the device with a
    file), a path under a file."""
    if not path.name:
        raise UserError(f"{path}: cannot write: not a file name")
    if path.is_dir():
        raise UserError(f"{path}: cannot write: is a directory")
    if path.exists() and not path.is_file():
        raise UserError(f"{path}: cannot write: not a regular file")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{path}: cannot write: {parent} is not a directory")


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Ctrl-C pressed inside is delivered when it ends."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def write_atomically(path: Path, text: str | Iterable[str]) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written module.
    `text` may come in pieces, written one after another. A symbolic link keeps pointing at
    the file, now replaced."""
    check_writable(path)
    path = path.resolve() if path.is_symlink() else path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise UserError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines([text] if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())  # the rename must not land before the data (power loss)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with _sigint_held():  # the rename and its record are one step for Ctrl-C's message
            os.replace(temporary, path)
            WRITTEN.append(path)
    except BaseException as e:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise UserError(f"{path}: cannot write: {e.strerror or e}") from None
        raise


def demo_command(args: argparse.Namespace) -> int:
    from replay import launcher

    if not args.serve:
        return launcher.demo(users=args.users, run_time=args.run_time)
    if args.port and not launcher.port_is_free(args.port):
        raise UserError(f"port {args.port} is in use: --port N picks another (0: a free one)")
    launcher.serve_demo(args.port)
    return 0  # not reached: the demo app took over this process


HELP = {"-h", "--help", "-V", "--version"}


def run_command(args: argparse.Namespace) -> int:
    from replay import launcher

    locust_args, given = _recordings_dir_arg(args.locust_args)
    folder = recordings_folder(given)
    if not HELP & set(locust_args) and not any(
        not path.name.startswith("_") for path in folder.glob("*.py")
    ):
        raise UserError(
            f"no recordings in {folder}: `replay convert CAPTURE` or `replay record "
            "NAME` writes one there (--recordings-dir DIR reads another folder)"
        )
    return launcher.locust(locust_args, folder)


def _recordings_dir_arg(args: list[str]) -> tuple[list[str], str | None]:
    """`--recordings-dir DIR` taken out of Locust's arguments: the folder is ours, not Locust's."""
    rest, folder = [], None
    items = iter(args)
    for arg in items:
        if arg == "--recordings-dir":
            folder = next(items, None)
            if folder is None:
                raise UserError("--recordings-dir: expected a folder")
        elif arg.startswith("--recordings-dir="):
            folder = arg.partition("=")[2]
        else:
            rest.append(arg)
    return rest, folder


FIX_ROUNDS = 3
"""Verify, write the missing rules and convert again, at most this often: each round can
only get further through the recording than the one before."""


def verify_command(args: argparse.Namespace) -> int:
    from replay import verify  # loads Locust (gevent): only for this command
    from replay.runtime.users import load_module

    for _ in range(FIX_ROUNDS):
        if not args.recording.is_file():
            raise UserError(f"{args.recording}: no such recording")
        if args.recording.suffix != ".py":
            raise UserError(f"{args.recording}: not a recording (a .py file replay convert wrote)")
        try:
            sessions = load_module(args.recording)
        except Exception as e:  # noqa: BLE001 (whatever the module raises, it is not loadable)
            raise UserError(f"{args.recording}: cannot load: {type(e).__name__}: {e}") from None
        if len(sessions) != 1:
            raise UserError(f"{args.recording}: expected one recording, found {len(sessions)}")
        session = sessions[0]
        capture_path = _capture_of(session, args)
        capture = recorder.read(capture_path) if capture_path else None
        try:
            check_host(args.host)
            report = verify.verify(session, args, capture)
        except SettingsError as e:
            raise UserError(str(e)) from None
        for line in verify.table(report):
            logger.info("%s", line)
        if report.ok:
            logger.info("verified: %s replays as recorded", report.name)
            return 0
        rules = rules_path(args.recording)
        if not (args.fix and report.findings and capture_path):
            for finding in report.findings:
                logger.info("suggested rule for %s:\n%s", rules, extract_rule_text(finding.rule))
            if report.findings:
                logger.info("replay verify --fix writes it and converts the capture again")
            return 1
        written = add_extract_rules(rules, [f.rule for f in report.findings])
        logger.info("fix: %s written to %s", ", ".join(written) or "no new rule", rules)
        options = pipeline.Options(
            name=session.__name__,
            host=session.recorded_host,
            include_hosts=tuple(sorted(report.other_hosts)),
        )
        _convert(capture_path, args.recording, options)
    return 1


def _capture_of(session, args: argparse.Namespace) -> Path | None:
    """--har, else the capture the recording names: relative to the recording (as convert
    writes it when it lies beneath), as given, or beside the recordings folder."""
    if args.har:
        return args.har
    if not session.capture:
        return None
    given = Path(session.capture)
    folder = args.recording.resolve().parent
    for candidate in (folder / given, given, folder.parent / given):
        if candidate.is_file():
            return candidate
    logger.warning("capture %s not found: checking statuses and extractions only", given)
    return None


# --- replay model: a traffic model learned from many users' sessions ------------------------


def _add_model_command(commands) -> None:
    model = commands.add_parser(
        "model", help="learn flow types, shares and arrival rates from many users' traffic"
    )
    model.add_argument("captures", nargs="+", type=Path, metavar="CAPTURE", help="captures, HARs")
    model.add_argument(
        "-o", "--output", type=Path, default=Path("recordings"), help="folder (default recordings/)"
    )
    _add_model_options(model)
    _add_convert_options(model)
    model.set_defaults(command=model_command)


def _add_model_options(model: argparse.ArgumentParser) -> None:
    from replay.model.flows import SIMILARITY
    from replay.model.sessions import IDLE_GAP

    model.add_argument(
        "--session-gap",
        type=float,
        default=IDLE_GAP,
        metavar="SECONDS",
        help=f"idle time that ends a session (default {IDLE_GAP:g})",
    )
    model.add_argument(
        "--similarity",
        type=float,
        default=SIMILARITY,
        help=f"how alike two sessions must be to share a type, 0 to 1 (default {SIMILARITY})",
    )
    model.add_argument(
        "--interval",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="count arrivals per this many seconds (default: per second for a capture shorter "
        "than 10 minutes, else per minute)",
    )


def _add_reverse_options(record: argparse.ArgumentParser) -> None:
    record.add_argument(
        "--listen-host",
        default="127.0.0.1",
        help="with --reverse: address to listen on (default 127.0.0.1; 0.0.0.0 for all)",
    )
    record.add_argument(
        "--rotate-mb",
        type=int,
        default=100,
        metavar="MB",
        help="with --reverse: continue in NAME.1.jsonl, NAME.2.jsonl, ... past this size",
    )
    _add_model_options(record)


def _record_reverse(capture: Path, args: argparse.Namespace) -> int:
    """Record every client of an application until Ctrl-C, then model what was captured."""
    from recorder.addon import rotated
    from recorder.proxy import CaptureOptions, ProxyError, reverse_instructions, run_capture_proxy

    if args.rotate_mb < 0:
        raise UserError("--rotate-mb: a number of MB, or 0 for one file")
    try:
        proxy = run_capture_proxy(
            capture,
            args.port,
            CaptureOptions(rotate_mb=args.rotate_mb),
            quiet=True,
            reverse=args.reverse,
            listen_host=args.listen_host,
        )
    except ProxyError as e:
        raise UserError(str(e)) from None
    with proxy:
        print(reverse_instructions(proxy, args.reverse), file=sys.stderr)
        try:
            proxy.process.wait()
        except KeyboardInterrupt:
            logger.info("stopping the proxy; modelling %s", capture)
    captures = [capture]
    while rotated(captures[-1]).is_file():
        captures.append(rotated(captures[-1]))
    args.captures, args.output = captures, recordings_folder(args.recordings_dir)
    return model_command(args)


def model_command(args: argparse.Namespace) -> int:
    from replay.model import report
    from replay.model.build import ModelOptions, build
    from replay.model.captures import read_captures
    from replay.model.file import MODEL_FILE, PAGE_FILE, ModelError, model_text
    from replay.model.page import page_html

    if not 0 < args.similarity <= 1 or args.session_gap <= 0 or args.interval < 0:
        raise UserError("--similarity must be in (0, 1], --session-gap and --interval positive")
    captures = read_captures(args.captures, args.host)
    recording = captures.recording
    options = ModelOptions(
        convert=pipeline.Options(
            host=args.host,
            include_hosts=tuple(args.include_host),
            keep_static=args.keep_static,
            correlate=args.correlate,
        ),
        idle_gap=args.session_gap,
        similarity=args.similarity,
        interval=args.interval,
    )
    try:
        built = build(
            recording,
            options,
            lambda module: read_rules(args.output / f"{module}.py"),
            captures.full,
        )
        weights = report.with_weights(args.output / "replay.toml", built)
    except (pipeline.NothingToReplay, RulesError, ModelError) as e:
        raise UserError(f"{recording.source}: {e}") from None
    stale = report.stale_recordings(args.output / MODEL_FILE, built)
    for flow in built.flows:
        write_atomically(args.output / f"{flow.module}.py", flow.result.pieces)
    write_atomically(args.output / "replay.toml", weights)
    sources = ", ".join(str(c) for c in args.captures)
    write_atomically(args.output / MODEL_FILE, model_text(built.model, f"replay model {sources}"))
    for path in stale:
        path.unlink(missing_ok=True)
    write_atomically(args.output / PAGE_FILE, page_html(built.model, sources))
    for line in report.summary(built, args.output, stale):
        logger.info("%s", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
