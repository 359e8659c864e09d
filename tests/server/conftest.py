"""Server-extension tests: a real jupyter_server (pytest-jupyter) with orchestrator_nb.server
enabled, over a real DuckDB store filled by real runs (the `scripted:` provider)."""
from __future__ import annotations

import json
import os

import pytest

# pytest-jupyter's fixtures and async-test hooks, for this folder only (pytest allows
# `pytest_plugins` in the root conftest alone).
from pytest_jupyter.jupyter_server import *  # noqa: F401,F403

from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.store import Store

# `review` waits for a person; a price for the scripted model makes the cost chart non-zero.
REVIEWED = """
name: {name}
inputs:
  topic: {{type: string, default: tides}}
prices:
  "scripted:writer": {{input: 1000, output: 2000}}
steps:
  - id: draft
    model: scripted:writer
    system: You write short notes.
    prompt: Write a note about {{{{ inputs.topic }}}}
  - id: review
    approval: Is the draft good?
    show: "{{{{ steps.draft.output }}}}"
  - id: publish
    needs: [review]
    write: {{path: "out/{{{{ run.id }}}}/note.md", content: "{{{{ steps.draft.output }}}}"}}
"""


def reviewed(name: str = "notes") -> str:
    return REVIEWED.format(name=name)


@pytest.fixture
def reviewed_yaml():
    """reviewed_yaml(name) -> the text of a draft / review / publish pipeline."""
    return reviewed


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"orchestrator_nb.server": True}},
            "OrcServer": {"set_kernel_env": False}}


@pytest.fixture
def store() -> Store:
    return Store(os.environ["ORC_DB"])


@pytest.fixture
def waiting_run(tmp_path):
    """Run a pipeline headless with approval policy `defer`: it ends `waiting` at `review`."""
    async def make(name: str = "notes", **inputs):
        result = await run_pipeline(reviewed(name), inputs or None, approval="defer", outdir=str(tmp_path),
                                    source="test")
        assert result.status == "waiting", result.status
        return result.run_id
    return make


class Api:
    """/orc/api/ through pytest-jupyter's authenticated client."""

    def __init__(self, jp_fetch):
        self.fetch = jp_fetch

    async def get(self, *parts, **params):
        response = await self.fetch("orc", "api", *parts, params=params or None)
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.body)

    async def decide(self, body, **kwargs):
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = await self.fetch("orc", "api", "approvals", method="POST", body=raw, **kwargs)
        return response.code, json.loads(response.body)

    async def error(self, *parts, method="GET", body=None, headers=None, params=None):
        """The HTTP error a request ends in: (status, JSON body or None)."""
        from tornado.httpclient import HTTPClientError
        kwargs = {"method": method, "headers": headers, "params": params}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
        with pytest.raises(HTTPClientError) as info:
            await self.fetch("orc", "api", *parts, **kwargs)
        response = info.value.response
        try:
            data = json.loads(response.body) if response is not None and response.body else None
        except ValueError:
            data = None
        return info.value.code, data


@pytest.fixture
def api(jp_fetch) -> Api:
    return Api(jp_fetch)
