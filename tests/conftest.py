"""Every test runs in its own working directory with its own store and no real credentials."""
from __future__ import annotations

import os
import signal

import pytest

# A suite started in the background by a script (`pytest &`, `nohup`) inherits SIGINT ignored, and
# so would every process the tests start: the Ctrl-C tests would send a signal nobody hears.
# Catching it here gives the children the default again (exec keeps ignored signals, not handlers).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_ENV_PREFIXES = ("ORC_",)
_KEY_SUFFIXES = ("_API_KEY", "_API_TOKEN")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES) or key.endswith(_KEY_SUFFIXES):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORC_DB", str(tmp_path / ".orc" / "orc.duckdb"))
    from orchestrator_nb.providers.scripted import script
    script(None)
    yield
    script(None)
