"""Fixtures for the headless-batch tests (helpers live in batchkit.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from batchkit import REPO


@pytest.fixture
def headless_env(tmp_path, monkeypatch):
    """Environment for `orc` subprocesses: the test's store, the scripted model, a call log."""
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("ORC_SCRIPT_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return {"log": log, "db": Path(os.environ["ORC_DB"])}


@pytest.fixture
def store():
    """The test's own store (tests/conftest.py points ORC_DB into the test's folder)."""
    from orchestrator_nb.store import Store
    return Store()
