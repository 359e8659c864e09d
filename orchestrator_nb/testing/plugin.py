"""pytest plugin (entry point `pytest11`): fixtures for testing pipelines with orchestrator-nb.

- ``orc_store``: an isolated store (``ORC_DB`` in a temp folder) for one test.
- ``scripted``: script the ``scripted:`` provider's answers; ``scripted.calls`` lists requests.
"""
from __future__ import annotations

import pytest


@pytest.fixture
def orc_store(tmp_path, monkeypatch):
    from orchestrator_nb.store import Store
    path = tmp_path / ".orc" / "orc.duckdb"
    monkeypatch.setenv("ORC_DB", str(path))
    return Store(path)


class _Scripted:
    def __call__(self, rules):
        from orchestrator_nb.providers.scripted import script
        script(rules)
        return self

    @property
    def calls(self):
        from orchestrator_nb.providers.scripted import ScriptedProvider
        return ScriptedProvider.calls


@pytest.fixture
def scripted():
    from orchestrator_nb.providers.scripted import script
    script(None)
    yield _Scripted()
    script(None)
