"""The REST API under hostile bodies: too big (413), too deep, malformed (400 naming the field),
never a 500, and nothing stored when a request is refused."""
from __future__ import annotations

import json

import duckdb
import pytest
from tornado.httpclient import HTTPClientError

from orchestrator_nb.api.runner import run_pipeline

PIPELINE = """
name: gate
steps:
  - id: draft
    code: "output = 'a draft'"
  - id: review
    approval: Is the draft good?
    show: "{{ steps.draft.output }}"
"""


async def waiting_run(tmp_path) -> str:
    result = await run_pipeline(PIPELINE, approval="defer", outdir=str(tmp_path), source="test")
    assert result.status == "waiting"
    return result.run_id


async def post(jp_fetch, body, headers=None):
    """(status, JSON answer) of POST /orc/api/approvals."""
    try:
        r = await jp_fetch("orc", "api", "approvals", method="POST", body=body, headers=headers or {},
                           request_timeout=120)
        return r.code, json.loads(r.body)
    except HTTPClientError as e:
        assert e.response is not None, e
        return e.code, json.loads(e.response.body)


def decisions(db) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM approvals").fetchall()[0][0]


@pytest.fixture
def stored(tmp_path):
    import os
    return lambda: decisions(os.environ["ORC_DB"])


async def test_a_body_nested_100000_levels_is_400_not_500(jp_fetch, tmp_path, stored):
    waiting = await waiting_run(tmp_path)
    before = stored()
    code, data = await post(jp_fetch, "[" * 100_000 + "]" * 100_000)
    assert code == 400 and data["field"] == "body"
    assert data["message"] == ("JSON nesting of 100,000 levels is over the limit of 32 levels "
                               "(set ORC_API_MAX_JSON_DEPTH to raise it)")
    code, data = await post(jp_fetch, '{"run_id": ' + '{"a": ' * 50 + "1" + "}" * 50 + "}")
    assert code == 400 and "JSON nesting of 51 levels" in data["message"]
    assert stored() == before


async def test_a_20_mb_body_is_413_and_not_kept(jp_fetch, tmp_path, stored):
    waiting = await waiting_run(tmp_path)
    before = stored()
    body = json.dumps({"run_id": waiting, "step_id": "review", "decision": "approve", "comment": "x" * 20_000_000})
    code, data = await post(jp_fetch, body)
    assert code == 413 and data["field"] == "body"
    assert data["message"].startswith("a request body of 20,000,0")
    assert data["message"].endswith("is over the limit of 5,000,000 bytes (set ORC_API_MAX_BODY_BYTES to raise it)")
    assert stored() == before


async def test_a_1_mb_comment_is_400_naming_the_comment(jp_fetch, tmp_path, stored):
    waiting = await waiting_run(tmp_path)
    before = stored()
    body = {"run_id": waiting, "step_id": "review", "decision": "request_changes", "comment": "y" * 1_000_000}
    code, data = await post(jp_fetch, json.dumps(body))
    assert code == 400 and data["field"] == "comment"
    assert data["message"] == ("a comment of 1,000,000 characters is over the limit of 10,000 characters "
                               "(set ORC_API_MAX_COMMENT_CHARS to raise it)")
    assert stored() == before
    body["comment"] = "shorter, please"
    code, data = await post(jp_fetch, json.dumps(body))
    assert code == 201, data
    assert stored() == before + 1


MALFORMED = [
    (b"\xff\xfe not utf-8", "body"),
    (b'{"run_id": 1e999999, "step_id": "r", "decision": "approve"}', "run_id"),
    (b'{"run_id": ' + b"9" * 5000 + b', "step_id": "r", "decision": "approve"}', "run_id"),
    (b'{"run_id": "a", "step_id": "r", "decision": {"x": [1, [2]]}}', "decision"),
    (b'{"run_id": "' + b"r" * 5000 + b'", "step_id": "r", "decision": "approve"}', "run_id"),
    (b'{"run_id": "a", "step_id": "r", "decision": "approve", "comment": 5}', "comment"),
    (b'{"' + b"k" * 1000 + b'": 1}', "k" * 100),
    (b'"just a string"', "body"),
    (b"null", "body"),
    (b'{"run_id": "a\\u0000b", "step_id": "r\\nx", "decision": "approve"}', "run_id"),
]


async def test_malformed_bodies_are_400_naming_the_field(jp_fetch, tmp_path, stored):
    await waiting_run(tmp_path)
    before = stored()
    for body, field in MALFORMED:
        code, data = await post(jp_fetch, body)
        assert code in (400, 404), (body[:80], code, data)
        assert data["field"] == field and data["message"], (body[:80], data)
        assert "\n" not in data["message"] and "\x00" not in data["message"], data
    assert stored() == before


def test_a_streamed_body_without_length_is_dropped_past_the_limit(monkeypatch):
    from orchestrator_nb.server.body import BadRequest, BodyReader, json_depth
    monkeypatch.setenv("ORC_API_MAX_BODY_BYTES", "5000")
    reader = BodyReader(None)
    for _ in range(10):
        reader.feed(b"x" * 1000)
    assert reader.chunks == [] and reader.size == 10_000
    with pytest.raises(BadRequest) as e:
        reader.body()
    assert e.value.status == 413 and "a request body of 10,000 bytes" in e.value.message
    with pytest.raises(BadRequest):
        BodyReader("6000")                     # refused from Content-Length, before any byte
    assert json_depth(b'{"a": "[[[[{{", "b": [[1], {"c": [2]}]}') == 4
