"""A real jupyter_server (pytest-jupyter) with orchestrator_nb.server, for the REST limit tests."""
from __future__ import annotations

import pytest

# pytest-jupyter's fixtures and async-test hooks, for this folder only (as tests/server does)
from pytest_jupyter.jupyter_server import *  # noqa: F401,F403


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"orchestrator_nb.server": True}},
            "OrcServer": {"set_kernel_env": False}}
