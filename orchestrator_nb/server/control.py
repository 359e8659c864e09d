"""Run control over REST: list the pipelines the server can start, start a run, resume, cancel.

    GET  pipelines              built-ins and YAML pipelines under the root, with typed inputs
    POST runs                   {pipeline, inputs?, files?, approval?, model?, outdir?, isolate?} -> 202 {run_id}
    POST runs/<run_id>/resume   {approval?} -> 202 {run_id}
    POST runs/<run_id>/cancel   {} -> 200 {run_id, status: cancelled, ...}

A run executes in a worker process the server owns (``workers``), so it survives the browser
closing and never blocks the server. Its id is chosen here and returned at once; the store shows
it ``pending`` until the worker starts it. Bodies are checked field by field: a 400 names the
field (``inputs.max_stories``, ``files.requirements``).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import OrcError, RunNotFound, SpecError, UsageError, clip
from .encode import to_json
from . import owners
from .body import PATH_CHARS, json_object
from .handlers import BadRequest, OrcHandler, RunsHandler
from .workers import TooBusy

APPROVAL_POLICIES = ("defer", "auto", "reject", "fail")
MAX_FILE = 1_000_000     # bytes of one `files` input
SOURCE = "server"


def _text(data: dict, name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(name, f"{name} must be a non-empty string" + (" (it is required)" if required else ""))
    return value.strip()


def _approval(data: dict) -> str | None:
    value = data.get("approval")
    if value is not None and value not in APPROVAL_POLICIES:
        raise BadRequest("approval", f"approval must be one of {', '.join(APPROVAL_POLICIES)}, got {value!r}")
    return value


def start_body(raw: bytes) -> dict:
    data = json_object(raw, ("pipeline", "inputs", "files", "approval", "model", "outdir", "isolate"))
    out = {"pipeline": _text(data, "pipeline", required=True), "approval": _approval(data) or "defer",
           "model": _text(data, "model"), "outdir": _text(data, "outdir"), "isolate": data.get("isolate", False)}
    if out["model"] and len(out["model"]) > PATH_CHARS:  # (no model is named so long; do not quote it)
        raise BadRequest("model", f"model is {len(out['model']):,} characters; a model name is at most {PATH_CHARS}")
    if not isinstance(out["isolate"], bool):
        raise BadRequest("isolate", f"isolate must be true or false, got {out['isolate']!r}")
    for name in ("inputs", "files"):
        value = data.get(name)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise BadRequest(name, f"{name} must be a JSON object of input names to values, got "
                                   f"{type(value).__name__}")
        out[name] = value
    for key, path in out["files"].items():
        name = clip(key, 100)
        if not isinstance(path, str) or not path.strip():
            raise BadRequest(f"files.{name}", f"files.{name} must be a path under the server root (a string)")
        if key in out["inputs"]:
            raise BadRequest(f"files.{name}", f"input '{name}' is given both in inputs and in files; give it once")
    return out


def prepare_start(body: dict, root_dir: str) -> dict:
    """Check everything a worker would trip on, before anything starts: the pipeline loads, the
    inputs fit its declared ones, files and outdir are under the root. Returns the job."""
    from ..core.runner import coerce_inputs
    from ..core.loader import load
    from .pipelines import BadPipeline, resolve
    try:
        path, _ = resolve(body["pipeline"], root_dir)
    except BadPipeline as e:
        raise BadRequest("pipeline", str(e)) from None
    try:
        pipeline = load(path)
    except SpecError as e:
        raise BadRequest("pipeline", f"the pipeline does not load: {clip(e, 1000)}") from None
    inputs = dict(body["inputs"])
    for key, rel in body["files"].items():
        inputs[key] = _read_under(root_dir, rel, f"files.{clip(key, 100)}")
    if body["model"]:
        from ..providers.routing import check_override
        try:
            check_override(pipeline, body["model"], "model")
        except OrcError as e:
            raise BadRequest("model", str(e)) from None
    try:
        inputs = coerce_inputs(pipeline, inputs)
    except UsageError as e:
        m = re.search(r"input '([^']+)'", str(e))
        name = clip(m.group(1), 100) if m else None
        message = str(e).replace(m.group(1), name) if m else str(e)  # a long name is quoted clipped
        raise BadRequest(f"inputs.{name}" if m else "inputs", clip(message, 1000)) from None
    outdir = _under(root_dir, body["outdir"], "outdir") if body["outdir"] else os.path.realpath(root_dir)
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise BadRequest("outdir", f"outdir '{clip(body['outdir'], PATH_CHARS)}' is a file, not a folder (give a folder under the "
                                   "server root; a missing one is made)")
    if ".git" in Path(outdir).parts:  # a step's file there would be the repository's configuration or hooks
        raise BadRequest("outdir", f"outdir '{clip(body['outdir'], PATH_CHARS)}' is inside a repository's .git folder "
                                   "(give a folder outside .git)")
    from ..core.runner import new_run_id
    return {"action": "run", "run_id": new_run_id(), "pipeline": str(path), "pipeline_name": pipeline.name,
            "spec_text": pipeline.spec_text(), "inputs": inputs, "approval": body["approval"],
            "model": body["model"], "outdir": outdir, "isolate": body["isolate"]}


def _under(root_dir: str, rel: str, field: str) -> str:
    root = os.path.realpath(os.path.expanduser(root_dir))
    full = os.path.realpath(os.path.join(root, rel))
    if full != root and not full.startswith(root.rstrip(os.sep) + os.sep):
        raise BadRequest(field, f"{field} '{clip(rel, PATH_CHARS)}' is outside the server root (give a path under {root})")
    return full


def _read_under(root_dir: str, rel: str, field: str) -> str:
    from ..textfile import NotARegularFile, TooLarge, read_text
    full = _under(root_dir, rel, field)
    rel = clip(rel, PATH_CHARS)
    try:
        return read_text(full, MAX_FILE)
    except TooLarge:
        raise BadRequest(field, f"{field}: '{rel}' is larger than {MAX_FILE // 1000} kB") from None
    except NotARegularFile:
        raise BadRequest(field, f"{field}: '{rel}' is not a regular file (a pipe, a device or a socket)") from None
    except FileNotFoundError:
        raise BadRequest(field, f"{field}: no file '{rel}' under the server root") from None
    except IsADirectoryError:
        raise BadRequest(field, f"{field}: '{rel}' is a folder, not a file") from None
    except UnicodeDecodeError:
        raise BadRequest(field, f"{field}: '{rel}' is not UTF-8 text") from None
    except OSError as e:
        raise BadRequest(field, f"{field}: cannot read '{rel}': {e.strerror}") from None


def _links(base_url: str, run_id: str) -> dict:
    api = base_url.rstrip("/") + "/orc/api"
    run = f"{api}/runs/{run_id}"
    return {"run": run, "resume": run + "/resume", "cancel": run + "/cancel",
            "approvals": f"{api}/approvals?run_id={run_id}"}


class ControlHandler(OrcHandler):
    @property
    def supervisor(self):
        return self.settings["orc_supervisor"]

    @property
    def root_dir(self) -> str:
        return self.settings["orc_root_dir"]

    def who(self) -> str:
        user = self.current_user
        return "ui:" + (getattr(user, "display_name", None) or getattr(user, "username", None) or "jupyterlab")

    async def settle(self, coro, http_status: int = 200) -> None:
        """Await a control action and reply, mapping our errors to 4xx (never a 500 for our own)."""
        try:
            out = await coro
        except BadRequest as e:
            return self.fail(e.status, e.message, e.field)
        except RunNotFound as e:
            return self.fail(404, str(e), "run_id")
        except TooBusy as e:
            return self.fail(429, str(e))
        except UsageError as e:
            return self.fail(400, str(e), "run_id" if "run id" in str(e) else None)
        except OrcError as e:  # the run's state does not allow it (ended, running...), or the store is busy
            from ..errors import StoreError
            return self.fail(503 if isinstance(e, StoreError) else 409, str(e))
        self.reply(to_json(out, self._secrets()), http_status)


class PipelinesHandler(ControlHandler):
    @web.authenticated
    @authorized
    async def get(self):
        from .pipelines import list_pipelines
        await self.answer(list_pipelines, self.root_dir, needs_store=False)


class RunsControlHandler(RunsHandler, ControlHandler):
    """GET lists runs (``RunsHandler``); POST starts one."""

    @web.authenticated
    @authorized
    async def post(self):
        await self.settle(self._start(), http_status=202)

    async def _start(self) -> dict:
        from ..store.control import not_started, queue_run
        body = await self.offload(start_body, self.body())
        with self.supervisor.slot():
            job = await self.offload(prepare_start, body, self.root_dir)
            owners.note(self.supervisor.log_dir, job["run_id"], None)  # before it is pending: see owners
            try:
                await self.blocking(queue_run, self.store, job["run_id"], pipeline=job.pop("pipeline_name"),
                                    inputs=job["inputs"], spec_text=job.pop("spec_text"), spec_path=job["pipeline"],
                                    outdir=job["outdir"], source=SOURCE, approval_policy=job["approval"],
                                    model_override=job["model"])
            except OrcError:  # (the store busy: nothing was queued)
                owners.forget(self.supervisor.log_dir, job["run_id"])
                raise
            try:
                await self.supervisor.start(job)
            except OSError as e:
                await self.blocking(not_started, self.store, job["run_id"], "failed", f"the worker did not start: {e}")
                raise
        return {"run_id": job["run_id"], "status": "pending", "links": _links(self.base_url, job["run_id"])}


class ResumeHandler(ControlHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str):
        await self.settle(self._resume(run_id), http_status=202)

    async def _resume(self, ref: str) -> dict:
        from ..store.control import not_started
        body = await self.offload(json_object, self.body(), ("approval",), empty_ok=True)
        approval = _approval(body)
        if not self.store.exists():
            raise RunNotFound(f"no run '{clip(ref)}': the store {self.store.path} has no runs yet")
        with self.supervisor.slot():
            claim = await self.blocking(self._claim, ref)
            run_id = claim["run_id"]
            try:
                await self.supervisor.start({"action": "resume", "run_id": run_id, "approval": approval,
                                             "previous": claim["previous"]})
            except OSError as e:
                await self.blocking(not_started, self.store, run_id, claim["previous"],
                                    f"the worker did not start: {e}")
                raise
        return {"run_id": run_id, "status": "pending", "previous": claim["previous"],
                "links": _links(self.base_url, run_id)}


    def _claim(self, ref: str) -> dict:
        """Claim the run for a worker, once a run a stopped server left pending is put back."""
        from ..store.control import claim_resume
        self.supervisor.put_back_orphans()
        claim = claim_resume(self.store, ref)
        owners.note(self.supervisor.log_dir, claim["run_id"], claim["previous"])
        return claim


class CancelHandler(ControlHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str):
        await self.settle(self._cancel(run_id))

    async def _cancel(self, ref: str) -> dict:
        await self.offload(json_object, self.body(), (), empty_ok=True)
        if not self.store.exists():
            raise RunNotFound(f"no run '{clip(ref)}': the store {self.store.path} has no runs yet")
        return await self.supervisor.cancel(ref, self.who())


class OpenApiHandler(ControlHandler):
    @web.authenticated
    @authorized
    async def get(self):
        from .openapi import document
        self.reply(json.dumps(document(self.settings.get("base_url", "/")), ensure_ascii=False))
