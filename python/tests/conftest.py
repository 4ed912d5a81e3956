"""Fixtures: a factory of real worker processes (``host``) whose every message in both
directions is checked against ``framebus/wire_schema.json`` when that file exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from framebus.testing import WIRE_SCHEMA_PATH, WireSchema, WorkerHost

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent.parent
#: Set in CI once the generated schema is merged: a missing schema then fails the run.
REQUIRE_SCHEMA = os.environ.get("FRAMEBUS_REQUIRE_WIRE_SCHEMA") == "1"


def wire_schema_path() -> Path:
    """``FRAMEBUS_WIRE_SCHEMA`` if set, else the installed package's schema, else the source
    tree's (the same file after a merge)."""
    if os.environ.get("FRAMEBUS_WIRE_SCHEMA"):
        return Path(os.environ["FRAMEBUS_WIRE_SCHEMA"])
    if WIRE_SCHEMA_PATH.exists():
        return WIRE_SCHEMA_PATH
    return REPO / "python" / "framebus" / "wire_schema.json"


@pytest.fixture(scope="session")
def wire():
    """The wire schema as a message check, or None while the file does not exist (an error
    when FRAMEBUS_REQUIRE_WIRE_SCHEMA=1)."""
    path = wire_schema_path()
    if not path.exists():
        if REQUIRE_SCHEMA:
            pytest.fail(f"FRAMEBUS_REQUIRE_WIRE_SCHEMA=1 but {path} does not exist")
        return None
    return WireSchema.load(path)


@pytest.fixture
def host(wire):
    """``host(stage_id, module=..., **kw)`` starts a real worker for a test stage; every
    worker is shut down (or killed) after the test and checked to be gone."""
    started = []

    def start(stage: str, module: str = "stages_for_tests", **kw) -> WorkerHost:
        kw.setdefault("path", [str(TESTS)])
        kw.setdefault("timeout", 20.0)
        if wire is not None:
            kw.setdefault("check", wire.check)
        w = WorkerHost(module, stage, **kw)
        started.append(w)
        return w

    yield start
    for w in started:
        w.close()
        assert w.proc is not None and w.proc.poll() is not None, f"worker {w.pid} still running"
