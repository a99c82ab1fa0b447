"""Loading a recording module: a big one compiles each step when a session first runs it.

Compiling is what a big recording's import costs: the module of a 20,000-request capture
(9,500 steps) takes 1.6 s of CPU and 430 MB in Python's parser, against 0.05 s to run the
compiled module, and every Locust worker pays it before its first request. So a module of
LAZY_SIZE or more is compiled without its steps' bodies (the class, its attributes, on_start
and whatever else it holds are compiled and run as usual), and each step is compiled from
the same text the first time it runs: once per process, a step at a time. After that first
call the step is the function an import would have made: its code, file and line numbers.

A step is what `replay convert` writes, `@task` over `def NAME(self):` in a class, its body
indented under it. Where the text leaves any doubt (a step outside a class, a string or a
line continuation that could run across a step's edge, a class that is not a task set, a
task of another form in the class) the module is compiled whole, as Python imports it.
"""

from __future__ import annotations
import __future__

import bisect
import re
import types
from importlib.machinery import SourceFileLoader
from importlib.util import decode_source

from locust import SequentialTaskSet

LAZY_SIZE = 256 * 1024
"""Bytes of source from which steps compile on first use (about 500 requests, 0.05 s of
compiling); a smaller module is imported as Python imports it, bytecode cache and all."""

STEP = re.compile(
    r"\n(    @task)\n(    def (\w+)\(self\):\n        [^\n]*(?:\n(?:        [^\n]*|[ \t]*(?=\n)))*)"
)
"""A step: (1) the decorator line, (2) the def line and every line indented under it or
blank, up to the line break before the next line that is neither; (3) its name. Each
pattern starts with a line break: the regex engine then looks for that character alone,
ten times faster over a big module than `^` with re.M."""
TOP_LEVEL = re.compile(r"\n(?=[^\s#])")
"""Before a line of code at the module's level."""
CLASS = re.compile(r"class (\w+)\b")
FUTURE = sum(getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
"""The compiler flags of `from __future__ import ...`: a step compiles with the module's."""


class RecordingLoader(SourceFileLoader):
    """Python's own loader for a module of LAZY_SIZE bytes or less, else steps on first use."""

    def exec_module(self, module: types.ModuleType) -> None:
        data = self.get_data(self.path)
        if len(data) < LAZY_SIZE:
            return super().exec_module(module)
        source = decode_source(data)
        source += "" if source.endswith("\n") else "\n"
        steps = _steps(source)
        if steps is None or not _exec_skeleton(module, source, steps, self.path):
            return super().exec_module(module)
        return None


class _Step:
    """Where one step's text is, and what compiling it needs."""

    __slots__ = ("owner", "name", "decorator", "start", "end", "line")

    def __init__(self, owner: str, match: re.Match, line: int):
        self.owner, self.name = owner, match[3]
        self.decorator, self.start, self.end = match.start(1), match.start(2), match.end(2)
        self.line = line
        """The line of `def`, counted from 1."""


def _steps(source: str) -> list[_Step] | None:
    """Every step of the module, or None when one of them may not be what it looks like."""
    tops = [m.end() for m in TOP_LEVEL.finditer(source)]
    steps, position, line = [], 0, 1
    for match in STEP.finditer(source):
        top = bisect.bisect_left(tops, match.start(1)) - 1
        owner = CLASS.match(source, tops[top]) if top >= 0 else None
        if owner is None:
            return None
        line += source.count("\n", position, match.start(2))
        position = match.start(2)
        steps.append(_Step(owner[1], match, line))
    if not steps or any("\\" in (source[s.decorator - 2], source[s.end - 1]) for s in steps):
        return None  # a line continuation could run across a step's edge
    edges = [0, *(i for s in steps for i in (s.start, s.end)), len(source)]
    for quotes in ('"""', "'''"):
        if any(source.count(quotes, a, b) % 2 for a, b in zip(edges, edges[1:], strict=False)):
            return None  # a string could run across a step's edge
    return steps


def _exec_skeleton(module, source: str, steps: list[_Step], path: str) -> bool:
    """Run the module without its steps' bodies and hang each step on its class; False (and
    the module as it was) where a class cannot take them."""
    initial = dict(vars(module))
    parts, position = [], 0
    for step in steps:
        blank = "\n" * source.count("\n", step.decorator, step.end)
        parts += [source[position : step.decorator], blank]
        position = step.end
    parts.append(source[position:])
    try:
        code = compile("".join(parts), path, "exec", dont_inherit=True)
    except SyntaxError:
        return False  # the whole module then fails to compile too, with Python's own message
    namespace = vars(module)
    exec(code, namespace)  # noqa: S102 (the recording itself, as an import would run it)
    owners = {step.owner: namespace.get(step.owner) for step in steps}
    if not all(_takes_steps(cls, module.__name__) for cls in owners.values()):
        namespace.clear()
        namespace.update(initial)
        return False
    flags = code.co_flags & FUTURE
    for step in steps:
        cls = owners[step.owner]
        function = _pending(step, cls, source, path, flags, namespace)
        setattr(cls, step.name, function)
        cls.tasks.append(function)
    return True


def _takes_steps(cls, module_name: str) -> bool:
    """A task set of this module whose task list its steps alone make up."""
    if not (isinstance(cls, type) and issubclass(cls, SequentialTaskSet)):
        return False
    inherited = [t for base in cls.__bases__ for t in getattr(base, "tasks", ())]
    return cls.__module__ == module_name and cls.tasks == inherited


def _not_compiled_yet(self, *, _compile):
    return _compile(self)


def _pending(step: _Step, cls: type, source: str, path: str, flags: int, namespace: dict):
    """A function that compiles the step on its first call, becomes it and runs it."""
    function = types.FunctionType(_not_compiled_yet.__code__, namespace, step.name)
    function.__qualname__ = f"{cls.__qualname__}.{step.name}"
    function.__module__ = namespace["__name__"]

    def compile_and_run(session):
        # Inside `if 1:` the def keeps its columns, so a traceback's carets point right.
        text = "if 1:\n" + source[step.start : step.end]
        try:
            code = compile(text, path, "exec", flags, dont_inherit=True)
        except SyntaxError as e:  # a typo made in the file: say where it is
            e.lineno = e.lineno and e.lineno + step.line - 2
            e.end_lineno = e.end_lineno and e.end_lineno + step.line - 2
            raise
        scope: dict = {}
        exec(_moved(code, step.line - 2), namespace, scope)  # noqa: S102 (the recording's own code)
        compiled = scope[step.name]
        function.__code__ = compiled.__code__.replace(co_qualname=function.__qualname__)
        function.__kwdefaults__ = None
        function.__doc__ = compiled.__doc__
        return function(session)

    function.__kwdefaults__ = {"_compile": compile_and_run}
    return function


def _moved(code: types.CodeType, lines: int) -> types.CodeType:
    """`code` and the code inside it, `lines` further down the file."""
    consts = tuple(_moved(c, lines) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=consts)
