"""Which store the server reads: `OrcServer.db` (relative to the root dir) > ORC_DB > <root>/.orc/orc.duckdb,
and kernels started by the server are pointed at the same store."""
from __future__ import annotations

import json
import os

import pytest

from orchestrator_nb.server.settings import OrcServer


def test_store_path_order(tmp_path, monkeypatch):
    root = str(tmp_path / "root")
    monkeypatch.delenv("ORC_DB")
    assert OrcServer().store_path(root) == os.path.join(root, ".orc", "orc.duckdb")
    monkeypatch.setenv("ORC_DB", "elsewhere/orc.duckdb")  # relative to the server's working directory
    assert OrcServer().store_path(root) == os.path.abspath("elsewhere/orc.duckdb")
    assert OrcServer(db="runs/team.duckdb").store_path(root) == os.path.join(root, "runs", "team.duckdb")
    assert OrcServer(db=str(tmp_path / "abs.duckdb")).store_path(root) == str(tmp_path / "abs.duckdb")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"orchestrator_nb.server": True}},
            "OrcServer": {"db": "team/orc.duckdb", "set_kernel_env": True}}


async def test_configured_store_is_used_and_exported_to_kernels(jp_fetch, jp_root_dir):
    # (tests/conftest.py's monkeypatch restores ORC_DB after the test)
    info = json.loads((await jp_fetch("orc", "api", "info")).body)
    expected = os.path.join(str(jp_root_dir), "team", "orc.duckdb")
    assert info["db"] == expected and info["exists"] is False
    assert os.environ["ORC_DB"] == expected  # kernels this server starts inherit it
