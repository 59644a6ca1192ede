"""Kill points for the interrupted-run tests: a run stopped at a chosen call, as SIGKILL stops it.

In the test's process, `stop_before(monkeypatch, owner, name, when_arg)` (or `stop_after`) makes
that call raise Killed: a BaseException that the pipeline never handles, so no cleanup runs and
the files are left as a SIGKILL at that moment leaves them (the points are driver calls between
Spark jobs: no task is writing then).
In a `fruits` process: put `sitecustomize_folder(tmp)` first on PYTHONPATH and set KILL_AT to
"MODULE:ATTRIBUTE" (a dotted path below the module: "MODULE:Class.method"; ":N" after it: the
Nth call in a process): that call, in any of the run's Python processes (the driver or a
Spark worker), SIGKILLs the run's process group (start it with start_new_session=True: the
driver and its JVM) and its own (PySpark's daemon puts its workers in a group of their own), as
a dying laptop would: nothing of the run survives to clean up.
"""
from __future__ import annotations

import functools
from pathlib import Path

KILL_AT = "FRUITS_TEST_KILL_AT"

SITECUSTOMIZE = f'''
import functools, importlib, itertools, os, signal

_where = os.environ.get("{KILL_AT}")
if _where:
    _module, _, _rest = _where.partition(":")
    _path, _, _nth = _rest.partition(":")
    _owner = importlib.import_module(_module)
    *_parents, _name = _path.split(".")
    for _parent in _parents:
        _owner = getattr(_owner, _parent)
    _original, _calls = getattr(_owner, _name), itertools.count(1)

    @functools.wraps(_original)
    def _killed(*args, **kwargs):
        if next(_calls) >= int(_nth or 1):
            os.killpg(os.getsid(0), signal.SIGKILL)  # the session's leader is the run's driver
            os.killpg(os.getpgrp(), signal.SIGKILL)
        return _original(*args, **kwargs)

    setattr(_owner, _name, _killed)
'''


class Killed(BaseException):
    """The run stopped here, with no handler or finally block of its own doing anything about it."""


def sitecustomize_folder(folder: Path) -> Path:
    """A folder holding the sitecustomize.py that applies KILL_AT: put it first on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


def _matches(when_arg: str, args) -> bool:
    return not when_arg or any(isinstance(arg, str) and when_arg in arg for arg in args)


def stop_before(monkeypatch, owner, name: str, when_arg: str = "") -> None:
    """`owner.name(...)` raises Killed instead of running, at its first call with a text argument holding `when_arg`."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def stopped(*args, **kwargs):
        if _matches(when_arg, args):
            raise Killed(f"before {name}{args}")
        return original(*args, **kwargs)
    monkeypatch.setattr(owner, name, stopped)


def stop_after(monkeypatch, owner, name: str, when_arg: str = "") -> None:
    """`owner.name(...)` runs, then raises Killed, at its first call with a text argument holding `when_arg`."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def stopped(*args, **kwargs):
        original(*args, **kwargs)
        if _matches(when_arg, args):
            raise Killed(f"after {name}{args}")
    monkeypatch.setattr(owner, name, stopped)
