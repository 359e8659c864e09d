"""The OpenAPI 3.1 description of ``/orc/api/``, served at ``/orc/api/openapi.json``.

Written by hand, next to the handlers it describes; the tests check that every registered route
and method is here, that the document is valid OpenAPI, that every example fits its schema, and
that real responses fit the schemas too.
"""
from __future__ import annotations

from ..version import __version__

STATUSES = ["pending", "running", "succeeded", "failed", "skipped", "waiting", "cancelled", "budget_exceeded"]
RUN = "3f2a9c41d0b7"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_: str, **more) -> dict:
    return {"type": [type_, "null"], **more}


TIME = _nullable("string", format="date-time", description="UTC, ISO 8601 with Z")

SCHEMAS: dict = {
    "Error": {
        "type": "object", "required": ["message", "field", "status"],
        "properties": {"message": {"type": "string", "description": "what was wrong and how to fix it"},
                       "field": _nullable("string", description="the request field it is about, e.g. inputs.topic"),
                       "status": {"type": "integer"}},
    },
    "RunStatus": {"type": "string", "enum": STATUSES},
    "StepState": {
        "type": "object", "required": ["id", "status"],
        "properties": {"id": {"type": "string"}, "status": {"type": "string"}, "attempt": {"type": "integer"},
                       "items_done": {"type": "integer"}, "items_total": {"type": "integer"}},
    },
    "RunSummary": {
        "type": "object", "required": ["run_id", "pipeline", "status", "started_at", "steps"],
        "properties": {
            "run_id": {"type": "string"}, "pipeline": _nullable("string"), "status": _ref("RunStatus"),
            "source": _nullable("string", description="who started it: cli, notebook, server, api..."),
            "started_at": TIME, "ended_at": TIME, "duration_s": _nullable("number"),
            "cost_usd": _nullable("number"), "tokens_in": _nullable("integer"), "tokens_out": _nullable("integer"),
            "error": _nullable("string"), "parent_run_id": _nullable("string"), "notebook_path": _nullable("string"),
            "outdir": _nullable("string"), "nb_run_id": _nullable("string"),
            "steps": {"type": "array", "items": _ref("StepState")}},
    },
    "RunsPage": {
        "type": "object", "required": ["runs", "total", "limit", "offset"],
        "properties": {"runs": {"type": "array", "items": _ref("RunSummary")}, "total": {"type": "integer"},
                       "limit": {"type": "integer"}, "offset": {"type": "integer"}},
    },
    "PendingApproval": {
        "type": "object", "required": ["run_id", "step_id", "round", "question", "show"],
        "properties": {
            "run_id": {"type": "string", "description": "the run whose step waits (a sub-pipeline run maybe)"},
            "step_id": {"type": "string"}, "round": {"type": "integer"},
            "question": {"type": "string"}, "show": _nullable("string", description="the content to review"),
            "revise": _nullable("string", description="the step a change request regenerates"),
            "editable": {"type": "boolean", "description": "approving with edits (`edited`) replaces the "
                                                           "output of the `revise` step"},
            "input_schema": _nullable("object", description="the gate's form (`input: {schema}`): approving "
                                                            "sends `input`, an object that fits it"),
            "pipeline": _nullable("string"), "run_status": _nullable("string"), "source": _nullable("string"),
            "parent_run_id": _nullable("string"), "started_at": TIME,
            "live": {"type": "boolean", "description": "the run is still going on and continues at once"},
            "approve": {"type": "string", "description": "the command that approves it"},
            "request_changes": {"type": "string"}, "reject": {"type": "string"},
            "resume": {"type": "string", "description": "the command that continues the run afterwards"}},
    },
    "RunDetail": {
        "type": "object",
        "required": ["run", "steps", "approvals", "pending", "artifacts", "events", "children", "plan", "timeline"],
        "properties": {
            "run": {"type": "object", "required": ["run_id", "status"],
                    "properties": {"run_id": {"type": "string"}, "status": _ref("RunStatus"),
                                   "inputs": {"description": "the run's inputs"},
                                   "spec_yaml": _nullable("string")}},
            "steps": {"type": "array", "items": {"type": "object"}, "description": "every attempt of every step"},
            "approvals": {"type": "array", "items": {"type": "object"}, "description": "decisions made"},
            "pending": {"type": "array", "items": _ref("PendingApproval"),
                        "description": "approvals waiting for a decision (sub-pipeline runs' included)"},
            "artifacts": {"type": "array", "items": {"type": "object"}},
            "events": {"type": "array", "items": {"type": "object"}}, "events_total": {"type": "integer"},
            "children": {"type": "array", "items": {"type": "object"}},
            "llm_calls": {"type": "array", "items": {"type": "object"}},
            "plan": {"type": "array", "items": {"type": "object"}},
            "timeline": {"type": "array", "items": {"type": "object"}}},
    },
    "Approvals": {"type": "object", "required": ["approvals"],
                  "properties": {"approvals": {"type": "array", "items": _ref("PendingApproval")}}},
    "Decision": {
        "type": "object", "required": ["run_id", "step_id", "decision"], "additionalProperties": False,
        "properties": {
            "run_id": {"type": "string", "minLength": 1}, "step_id": {"type": "string", "minLength": 1},
            "decision": {"type": "string", "enum": ["approve", "reject", "request_changes"]},
            "comment": _nullable("string", description="required to request changes: what to change"),
            "edited": {"description": "approve with edits: the reviewed output as changed (the pending "
                                      "approval says `editable`)"},
            "input": _nullable("object", description="a typed gate's form values, fitting its `input_schema`")},
    },
    "DecisionResult": {
        "type": "object", "required": ["run_id", "step_id", "round", "decision", "resume", "live", "next"],
        "properties": {"run_id": {"type": "string"}, "step_id": {"type": "string"}, "round": {"type": "integer"},
                       "decision": {"type": "string", "enum": ["approved", "rejected", "changes_requested"]},
                       "resume": {"type": "string", "description": "the run to resume (the outermost)"},
                       "live": {"type": "boolean"}, "next": {"type": "string"}},
    },
    "Info": {
        "type": "object", "required": ["version", "db", "exists", "statuses", "decisions"],
        "properties": {"version": {"type": "string"}, "db": {"type": "string"}, "exists": {"type": "boolean"},
                       "statuses": {"type": "array", "items": {"type": "string"}},
                       "decisions": {"type": "array", "items": {"type": "string"}}},
    },
    "StatsRow": {
        "type": "object",
        "required": ["calls", "errors", "cached", "tokens_in", "tokens_out", "cost_usd", "p50_ms", "p95_ms",
                     "retries", "fallbacks"],
        "description": "model calls of one group (see `orc stats`): failed and cached calls count in `calls`; "
                       "latency percentiles are over answered, uncached calls",
        "properties": {"key": {"type": "string", "description": "the model, pipeline or UTC day (not in total)"},
                       "calls": {"type": "integer"}, "errors": {"type": "integer"}, "cached": {"type": "integer"},
                       "tokens_in": {"type": "integer"}, "tokens_out": {"type": "integer"},
                       "cost_usd": {"type": "number"}, "p50_ms": _nullable("number"), "p95_ms": _nullable("number"),
                       "retries": {"type": "integer"}, "fallbacks": {"type": "integer"}},
    },
    "Stats": {
        "type": "object", "required": ["total"],
        "properties": {"total": {"anyOf": [_ref("StatsRow"), {"type": "null"}]},
                       "model": {"type": "array", "items": _ref("StatsRow")},
                       "pipeline": {"type": "array", "items": _ref("StatsRow")},
                       "day": {"type": "array", "items": _ref("StatsRow")}},
    },
    "PipelineInput": {
        "type": "object", "required": ["name", "type", "required"],
        "properties": {"name": {"type": "string"},
                       "type": {"type": "string",
                                "enum": ["string", "integer", "number", "boolean", "array", "object", "any"]},
                       "required": {"type": "boolean"}, "default": {}, "description": _nullable("string"),
                       "choices": _nullable("array")},
    },
    "Pipeline": {
        "type": "object", "required": ["id", "name", "builtin", "inputs"],
        "properties": {"id": {"type": "string", "description": "what POST runs takes as `pipeline`"},
                       "name": {"type": "string"}, "description": _nullable("string"),
                       "builtin": {"type": "boolean"}, "path": _nullable("string", description="under the root"),
                       "inputs": {"type": "array", "items": _ref("PipelineInput")},
                       "steps": {"type": "integer"}, "approvals": {"type": "array", "items": {"type": "string"}}},
    },
    "Pipelines": {
        "type": "object", "required": ["pipelines", "errors"],
        "properties": {"pipelines": {"type": "array", "items": _ref("Pipeline")},
                       "errors": {"type": "array", "items": {
                           "type": "object", "required": ["path", "message"],
                           "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}},
    },
    "StartRun": {
        "type": "object", "required": ["pipeline"], "additionalProperties": False,
        "properties": {
            "pipeline": {"type": "string", "minLength": 1,
                         "description": "a built-in name (project) or a YAML path under the server root"},
            "inputs": {"type": "object", "description": "input values: text, numbers, booleans, lists, objects"},
            "files": {"type": "object", "additionalProperties": {"type": "string"},
                      "description": "inputs read from text files under the server root (input name -> path)"},
            "approval": {"type": "string", "enum": ["defer", "auto", "reject", "fail"], "default": "defer",
                         "description": "what approval steps do: defer = the run waits (decide, then resume)"},
            "model": {"type": "string", "description": "model for every step that names none (like orc run --model)"},
            "outdir": {"type": "string",
                       "description": "where the run writes files, under the root (default: the root)"},
            "isolate": {"type": "boolean", "default": False,
                        "description": "run code/python steps in a confined child process (like orc run --isolate)"}},
    },
    "Links": {"type": "object",
              "properties": {k: {"type": "string"} for k in ("run", "resume", "cancel", "approvals")}},
    "Started": {
        "type": "object", "required": ["run_id", "status", "links"],
        "properties": {"run_id": {"type": "string"}, "status": {"const": "pending"}, "links": _ref("Links")},
    },
    "ResumeRun": {
        "type": "object", "additionalProperties": False,
        "properties": {"approval": {"type": "string", "enum": ["defer", "auto", "reject", "fail"],
                                    "description": "default: the policy the run was started with"}},
    },
    "Resumed": {
        "type": "object", "required": ["run_id", "status", "previous", "links"],
        "properties": {"run_id": {"type": "string"}, "status": {"const": "pending"},
                       "previous": _ref("RunStatus"), "links": _ref("Links")},
    },
    "CancelRun": {"type": "object", "additionalProperties": False, "properties": {}},
    "Cancelled": {
        "type": "object", "required": ["run_id", "status", "previous", "signals", "seconds"],
        "properties": {"run_id": {"type": "string"},
                       "status": {"type": "string",
                                  "description": "cancelled (or the status it ended with on its own)"},
                       "previous": _ref("RunStatus"), "error": _nullable("string"),
                       "signals": {"type": "array", "items": {"type": "string", "enum": ["SIGINT", "SIGKILL"]}},
                       "seconds": {"type": "number"}},
    },
}

EXAMPLES = {
    "StartRun": {"pipeline": "pipelines/notes.yaml", "inputs": {"topic": "tides", "max_words": 120},
                 "files": {"background": "docs/background.md"}, "approval": "defer"},
    "Started": {"run_id": RUN, "status": "pending",
                "links": {"run": f"/orc/api/runs/{RUN}", "resume": f"/orc/api/runs/{RUN}/resume",
                          "cancel": f"/orc/api/runs/{RUN}/cancel", "approvals": f"/orc/api/approvals?run_id={RUN}"}},
    "ResumeRun": {"approval": "defer"},
    "Resumed": {"run_id": RUN, "status": "pending", "previous": "waiting",
                "links": {"run": f"/orc/api/runs/{RUN}", "resume": f"/orc/api/runs/{RUN}/resume",
                          "cancel": f"/orc/api/runs/{RUN}/cancel", "approvals": f"/orc/api/approvals?run_id={RUN}"}},
    "CancelRun": {},
    "Cancelled": {"run_id": RUN, "status": "cancelled", "previous": "running", "error": "cancelled by ui:ada",
                  "signals": ["SIGINT"], "seconds": 0.41},
    "Decision": {"run_id": RUN, "step_id": "review", "decision": "request_changes", "comment": "Shorter, please."},
    "DecisionResult": {"run_id": RUN, "step_id": "review", "round": 1, "decision": "changes_requested",
                       "resume": RUN, "live": False, "next": f"orc resume {RUN}"},
    "Pipelines": {"pipelines": [{"id": "pipelines/notes.yaml", "name": "notes", "description": "A short note",
                                 "builtin": False, "path": "pipelines/notes.yaml",
                                 "inputs": [{"name": "topic", "type": "string", "required": True, "default": None,
                                             "description": "what the note is about", "choices": None}],
                                 "steps": 3, "approvals": ["review"]}],
                  "errors": [{"path": "broken.yaml", "message": "broken.yaml:4: steps[0]: unknown key 'promt'"}]},
    "Approvals": {"approvals": [{"run_id": RUN, "step_id": "review", "round": 1, "question": "Is the draft good?",
                                 "show": "Tides are...", "revise": "draft", "editable": True, "input_schema": None,
                                 "pipeline": "notes",
                                 "run_status": "waiting", "source": "server", "parent_run_id": None,
                                 "started_at": "2026-12-06T07:34:34.120Z", "live": False}]},
    "RunsPage": {"runs": [{"run_id": RUN, "pipeline": "notes", "status": "waiting", "source": "server",
                           "started_at": "2026-12-06T07:34:34.120Z", "ended_at": "2026-12-06T07:34:35.002Z",
                           "duration_s": 0.882, "cost_usd": 0.0004, "tokens_in": 20, "tokens_out": 31,
                           "error": None, "parent_run_id": None, "notebook_path": None, "outdir": "/home/ada",
                           "nb_run_id": None,
                           "steps": [{"id": "draft", "status": "succeeded", "attempt": 1, "items_done": 0,
                                      "items_total": 0},
                                     {"id": "review", "status": "waiting", "attempt": 1, "items_done": 0,
                                      "items_total": 0}]}],
                 "total": 1, "limit": 50, "offset": 0},
    "Info": {"version": __version__, "db": "/home/ada/.orc/orc.duckdb", "exists": True, "statuses": STATUSES,
             "decisions": ["approve", "reject", "request_changes"]},
    "Stats": {"total": {"calls": 12, "errors": 1, "cached": 2, "tokens_in": 5400, "tokens_out": 2100,
                        "cost_usd": 0.0477, "p50_ms": 1830.5, "p95_ms": 4102.0, "retries": 1, "fallbacks": 1},
              "model": [{"key": "anthropic:claude-sonnet-4-5", "calls": 12, "errors": 1, "cached": 2,
                         "tokens_in": 5400, "tokens_out": 2100, "cost_usd": 0.0477, "p50_ms": 1830.5,
                         "p95_ms": 4102.0, "retries": 1, "fallbacks": 1}]},
    "Error": {"message": "unknown input 'topik' for pipeline notes (did you mean 'topic'?)", "field": "inputs.topik",
              "status": 400},
}


def _json(schema: str, description: str = "") -> dict:
    body = {"application/json": {"schema": _ref(schema)}}
    if schema in EXAMPLES:
        body["application/json"]["example"] = EXAMPLES[schema]
    return {"description": description or schema, "content": body}


def _errors(*codes: int) -> dict:
    words = {400: "malformed input: `field` names the field", 403: "no token, or not authorized",
             404: "no such run", 409: "the run's state does not allow it (already ended, still running...)",
             413: "the body is too large (ORC_API_MAX_BODY_BYTES)",
             429: "the server runs as many runs as it may (OrcServer.max_runs); Retry-After says when to ask again",
             503: "another process held the store past OrcServer.store_wait; nothing was recorded (Retry-After)"}
    return {str(c): _json("Error", words[c]) for c in codes}


RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"},
          "description": "a run id, or a unique prefix of one"}


def _op(summary: str, responses: dict, body: str | None = None, params=(), description: str = "",
        body_required: bool = True) -> dict:
    op = {"summary": summary, "responses": responses}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = {"required": body_required, **{k: v for k, v in _json(body).items()
                                                           if k == "content"}}
    return op


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def document(base_url: str = "/") -> dict:
    prefix = base_url.rstrip("/") + "/orc/api"
    paths = {
        "/runs": {
            "get": _op("List runs, newest first", {"200": _json("RunsPage"), **_errors(400, 403, 503)}, params=[
                _query("status", _ref("RunStatus"), "only runs with this status"),
                _query("pipeline", {"type": "string"}, "only runs of this pipeline"),
                _query("top_level", {"type": "boolean"}, "leave out sub-pipeline runs"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "page size"),
                _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "runs to skip")]),
            "post": _op("Start a run in a worker process", {"202": _json("Started", "the run is queued: "
                                                                              "poll GET /runs/{run_id}"),
                                                             **_errors(400, 403, 413, 429, 503)},
                        body="StartRun", description="Returns at once with the run's id; the run shows `pending` "
                        "until its worker starts it, then `running`, and ends `succeeded`, `failed`, `waiting` "
                        "(decide with POST /approvals, then POST /runs/{run_id}/resume), `cancelled` or "
                        "`budget_exceeded`. Inputs are checked against the pipeline's declared inputs first."),
        },
        "/runs/{run_id}": {
            "get": _op("One run: steps, attempts, model calls, decisions, pending approvals, artifacts, events",
                       {"200": _json("RunDetail"), **_errors(400, 403, 404, 503)}, params=[RUN_ID]),
        },
        "/runs/{run_id}/resume": {
            "post": _op("Continue a waiting, failed or cancelled run in a worker process",
                        {"202": _json("Resumed"), **_errors(400, 403, 404, 409, 413, 429, 503)}, body="ResumeRun",
                        params=[RUN_ID], body_required=False,
                        description="Finished steps are not run again; decided approvals are taken from the store."),
        },
        "/runs/{run_id}/cancel": {
            "post": _op("Cancel a run: it ends `cancelled` within about 2 seconds",
                        {"200": _json("Cancelled"), **_errors(400, 403, 404, 409, 413, 503)}, body="CancelRun",
                        params=[RUN_ID], body_required=False,
                        description="A waiting or pending run is marked cancelled; a running one is interrupted "
                        "like Ctrl-C (a worker or `orc run` that does not stop is killed; a kernel is only "
                        "interrupted). Answers when the run has ended."),
        },
        "/approvals": {
            "get": _op("Approvals waiting for a decision", {"200": _json("Approvals"), **_errors(400, 403, 404, 503)},
                       params=[_query("run_id", {"type": "string"}, "only this run's (an id or a unique prefix)")]),
            "post": _op("Decide a pending approval", {"201": _json("DecisionResult"),
                                                      **_errors(400, 403, 404, 409, 413, 503)}, body="Decision",
                        description="A stored run continues with POST /runs/{run_id}/resume (the `resume` run); "
                        "a live one (a notebook's) at once."),
        },
        "/pipelines": {
            "get": _op("The pipelines POST /runs can start, with their typed inputs",
                       {"200": _json("Pipelines"), **_errors(403)},
                       description="Built-ins and the YAML pipelines under the server root (hidden folders, "
                       "node_modules and virtual environments skipped). Read as YAML only: no pipeline code runs."),
        },
        "/info": {"get": _op("Version and the store this server uses", {"200": _json("Info"), **_errors(403)})},
        "/stats": {
            "get": _op("Cost and latency of model calls per model, pipeline and UTC day (what `orc stats --json` "
                       "prints)", {"200": _json("Stats"), **_errors(400, 403, 503)}, params=[
                _query("by", {"type": "string", "default": "model,pipeline,day"},
                       "comma-separated groupings: model, pipeline, day"),
                _query("since", {"type": "string"}, "from: YYYY-MM-DD, an ISO time (UTC), today, or an age (7d, 12h)"),
                _query("until", {"type": "string"}, "up to (not including), same forms"),
                _query("pipeline", {"type": "string"}, "only runs of this pipeline"),
                _query("model", {"type": "string"}, "only this model (provider:model or model)")]),
        },
        "/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI 3.1",
                                                               "content": {"application/json": {"schema": {
                                                                   "type": "object"}}}}, **_errors(403)})},
    }
    for item in paths.values():
        for op in item.values():
            op["security"] = [{"token": []}, {"cookie": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "orchestrator-nb REST API", "version": __version__,
                 "description": "Runs, approvals and run control of orchestrator-nb, served by its Jupyter "
                                "server extension. Authenticate with the server's token (header "
                                "`Authorization: token <TOKEN>`); token-authenticated requests need no XSRF "
                                "token. From a browser session, POSTs carry the `_xsrf` cookie value in the "
                                "`X-XSRFToken` header."},
        "servers": [{"url": prefix}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "`token <the server's token>` (see `jupyter server list`)"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "_xsrf",
                           "description": "a logged-in browser session; POSTs also send X-XSRFToken"}},
        },
    }
