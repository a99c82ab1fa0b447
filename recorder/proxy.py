"""Run mitmdump with the capture addon as a child process (`replay record NAME --proxy`).

A child process rather than an embedded proxy: mitmdump owns its event loop and signal
handling, and a crash or `kill -9` of either side leaves the capture file readable.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mitmproxy import exceptions, flowfilter

from recorder.addon import open_capture

ADDON = Path(__file__).with_name("addon.py")
CA_CERT = Path("~/.mitmproxy/mitmproxy-ca-cert.pem").expanduser()
STREAM_LARGE_BODIES = "10m"
# The interpreter running us has mitmproxy; a `mitmdump` on PATH might belong to another one.
MITMDUMP = (sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()")


class ProxyError(Exception):
    """mitmdump could not be started; the message is one line for the user."""


@dataclass
class CaptureProxy:
    """A running mitmdump recording to `capture_file`; stop it with `stop()` or a with-block."""

    process: subprocess.Popen
    port: int
    capture_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 5.0) -> int:
        """SIGINT first so mitmdump closes cleanly, then kill; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> CaptureProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """What the addon records: its mitmproxy options (see recorder/addon.py)."""

    hosts: Sequence[str] = ()
    capture_filter: str = ""
    redact: bool = True
    redact_headers: Sequence[str] = ()
    fsync: bool = False
    rotate_mb: int = 0
    """Continue in the next file past this many MB (0: one file)."""


def mitmdump_command(
    capture_file: str | Path,
    port: int = 8080,
    options: CaptureOptions = CaptureOptions(),
    *,
    quiet: bool = False,
    extra_args: Sequence[str] = (),
    reverse: str = "",
    listen_host: str = "127.0.0.1",
) -> list[str]:
    """The mitmdump command line that records to `capture_file` on `listen_host`:`port`; with
    `reverse` (an application's URL), as a reverse proxy in front of that application."""
    settings = {
        "connection_strategy": "lazy",
        # A download or upload this big passes through unkept (the capture notes it): the
        # proxy holds no more than this of it in memory.
        "stream_large_bodies": STREAM_LARGE_BODIES,
        "capture_file": str(capture_file),
        "capture_redact": str(options.redact).lower(),
        "capture_fsync": str(options.fsync).lower(),
        "capture_rotate_mb": str(options.rotate_mb),
    }
    if options.capture_filter:
        settings["capture_filter"] = options.capture_filter
    args = [*MITMDUMP, "--listen-host", listen_host, "--listen-port", str(port)]
    args += ["--mode", f"reverse:{reverse}"] if reverse else []
    args += ["-q"] if quiet else []
    args += ["-s", str(ADDON)]
    for name, value in settings.items():
        args += ["--set", f"{name}={value}"]
    for host in options.hosts:
        args += ["--set", f"capture_hosts={host}"]
    for name in options.redact_headers:
        args += ["--set", f"capture_redact_headers={name}"]
    return args + list(extra_args)


def run_capture_proxy(
    capture_file: str | Path,
    port: int = 8080,
    options: CaptureOptions = CaptureOptions(),
    *,
    quiet: bool = False,
    extra_args: Sequence[str] = (),
    output: IO | int | None = None,
    timeout: float = 20.0,
    reverse: str = "",
    listen_host: str = "127.0.0.1",
) -> CaptureProxy:
    """Start mitmdump recording to `capture_file` and return once it accepts connections.

    `port=0` picks a free port. mitmdump's output (flows, errors) goes to `output`: a file,
    subprocess.PIPE, or by default this terminal. Raises ProxyError, one line, when the file
    cannot be written, the filter is invalid, the port is taken, or mitmdump exits or hangs
    before listening.
    """
    capture_file = Path(capture_file).expanduser()
    try:  # the reasons mitmdump would refuse to start, as one line instead of a traceback
        if options.capture_filter:
            flowfilter.parse(options.capture_filter)
        open_capture(capture_file, options.redact, options.fsync).close()
    except (ValueError, exceptions.OptionsError) as e:
        raise ProxyError(str(e)) from None
    port = port or free_port()
    if not port_is_free(port):
        raise ProxyError(f"port {port} on 127.0.0.1 is already in use; choose another with --port")
    command = mitmdump_command(
        capture_file,
        port,
        options,
        quiet=quiet,
        extra_args=extra_args,
        reverse=reverse,
        listen_host=listen_host,
    )
    process = subprocess.Popen(
        command,
        stdout=output,
        stderr=None if output is None else subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    proxy = CaptureProxy(process, port, capture_file)
    deadline = time.monotonic() + timeout
    while not _accepts(port):
        if process.poll() is not None:
            raise ProxyError(f"mitmdump exited with code {process.returncode} before listening")
        if time.monotonic() > deadline:
            proxy.stop()
            raise ProxyError(f"mitmdump did not listen on 127.0.0.1:{port} within {timeout:g} s")
        time.sleep(0.05)
    return proxy


def reverse_instructions(proxy: CaptureProxy, application: str) -> str:
    """What a team does to record every client of an application."""
    return f"""\
Recording every client of {application} to {proxy.capture_file} (and .1, .2, ... past the size
limit), through mitmproxy as a reverse proxy on port {proxy.port}.

Send the traffic to this port instead of the application: point the load balancer, the DNS
name or a share of the traffic (a canary) at it. Press Ctrl+C here to stop and build the
traffic model."""


def instructions(proxy: CaptureProxy) -> str:
    """What a person does to record through the proxy."""
    return f"""\
Recording to {proxy.capture_file} through mitmproxy on {proxy.url}

1. Point a browser at the proxy, for HTTP and HTTPS alike. Chromium, with a throwaway profile:
     chromium --proxy-server={proxy.url} --proxy-bypass-list='<-loopback>' \\
              --user-data-dir="$(mktemp -d)"
   Firefox: Settings > Network Settings > Manual proxy: HTTP proxy 127.0.0.1, port {proxy.port},
   "Also use this proxy for HTTPS" (to record localhost, set
   network.proxy.allow_hijacking_localhost=true in about:config).
2. For HTTPS sites, trust mitmproxy's certificate authority: browse to http://mitm.it through
   the proxy, or import {CA_CERT} as an authority
   (Chromium: chrome://certificate-manager; Firefox: Settings > Certificates > Import).
   Remove it again when you are done recording.
3. Use the site the way a real user would. Every finished request is saved immediately.
4. Press Ctrl+C here to stop recording."""


def print_instructions(proxy: CaptureProxy, file: IO[str] | None = None) -> None:
    print(instructions(proxy), file=file or sys.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mitmdump's listener does
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True
