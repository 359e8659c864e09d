"""Requests a hostile or careless client sends: each gets a 4xx in the API's JSON form naming the
field, nothing hangs, nothing unreadable is stored, and a refused start records no run."""
from __future__ import annotations

import asyncio
import json
import os

from tornado.httpclient import HTTPClientError

from test_run_control import LONG_ASYNC, post, supervisor, wait_for

ANY_INPUT = """
name: anyin
inputs:
  blob: {type: any, default: 1}
steps:
  - id: echo
    code: output = inputs['blob']
"""


async def test_a_named_pipe_in_the_root_neither_hangs_the_listing_nor_a_start(api, jp_root_dir):
    (jp_root_dir / "anyin.yaml").write_text(ANY_INPUT)
    os.mkfifo(jp_root_dir / "pipe.yaml")   # opening one for reading waits for a writer, for ever
    os.mkfifo(jp_root_dir / "brief.txt")
    listing = await asyncio.wait_for(api.get("pipelines"), 20)
    assert [p["id"] for p in listing["pipelines"] if not p["builtin"]] == ["anyin.yaml"]
    code, data = await asyncio.wait_for(api.error("runs", method="POST", body={
        "pipeline": "anyin.yaml", "files": {"blob": "brief.txt"}}), 20)
    assert (code, data["field"]) == (400, "files.blob") and "not a regular file" in data["message"], data


async def test_values_that_could_not_be_stored_and_shown_again_are_400_naming_the_field(api, jp_root_dir):
    (jp_root_dir / "anyin.yaml").write_text(ANY_INPUT)
    (jp_root_dir / "afile").write_text("x")
    (jp_root_dir / ".git" / "hooks").mkdir(parents=True)
    cases = [('{"pipeline": "anyin.yaml", "outdir": ".git"}', "outdir", "inside a repository's .git folder"),
             ('{"pipeline": "anyin.yaml", "outdir": ".git/hooks"}', "outdir", "inside a repository's .git folder"),
             ('{"pipeline": "anyin.yaml", "inputs": {"blob": 1e400}}', "inputs.blob", "finite"),
             ('{"pipeline": "anyin.yaml", "inputs": {"blob": [1, NaN]}}', "inputs.blob[1]", "finite"),
             ('{"pipeline": "anyin.yaml", "inputs": {"blob": "\\ud800"}}', "inputs.blob", "Unicode"),
             ('{"pipeline": "anyin.yaml", "inputs": {"\\ud800": 1}}', "inputs", "Unicode"),
             ('{"pipeline": "anyin.yaml", "inputs": []}', "inputs", "JSON object"),
             ('{"pipeline": "anyin.yaml", "files": false}', "files", "JSON object"),
             ('{"pipeline": "anyin.yaml", "outdir": "afile"}', "outdir", "is a file, not a folder"),
             ('{"pipeline": "anyin.yaml", "inputs": {"blob": "%s"}}' % ("x" * 10), None, None)]
    for body, field, words in cases[:-1]:
        code, data = await api.error("runs", method="POST", body=body)
        assert code == 400 and data["field"] == field and words in data["message"], (body, data)
        assert len(data["message"]) < 300
    code, data = await api.error("approvals", method="POST", body=json.dumps(
        {"run_id": "abc", "step_id": "review", "decision": "approve", "edited": float("inf")}))
    assert code == 400 and data["field"] == "edited", data
    assert (await api.get("runs"))["runs"] == []  # nothing was queued


async def test_odd_ids_ages_and_paths_get_the_api_s_json_errors(api):
    for run_id in ("%25", "%C3%A9", "%27%20OR%201=1", "a" * 20_000):
        code, data = await api.error("runs", run_id)
        assert code == 404 and data["field"] == "run_id" and len(data["message"]) < 200, (run_id[:20], data)
    code, data = await api.error("stats", params={"since": "99999999999d"})
    assert code == 400 and "before the year 1" in data["message"], data
    code, data = await api.error("no", "such", "endpoint")
    assert code == 404 and data["status"] == 404 and "openapi.json" in data["message"], data
    code, data = await api.error("pipelines", method="DELETE")
    assert code == 405 and data["status"] == 405, data


async def test_starts_refused_for_capacity_record_no_run(api, jp_root_dir, jp_serverapp):
    (jp_root_dir / "long.yaml").write_text(LONG_ASYNC)
    supervisor(jp_serverapp).max_runs = 1

    async def start():
        try:
            r = await api.fetch("orc", "api", "runs", method="POST", body=json.dumps({"pipeline": "long.yaml"}))
            return r.code, json.loads(r.body)
        except HTTPClientError as e:
            return e.code, json.loads(e.response.body)

    answers = await asyncio.gather(*(start() for _ in range(4)))  # at the same moment
    assert sorted(code for code, _ in answers) == [202, 429, 429, 429], answers
    (started,) = [out for code, out in answers if code == 202]
    runs = (await api.get("runs"))["runs"]
    assert [r["run_id"] for r in runs] == [started["run_id"]], runs  # the refused ones left no trace
    await wait_for(api, started["run_id"], {"running"})
    code, out = await post(api, "runs", started["run_id"], "cancel")
    assert out["status"] == "cancelled"


async def test_a_key_in_the_root_s_env_file_is_masked_in_answers(api, jp_root_dir, waiting_run):
    secret = "sk-ant-ROOTDOTENV-0123456789abcdef"
    (jp_root_dir / ".env").write_text(f"ANTHROPIC_API_KEY={secret}\n")  # workers run in the root
    (jp_root_dir / "leak.yaml").write_text(
        "name: leak\nsteps:\n  - id: k\n    code: |\n      from orchestrator_nb.credentials import getenv\n"
        "      output = {'key': getenv('ANTHROPIC_API_KEY'), 'api_key': [getenv('ANTHROPIC_API_KEY')]}\n")
    _, started = await post(api, "runs", body={"pipeline": "leak.yaml"})
    d = await wait_for(api, started["run_id"], {"succeeded", "failed"})
    assert d["run"]["status"] == "succeeded", d["run"]["error"]
    raw = json.dumps(d)
    assert secret not in raw and "[redacted]" in raw


async def test_names_longer_than_a_file_name_are_400_and_long_values_are_quoted_clipped(api, jp_root_dir):
    (jp_root_dir / "anyin.yaml").write_text(ANY_INPUT)
    for name in ("a" * 251, "a" * 5000):  # past NAME_MAX: Python 3.11 raised ENAMETOOLONG, a 500
        code, data = await api.error("runs", method="POST", body={"pipeline": name})
        assert (code, data["field"]) == (400, "pipeline") and "no built-in pipeline" in data["message"], data
        assert len(data["message"]) < 400, len(data["message"])
    long = [({"pipeline": "a/" * 2500}, "pipeline"), ({"pipeline": "../" * 2000 + "x.yaml"}, "pipeline"),
            ({"pipeline": "anyin.yaml", "files": {"blob": "b/" * 2500}}, "files.blob"),
            ({"pipeline": "anyin.yaml", "outdir": "../" * 2000}, "outdir"),
            ({"pipeline": "anyin.yaml", "inputs": {"k" * 5000: 1}}, "inputs." + "k" * 97 + "..."),
            ({"pipeline": "anyin.yaml", "files": {"k" * 5000: "x"}}, "files." + "k" * 97 + "..."),
            ({"pipeline": "anyin.yaml", "model": "m" * 5000}, "model")]
    for body, field in long:
        code, data = await api.error("runs", method="POST", body=body)
        assert (code, data["field"]) == (400, field) and len(data["message"]) < 400, (field, data)
    assert (await api.get("runs"))["runs"] == []
