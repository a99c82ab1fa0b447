"""Correlation on a real third-party application: Django's admin, recorded in Chromium.

Django makes what the issue lists: small integer ids in a create's follow-up links, a masked
CSRF token per page beside its cookie, a redirect to the object after a save. The admin is
started from a fresh project on 127.0.0.1 with a sqlite database and one superuser.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, run_locust

from recorder.proxy import free_port
from replay.demo.launch import running, stop

django = pytest.importorskip("django", reason="django is in the [test] extra")
needs_chromium = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed"
)
PASSWORD = "correct-horse-battery-9"


def manage(project: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(project / "manage.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def django_admin(tmp_path_factory):
    """A new Django project's admin on a free port: (base URL, project folder)."""
    project = tmp_path_factory.mktemp("django") / "site"
    project.mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "adminsite", str(project)],
        check=True,
        timeout=60,
    )
    with (project / "adminsite" / "settings.py").open("a") as settings:
        # Concurrent users write at once: wait for sqlite's lock instead of a 500.
        settings.write('DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}\n')
    manage(project, "migrate", "--noinput")
    manage(
        project,
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(project / "manage.py"),
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/admin/login/", timeout=2).read()
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline and process.poll() is None, (
                "runserver never answered"
            )
            time.sleep(0.2)
    try:
        yield url, project
    finally:
        stop(process)


def groups(project: Path) -> int:
    code = "from django.contrib.auth.models import Group; print(Group.objects.count())"
    return int(manage(project, "shell", "-c", code).split()[-1])


def replay(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def admin_recording(django_admin, tmp_path_factory) -> Path:
    """The admin flow recorded in Chromium and converted: recordings/groups.py."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    url, _ = django_admin
    folder = tmp_path_factory.mktemp("recorded")
    script = ROOT / "tests" / "apps" / "django_admin_flow.py"
    env = {"DJANGO_ADMIN_PASSWORD": PASSWORD}
    result = replay(
        "record",
        "groups",
        "--browser",
        f"{url}/admin/",
        "--script",
        str(script),
        cwd=folder,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return folder / "recordings" / "groups.py"


CREDENTIALS = {"REPLAY_USERNAME": "admin", "REPLAY_PASSWORD": PASSWORD}


@needs_chromium
def test_django_admin_create_edit_delete_replays_with_live_ids(
    django_admin, admin_recording, tmp_path
):
    url, project = django_admin
    source = admin_recording.read_text()
    literal = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    assert '"group_id": regex(r"/admin/auth/group/(\\d+)/change/")' in source, source
    assert 'f"/admin/auth/group/{self.group_id}/change/"' in source
    assert not re.search(r"/admin/auth/group/\d+/", literal), source  # no recorded id is sent
    before = groups(project)

    verified = replay("verify", str(admin_recording), "--host", url, cwd=tmp_path, env=CREDENTIALS)
    assert verified.returncode == 0, verified.stderr
    assert groups(project) == before  # the pass deleted the group it created, not another one

    stats = run_locust(
        admin_recording.parent,
        url,
        "--think-scale",
        "0",
        users=3,
        run_time="10s",
        env=CREDENTIALS,
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    assert stats.count("/admin/auth/group/[group_id]/delete/") >= 6
    time.sleep(1)  # sessions cut off by the end of the run leave their group behind
    assert groups(project) <= before + 3


@needs_chromium
def test_django_admin_converted_verbatim_is_fixed_by_verify_alone(
    django_admin, admin_recording, tmp_path
):
    """Converted with --no-correlate, the admin flow sends the recorded CSRF tokens and group
    id; `verify --fix` writes what the live responses show differs and verifies clean."""
    url, project = django_admin
    capture = admin_recording.parent / "raw" / "groups.har"
    recording = tmp_path / "recordings" / "verbatim.py"
    recording.parent.mkdir()
    converted = replay(
        "convert", str(capture), "-o", str(recording), "--no-correlate", cwd=tmp_path
    )
    assert converted.returncode == 0, converted.stderr
    before = groups(project)
    # Uncorrelated, the token-named fields are taken for credentials: give the recorded
    # ones, so the pass sends what the recording holds, as --no-correlate means.
    tokens = dict.fromkeys(re.findall(r"csrfmiddlewaretoken=([\w-]+)", capture.read_text()))
    names = ["REPLAY_CSRFMIDDLEWARETOKEN"] + [
        f"REPLAY_CSRFMIDDLEWARETOKEN_{n}" for n in range(2, len(tokens) + 1)
    ]
    env = {**CREDENTIALS, **dict(zip(names, tokens, strict=True))}

    failed = replay("verify", str(recording), "--host", url, cwd=tmp_path, env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "not correlated: csrfmiddlewaretoken" in failed.stdout, failed.stdout
    fixed = replay("verify", str(recording), "--host", url, "--fix", cwd=tmp_path, env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    again = replay("verify", str(recording), "--host", url, cwd=tmp_path, env=CREDENTIALS)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "self.group_id" in recording.read_text()
    assert groups(project) == before


NOTES_STEPS = """\
fill "#text" "Buy oat milk"
click "button[type=submit]"
wait 400
click "#clear"
wait 400
"""


@needs_chromium
def test_tornado_xsrf_token_is_correlated_whole_once_and_replays(tmp_path):
    """Tornado's own XSRF token (`2|mask|masked|timestamp`), in a cookie, a hidden input and
    an `X-XSRFToken` header a script copies from the cookie: one correlation, whole."""
    (tmp_path / "steps.txt").write_text(NOTES_STEPS)
    with running([str(ROOT / "tests" / "apps" / "xsrf_notes.py"), "--port", "0"]) as url:
        recorded = replay(
            "record", "notes", "--browser", f"{url}/", "--steps", "steps.txt", cwd=tmp_path
        )
        assert recorded.returncode == 0, recorded.stderr
        har = (tmp_path / "recordings" / "raw" / "notes.har").read_text()
        token = re.search(r"_xsrf=(2\|[0-9a-f]+\|[0-9a-f]+\|\d+)", har).group(1)
        source = (tmp_path / "recordings" / "notes.py").read_text()
        assert source.count("# hidden input _xsrf") + source.count("# cookie _xsrf") == 1, source
        pieces = [p for p in token.split("|") if len(p) > 1]
        assert not any(piece in source for piece in pieces), source
        assert '"X-XSRFToken": self.xsrf' in source and '"_xsrf": self.xsrf' in source

        stats = run_locust(
            tmp_path / "recordings", url, "--think-scale", "0", users=3, run_time="5s", tmp=tmp_path
        )
    assert stats.failed == 0, stats.failures
    assert stats.count("POST /api/clear") > 3
