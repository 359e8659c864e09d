"""GET /orc/api/openapi.json describes every registered route and method, is valid OpenAPI 3.1,
its examples fit its schemas, and so do the server's real answers."""
from __future__ import annotations

import asyncio
import json
import re

import jsonschema
from openapi_spec_validator import validate

from orchestrator_nb.server.openapi import EXAMPLES, SCHEMAS
from orchestrator_nb.server.routes import ROUTES

METHODS = ("get", "post", "put", "patch", "delete")


def _path(pattern: str) -> str:
    return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("\\.", ".")


def _schema_validator(doc: dict, name: str):
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                            "components": doc["components"]})


async def test_the_document_lists_every_route_and_is_valid(api):
    doc = await api.get("openapi.json")
    validate(doc)  # OpenAPI 3.1, with its JSON Schemas
    assert doc["servers"] == [{"url": "/a%40b/orc/api"}]  # under pytest-jupyter's base_url
    registered = {}
    for pattern, handler in ROUTES:
        methods = {m for m in METHODS if getattr(handler, m) is not getattr(__import__(
            "tornado.web", fromlist=["RequestHandler"]).RequestHandler, m)}
        registered[_path(pattern)] = methods
    documented = {p: set(ops) for p, ops in doc["paths"].items()}
    assert documented == registered
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and "403" in op["responses"], (path, method)
            if "{run_id}" in path:
                assert any(p["name"] == "run_id" and p["in"] == "path" for p in op["parameters"])


async def test_every_example_fits_its_schema(api):
    doc = await api.get("openapi.json")
    assert set(EXAMPLES) <= set(SCHEMAS)
    checked = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            bodies = [op.get("requestBody", {}).get("content", {})] + [r.get("content", {})
                                                                       for r in op["responses"].values()]
            for content in bodies:
                media = content.get("application/json")
                if media and "example" in media:
                    name = media["schema"]["$ref"].rsplit("/", 1)[1]
                    _schema_validator(doc, name).validate(media["example"])
                    checked += 1
    assert checked >= 20


async def test_real_answers_fit_the_schemas(api, jp_root_dir, reviewed_yaml, waiting_run):
    doc = await api.get("openapi.json")

    def fits(name, value):
        _schema_validator(doc, name).validate(value)

    (jp_root_dir / "notes.yaml").write_text(reviewed_yaml("notes"))
    deferred = await waiting_run("memo")
    fits("Pipelines", await api.get("pipelines"))
    fits("Info", await api.get("info"))
    response = await api.fetch("orc", "api", "runs", method="POST", body=json.dumps({"pipeline": "notes.yaml"}))
    started = json.loads(response.body)
    fits("Started", started)
    run_id = started["run_id"]
    fits("RunDetail", await api.get("runs", run_id))
    for _ in range(300):
        d = await api.get("runs", run_id)
        if d["run"]["status"] == "waiting":
            break
        await asyncio.sleep(0.1)
    fits("RunDetail", d)
    fits("RunsPage", await api.get("runs"))
    fits("Approvals", await api.get("approvals"))
    code, decided = await api.decide({"run_id": run_id, "step_id": "review", "decision": "approve"})
    fits("DecisionResult", decided)
    response = await api.fetch("orc", "api", "runs", run_id, "resume", method="POST", body="")
    fits("Resumed", json.loads(response.body))
    response = await api.fetch("orc", "api", "runs", deferred, "cancel", method="POST", body="{}")
    fits("Cancelled", json.loads(response.body))
    code, error = await api.error("runs", method="POST", body={"pipeline": "notes.yaml", "inputs": {"topik": 1}})
    assert code == 400
    fits("Error", error)
