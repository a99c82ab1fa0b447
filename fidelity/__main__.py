"""`fidelity/run [--quick] [--only APP,...]`: real third-party apps, each recorded in Chromium
and through the recording proxy, converted with no rules and no edits, verified twice, loaded
with 20 users, and checked through the app's own data. Prints one table and writes it, with the
machine and the date, to fidelity/RESULTS.md (a --quick or --only run: fidelity/out/)."""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fidelity import harness
from fidelity.apps import App, Flow, apps
from fidelity.harness import HarnessError, Load, Outcome, Server

OUT = Path(os.environ.get("FIDELITY_OUT") or harness.ROOT / "fidelity" / "out")
RESULTS = harness.ROOT / "fidelity" / "RESULTS.md"
ACCOUNTS = 24
"""Rows of the accounts CSV: the 20 load users each take their own, the recordings the first."""
SOURCES = ("browser", "proxy")
COLUMNS = ("app", "flow", "source", "converts cleanly", "verify 1", "verify 2")
COLUMNS += ("failures at 20 users", "app-state check")


@dataclass
class Row:
    app: str
    flow: str
    source: str
    cells: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, cell: str, note: str = "") -> None:
        self.cells.append(cell)
        if note:
            self.notes.append(f"{COLUMNS[len(self.cells) + 2]}: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fidelity/run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one app, browser only, 10 s load")
    parser.add_argument("--only", help="comma-separated app names: " + ", ".join(apps()))
    args = parser.parse_args(argv)
    known = apps()
    names = args.only.split(",") if args.only else list(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        known_names = ", ".join(known)
        parser.exit(2, f"fidelity/run: unknown app {', '.join(unknown)} (known: {known_names})\n")
    if args.quick:
        names = names[:1]
    signal.signal(signal.SIGTERM, _interrupt)
    # Started in the background (`&`, nohup) SIGINT is ignored, and so it would be in every
    # child: `replay record --proxy` would never hear the Ctrl-C that makes it convert.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    rows: list[Row] = []
    try:
        for name in names:
            rows += run_app(known[name], quick=args.quick)
    except KeyboardInterrupt:
        print("fidelity: interrupted; every app and proxy stopped", file=sys.stderr)
        return 130
    finally:
        harness.stop_all()
    table = render(rows)
    print("\n".join(table))
    partial = args.quick or args.only
    target = OUT / "RESULTS-quick.md" if partial else RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report(rows, known, names, time.monotonic() - started))
    print(f"fidelity: written to {_rel(target)}", file=sys.stderr)
    return 0 if all(passed(row) for row in rows) else 1


def _interrupt(*_args: object) -> None:
    raise KeyboardInterrupt


def run_app(app: App, *, quick: bool) -> list[Row]:
    """Install and start `app`, run each flow from each source, stop it."""
    sources = SOURCES[:1] if quick else SOURCES
    rows = [Row(app.name, flow.name, source) for flow in app.flows for source in sources]
    folder = OUT / app.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    accounts = [
        account(f"loadtester{i:02d}", f"Pw-{secrets.token_hex(8)}") for i in range(ACCOUNTS)
    ]
    accounts_csv = harness.write_accounts(folder / "accounts.csv", accounts)
    try:
        app.install()
    except HarnessError as e:
        for row in rows:
            row.add("not installed", str(e))
        return rows
    data = Path(tempfile.mkdtemp(prefix=f"fidelity-{app.name}-"))
    server = None
    try:
        harness.step(f"starting {app.name} {app.version}")
        server = app.start(data, accounts)
        for row in rows:
            flow = next(flow for flow in app.flows if flow.name == row.flow)
            run_flow(app, flow, row, server, folder, accounts_csv, accounts[0], quick)
    except (HarnessError, OSError) as e:
        for row in rows:
            if not row.cells:
                row.add("no", f"{app.name} {app.version}: {e}")
    finally:
        if server:
            server.stop()
        if (data / "server.log").is_file():  # the app's own account of a 500 under load
            shutil.copyfile(data / "server.log", folder / "server.log")
        shutil.rmtree(data, ignore_errors=True)
    return rows


def account(username: str, password: str) -> dict[str, str]:
    """A row of the accounts CSV: what a sign-in form and an HTTP Basic header both read."""
    return {"username": username, "password": password}


