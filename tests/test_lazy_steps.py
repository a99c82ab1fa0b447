"""A big recording loads without compiling its steps: each compiles when a session first runs it."""

from __future__ import annotations

import contextlib
import shutil
from argparse import Namespace

import pytest
from conftest import ROOT
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask

from replay.runtime import loader, users


@pytest.fixture
def lazy_from_any_size(monkeypatch):
    """The demo recordings are far below LAZY_SIZE: treat them as big ones."""
    monkeypatch.setattr(loader, "LAZY_SIZE", 0)


def _requests_of_one_pass(session, host: str) -> list[tuple[str, str, str]]:
    """One session of `session` against `host` on real Locust: (method, name, error) each."""
    user_class = users.user_class(session)
    user_class.host = host
    environment = Environment(
        user_classes=[user_class], host=host, parsed_options=Namespace(think_scale=0)
    )
    sent = []
    environment.events.request.add_listener(
        lambda request_type, name, exception=None, **_: sent.append(
            (request_type, name, str(exception or ""))
        )
    )
    with contextlib.suppress(InterruptTaskSet, RescheduleTask):  # how a pass ends
        session(user_class(environment)).run()
    return sent


def test_a_big_recording_compiles_each_step_when_a_session_first_runs_it(
    demo_app, recordings, lazy_from_any_size
):
    path = recordings / "demo_shop.py"
    shutil.copy(ROOT / "recordings" / "demo_shop.py", path)
    (lazy,) = users.load_module(path)
    assert lazy.tasks and not any(t.__code__.co_filename == str(path) for t in lazy.tasks)

    sent = _requests_of_one_pass(lazy, demo_app)

    lines = path.read_text().splitlines()
    for step in lazy.tasks:  # now the functions an import makes: tracebacks show the file
        assert step.__code__.co_filename == str(path)
        assert lines[step.__code__.co_firstlineno - 1] == f"    def {step.__name__}(self):"
        assert step.__qualname__ == f"DemoShop.{step.__name__}" and step.__doc__
    assert len(sent) >= len(lazy.tasks) and [error for *_, error in sent if error] == []
    (path.parent / "demo_shop_eager.py").write_text(path.read_text())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "LAZY_SIZE", len(path.read_bytes()) + 1)
        (eager,) = users.load_module(path.parent / "demo_shop_eager.py")
    assert [(m, n) for m, n, _ in _requests_of_one_pass(eager, demo_app)] == [
        (m, n) for m, n, _ in sent
    ]


HAS_A_STEP_IN_A_STRING = '''
from replay.runtime import RecordedSession, task


class Quoting(RecordedSession):
    example = """
    @task
    def not_a_step(self):
        self.get("/")
    """

    @task
    def home(self):
        """Open the home page"""
        self.get("/")
'''


def test_text_that_only_looks_like_steps_is_compiled_as_python_reads_it(
    recordings, lazy_from_any_size
):
    path = recordings / "quoting.py"
    path.write_text(HAS_A_STEP_IN_A_STRING)
    (session,) = users.load_module(path)
    assert "def not_a_step(self):\n        self.get" in session.example
    assert [t.__name__ for t in session.tasks] == ["home"]
    assert session.tasks[0].__code__.co_filename == str(path)  # compiled with the module


PLAIN = """
from replay.runtime import RecordedSession, task


class Plain(RecordedSession):
    weight = 1

    @task
    def home(self):
        self.get("/")
"""


def test_a_step_of_another_form_keeps_the_steps_in_their_order(recordings, lazy_from_any_size):
    path = recordings / "forms.py"
    second = PLAIN[PLAIN.index("    @task") :].replace("home(self)", "page(self, n=2)")
    path.write_text(PLAIN + "\n" + second)
    (session,) = users.load_module(path)
    assert [t.__name__ for t in session.tasks] == ["home", "page"]


def test_a_typo_fails_the_load_or_the_step_with_pythons_message(recordings, lazy_from_any_size):
    """Outside the steps the load fails, as an import would; a step's own fails as it first
    runs (the price of not compiling it before)."""
    path = recordings / "typo.py"
    path.write_text(PLAIN.replace("weight = 1", "weight = (1"))
    with pytest.raises(SyntaxError) as raised:
        users.load_module(path)
    assert (raised.value.filename, raised.value.lineno) == (str(path), 6)

    path.write_text(PLAIN.replace('self.get("/")', 'self.get("/"'))
    (session,) = users.load_module(path)
    with pytest.raises(SyntaxError) as raised:
        session.tasks[0](None)
    assert (raised.value.filename, raised.value.lineno) == (str(path), 10)
