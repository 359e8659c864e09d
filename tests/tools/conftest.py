"""Fixtures for the tool tests."""
from __future__ import annotations

import pytest

from toolkit import HttpMcp


@pytest.fixture
def toys_log(tmp_path, monkeypatch):
    path = tmp_path / "toys.log"
    monkeypatch.setenv("TOOLTOYS_LOG", str(path))
    return path


@pytest.fixture
def mcp_log(tmp_path, monkeypatch):
    path = tmp_path / "mcp.log"
    monkeypatch.setenv("MCP_DEMO_LOG", str(path))
    return path


@pytest.fixture(scope="module")
def http_mcp(tmp_path_factory):
    """One HTTP MCP server for a test module (its calls are logged to its own file)."""
    tmp = tmp_path_factory.mktemp("mcp-http")
    server = HttpMcp(tmp, env={"MCP_DEMO_LOG": str(tmp / "calls.log")})
    server.calls_log = tmp / "calls.log"
    yield server
    server.stop()