def run_flow(
    app: App,
    flow: Flow,
    row: Row,
    server: Server,
    folder: Path,
    accounts: Path,
    account: dict[str, str],
    quick: bool,
) -> None:
    name = f"{app.name}_{flow.name}_{row.source}".replace("-", "_")
    work = folder / name
    work.mkdir()
    env = harness.flow_env(account, secrets.token_hex(3))
    harness.step(f"{app.name} {flow.name}: recording ({row.source})")
    record = harness.record_browser if row.source == "browser" else harness.record_proxy
    recorded = record(name, server.url + flow.path, flow.script, work, env)
    module = work / "recordings" / f"{name}.py"
    suffix = ".har" if row.source == "browser" else ".jsonl"
    capture = work / "recordings" / "raw" / f"{name}{suffix}"
    if not recorded.ok or not capture.exists():
        row.add("no", f"recording failed: {recorded.detail} (see {_rel(recorded.log)})")
        return
    converted = harness.run(
        [*harness.REPLAY, "convert", str(capture), "-o", str(module)],
        work / "convert.log",
        timeout=120,
        cwd=work,
    )
    if not converted.ok:
        row.add("no", f"{converted.detail} (see {_rel(converted.log)})")
        return
    warnings = _warnings(converted.log)
    linted = harness.lint(module)
    if not linted.ok:
        row.add("no", f"ruff: {linted.detail}")
    else:
        row.add("yes" if not warnings else "yes, warned", "; ".join(warnings))
    for attempt in (1, 2):
        verified = harness.run(
            [*harness.REPLAY, "verify", str(module), "--host", server.url]
            + ["--accounts", str(accounts)],
            work / f"verify-{attempt}.log",
            timeout=180,
            cwd=work,
        )
        row.add(*_verdict(verified))
    before = app.state(server, flow)
    users, run_time = ("20", "10s") if quick else ("20", "60s")
    harness.step(f"{app.name} {flow.name}: {users} users for {run_time} ({row.source})")
    prefix = work / "load"
    harness.run(
        [
            *harness.REPLAY,
            "run",
            "--headless",
            "-u",
            users,
            "-r",
            users,
            "-t",
            run_time,
            "--host",
            server.url,
            "--accounts",
            str(accounts),
            "--csv",
            str(prefix),
            "--json-file",
            str(prefix),
            # Users finish the step they are in when time is up, so every request that reached
            # the app is in the statistics the app-state check compares with.
            "--stop-timeout",
            "30",
        ],
        work / "load.log",
        timeout=240,
        cwd=work,
        env={**os.environ, "REPLAY_RECORDINGS_DIR": str(module.parent)},
    )
    load = harness.read_load(prefix)
    if not load.requests:
        row.add("no run", f"Locust made no request (see {_rel(work / 'load.log')})")
        row.add("-")
        return
    row.add(
        f"{load.failures} of {load.requests}",
        "; ".join(load.errors[:6]) if load.failures else "",
    )
    row.add(*check_state(before, app.state(server, flow), load, flow))


def check_state(before, after, load: Load, flow: Flow) -> tuple[str, str]:
    """Every object a user created exists (and carries its edit) unless that user deleted it:
    what is left equals what the statistics say was created and not deleted, and nothing that
    existed before the run was touched by a stale id."""
    created, edited, deleted = (
        load.succeeded(*which) for which in (flow.creates, flow.edits, flow.deletes)
    )
    new = after.objects - before.objects
    new_edited = after.edited & new
    gone = before.objects - after.objects
    counts = f"{created} created, {edited} edited, {deleted} deleted"
    counts += f"; {len(new)} left ({len(new_edited)} edited)"
    problems = []
    if not created:
        problems.append("no create succeeded")
    if len(new) != created - deleted:
        problems.append(f"{created - deleted} should be left")
    if len(new_edited) != edited - deleted:
        problems.append(f"{edited - deleted} edited should be left")
    if gone:
        problems.append(f"{len(gone)} objects from before the run deleted (stale id)")
    if problems:
        return "no", f"{counts}: {', '.join(problems)}"
    return "yes", counts


def _verdict(outcome: Outcome) -> tuple[str, str]:
    if outcome.ok:
        return "ok", ""
    return "FAIL", f"{outcome.detail} (see {_rel(outcome.log)})"


def _warnings(log: Path) -> list[str]:
    text = log.read_text(errors="replace").splitlines()
    return [line.strip() for line in text if line.lower().lstrip().startswith(("warning", "note"))]


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(harness.ROOT))
    except ValueError:
        return str(path)


def passed(row: Row) -> bool:
    return (
        len(row.cells) == len(COLUMNS) - 3
        and row.cells[0].startswith("yes")
        and row.cells[1:3] == ["ok", "ok"]
        and row.cells[3].startswith("0 of")
        and row.cells[4] == "yes"
    )


def render(rows: list[Row]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = row.cells + ["-"] * (len(COLUMNS) - 3 - len(row.cells))
        lines.append("| " + " | ".join([row.app, row.flow, row.source, *cells]) + " |")
    return lines


def report(rows: list[Row], known: dict[str, App], names: list[str], seconds: float) -> str:
    versions = ", ".join(f"{name} {known[name].version}" for name in names)
    machine = f"{os.cpu_count()} × {_cpu()}, Python {platform.python_version()}"
    lines = [
        "# Fidelity on real applications",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}; {versions};"
        f" {seconds / 60:.0f} min.",
        f"{sum(map(passed, rows))} of {len(rows)} rows pass. Reproduce with `fidelity/run`.",
        "",
        *render(rows),
        "",
    ]
    for title, which in (("Why rows fail", False), ("What passing rows did", True)):
        notes = [
            f"- {row.app} {row.flow} ({row.source}), {note}"
            for row in rows
            if passed(row) is which
            for note in row.notes
        ]
        lines += [f"## {title}", "", *notes, ""] if notes else []
    return "\n".join(lines).rstrip("\n") + "\n"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
