"""Bodies built to hurt the parser: each is answered at once with one 400 naming the field, and
the server (its IO loop: every endpoint, kernels' websockets) keeps answering meanwhile."""
from __future__ import annotations

import asyncio
import time

from orchestrator_nb.server.body import json_depth

from test_hostile_requests import ANY_INPUT


async def test_an_unclosed_string_of_escaped_quotes_is_refused_at_once_and_the_server_keeps_answering(api, jp_fetch):
    body = b'{"comment": "' + b'\\"' * 2_490_000  # just under 5 MB, never closed: the old scan took hours
    started = time.monotonic()
    refused = asyncio.ensure_future(api.error("approvals", method="POST", body=body))
    await asyncio.sleep(0.05)
    status = await asyncio.wait_for(jp_fetch("api", "status"), 5)  # Jupyter's own endpoint, meanwhile
    assert status.code == 200
    code, data = await asyncio.wait_for(refused, 10)
    assert (code, data["field"]) == (400, "body") and "JSON object" in data["message"], data
    assert time.monotonic() - started < 5


def test_json_depth_is_linear_and_exact():
    assert json_depth(b'{"a": "[[[[{{", "b": [[1], {"c": [2]}]}') == 4
    assert json_depth(b'{"a": "\\\\", "b": "\\"[[[", "c": [[]]}') == 3  # escaped quote and backslash
    assert json_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000
    assert json_depth(b"[" + b"[[],[[],[]]]," * 400_000 + b"1]") == 4     # many runs: peeled, then walked
    started = time.monotonic()
    for hostile in (b'"' + b'\\"' * 2_500_000, b'"' + b"\\" * 5_000_000, b"[]" * 2_500_000,
                    b"[" * 2_500_000, b'"[' * 2_500_000):
        json_depth(hostile)
    assert time.monotonic() - started < 2  # (about 0.1 s; the regex it replaced: hours for the first)


async def test_a_field_given_twice_is_400_naming_it(api, jp_root_dir):
    code, data = await api.error("approvals", method="POST",
                                 body='{"run_id": "abc", "step_id": "review", "decision": "approve", '
                                      '"decision": "reject"}')
    assert (code, data["field"]) == (400, "decision") and "given twice" in data["message"], data
    (jp_root_dir / "anyin.yaml").write_text(ANY_INPUT)
    code, data = await api.error("runs", method="POST",
                                 body='{"pipeline": "anyin.yaml", "inputs": {"blob": {"a": 1, "a": 2}}}')
    assert (code, data["field"]) == (400, "inputs.blob.a") and "given twice" in data["message"], data
    assert (await api.get("runs"))["runs"] == []


async def test_an_integer_of_5000_digits_is_400_naming_the_field_and_the_limit(api, jp_root_dir):
    (jp_root_dir / "anyin.yaml").write_text(ANY_INPUT)
    code, data = await api.error("runs", method="POST",
                                 body='{"pipeline": "anyin.yaml", "inputs": {"blob": [1, -' + "9" * 5000 + "]}}")
    assert (code, data["field"]) == (400, "inputs.blob[1]"), data
    assert data["message"] == ("inputs.blob[1] is an integer of 5,000 digits; at most 4,300 "
                               "(send it as a string)"), data
    code, data = await api.error("approvals", method="POST",
                                 body='{"run_id": ' + "9" * 5000 + ', "step_id": "r", "decision": "approve"}')
    assert (code, data["field"]) == (400, "run_id"), data
    assert (await api.get("runs"))["runs"] == []


async def test_5_mb_bodies_of_many_small_values_are_parsed_in_bounded_time(api):
    for body in (b'{"run_id": "a", "step_id": "r", "decision": "approve", "edited": [' + b"{}," * 1_600_000 + b"1]}",
                 b'{"run_id": "a", "step_id": "r", "decision": "approve", "edited": "' + b"\\u00e9" * 800_000 + b'"}'):
        started = time.monotonic()
        code, data = await api.error("approvals", method="POST", body=body)
        assert code == 404 and data["field"] == "run_id", data  # parsed and checked: no such run
        assert time.monotonic() - started < 3, time.monotonic() - started
