"""`GET /orc/api/stats`: the figures of `orc stats --json`, over runs made by the real runner."""
from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.cli.main import main


async def test_stats_endpoint_matches_the_cli(jp_fetch, reviewed_yaml, store, capsys):
    for name in ("notes", "memos"):
        result = await run_pipeline(reviewed_yaml(name), db=store, approval="auto")
        assert result.status == "succeeded"
    response = await jp_fetch("orc", "api", "stats", params={"by": "model,pipeline"})
    body = json.loads(response.body)
    assert main(["stats", "--by", "model,pipeline", "--json"]) == 0
    assert body == json.loads(capsys.readouterr().out)
    assert body["total"]["calls"] == 2 and {r["key"] for r in body["pipeline"]} == {"notes", "memos"}
    assert body["total"]["cost_usd"] > 0

    for params, field in (({"since": "someday"}, "since"), ({"by": "hour"}, "by")):
        with pytest.raises(HTTPClientError) as bad:
            await jp_fetch("orc", "api", "stats", params=params)
        assert bad.value.code == 400 and json.loads(bad.value.response.body)["field"] == field
