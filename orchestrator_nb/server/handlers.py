"""REST handlers under ``/orc/api/`` that read runs and decide approvals (run control is in
``control``, the route table in ``routes``). Every method needs an authenticated, authorized user
(403 otherwise); bad input gets a 4xx JSON body ``{"message", "field"}`` naming the field. Bodies
are streamed in and read within limits (``body``: size 413, JSON nesting 400), never a 500.

Store calls run on the extension's thread pool: they block for tens of milliseconds (a file
lock, a journal merge) and must never stall the server's IO loop.
"""
from __future__ import annotations

import asyncio
import functools

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import OrcError, RunNotFound, StoreError, UsageError, clip
from .approvals import record_decision, waiting_approvals
from .body import BadRequest, BodyReader, json_object, text_field
from .encode import known_secrets, to_json
from .runs import STATUSES, run_view, runs_page

AUTH_RESOURCE = "orchestrator"
MAX_LIMIT = 500
MAX_MESSAGE = 2000  # characters of an error message
RETRY_AFTER = {429: 10, 503: 5}  # seconds, in the Retry-After header
DECISIONS = ("approve", "reject", "request_changes")
_DECISION_ALIASES = {"approve": "approve", "approved": "approve", "reject": "reject", "rejected": "reject",
                     "request_changes": "request_changes", "changes": "request_changes",
                     "changes_requested": "request_changes"}


@web.stream_request_body
class OrcHandler(APIHandler):
    """Bodies are streamed in (``data_received``), so one past the size limit is never held;
    handlers read it with ``body()``."""

    auth_resource = AUTH_RESOURCE
    _reader: BodyReader | None = None
    _refused: BadRequest | None = None

    async def prepare(self):
        await super().prepare()
        if self._finished:
            return
        try:
            self._reader = BodyReader(self.request.headers.get("Content-Length"))
        except BadRequest as e:  # refused from its Content-Length, before reading it
            self._refused = e
            self.fail(e.status, e.message, e.field)

    def data_received(self, chunk: bytes) -> None:
        if self._reader is not None:
            self._reader.feed(chunk)

    def body(self) -> bytes:
        """The request body (BadRequest 413 when it was too large)."""
        if self._refused is not None:
            raise self._refused
        return self._reader.body() if self._reader is not None else b""

    @property
    def store(self):
        return self.settings["orc_store"]

    async def blocking(self, fn, *args, **kwargs):
        """Run a store call on the extension's thread pool (``gate``: a 503 when the store stays busy)."""
        return await self.settings["orc_gate"].run(fn, *args, **kwargs)

    async def offload(self, fn, *args, **kwargs):
        """Run work that needs no store (parsing a body, reading files) on its own pool: it never
        waits behind the store, and a 5 MB body is parsed off the IO loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.settings["orc_files"], functools.partial(fn, *args, **kwargs))

    def reply(self, text: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(text)

    def write_error(self, status_code: int, **kwargs) -> None:
        """Tornado's own refusals (403, 404, 405, a query that is not UTF-8) in this API's error
        form, ``{"message", "field", "status"}``; an unexpected error says no more than that."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message and status_code < 500:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        else:
            message = self._reason if status_code < 500 else "Unhandled error (the server's log has the details)"
        self.set_header("Content-Type", "application/json")
        self.finish(to_json({"message": message, "field": None, "status": status_code}, self._secrets()))

    def fail(self, status: int, message: str, field: str | None = None) -> None:
        if status in RETRY_AFTER:  # too many runs, or the store busy: when a client may ask again
            self.set_header("Retry-After", str(RETRY_AFTER[status]))
        # (each message clips what it quotes; this bounds the rest, e.g. a core error quoting a value)
        self.reply(to_json({"message": clip(message, MAX_MESSAGE), "field": field and clip(field, 200),
                            "status": status}, self._secrets()), status)

    async def answer(self, fn, *args, http_status: int = 200, needs_store: bool = True, **kwargs) -> None:
        """Call ``fn`` and encode its value off the IO loop, reply, and map our errors to 4xx/5xx."""
        secrets = self._secrets()

        def work() -> str:
            return to_json(fn(*args, **kwargs), secrets)

        try:
            text = await (self.blocking(work) if needs_store else self.offload(work))
        except BadRequest as e:
            return self.fail(e.status, e.message, e.field)
        except RunNotFound as e:
            return self.fail(404, str(e), "run_id")
        except UsageError as e:
            return self.fail(400, str(e), _field_of(str(e)))
        except StoreError as e:
            return self.fail(503, str(e))
        except OrcError as e:  # not waiting, already decided: the request conflicts with the run's state
            return self.fail(409, str(e))
        self.reply(text, http_status)

    # query strings ------------------------------------------------------------------------------
    def arg_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(name, f"{name} must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise BadRequest(name, f"{name} must be between {low} and {high}, got {value}")
        return value

    def arg_bool(self, name: str) -> bool:
        raw = (self.get_query_argument(name, "") or "").lower()
        if raw in ("", "0", "false", "no"):
            return False
        if raw in ("1", "true", "yes"):
            return True
        raise BadRequest(name, f"{name} must be true or false, got {raw!r}")

    def _secrets(self) -> list[str]:
        return known_secrets(self._server_token(), self.settings.get("orc_root_dir"))

    def _server_token(self) -> str | None:
        provider = self.settings.get("identity_provider")
        return getattr(provider, "token", None) or None


class RunsHandler(OrcHandler):
    @web.authenticated
    @authorized
    async def get(self):
        try:
            status = self.get_query_argument("status", None) or None
            if status is not None and status not in STATUSES:
                raise BadRequest("status", f"unknown status {status!r} (use one of: {', '.join(STATUSES)})")
            limit = self.arg_int("limit", 50, 1, MAX_LIMIT)
            offset = self.arg_int("offset", 0, 0, 10**9)
            top_level = self.arg_bool("top_level")
        except BadRequest as e:
            return self.fail(e.status, e.message, e.field)
        supervisor = self.settings["orc_supervisor"]
        sweep = supervisor.sweep_due() and self.store.exists()

        def page(**kwargs):
            if sweep:  # now and then: runs a stopped server left pending (see owners)
                try:
                    supervisor.put_back_orphans()
                except (OrcError, OSError) as e:  # the listing matters more; the next one tries again
                    self.log.warning("orchestrator-nb: could not look for runs left pending: %s", e)
            return runs_page(self.store, **kwargs)

        await self.answer(page, status=status, pipeline=self.get_query_argument("pipeline", None) or None,
                          top_level=top_level, limit=limit, offset=offset)


class RunHandler(OrcHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str):
        if not self.store.exists():
            return self.fail(404, f"no run '{clip(run_id)}': the store {self.store.path} has no runs yet", "run_id")
        await self.answer(run_view, self.store, run_id, self.settings.get("orc_root_dir"))


class ApprovalsHandler(OrcHandler):
    @web.authenticated
    @authorized
    async def get(self):
        run_id = self.get_query_argument("run_id", None) or None
        await self.answer(lambda: {"approvals": waiting_approvals(self.store, run_id)})

    @web.authenticated
    @authorized
    async def post(self):
        try:
            body = await self.offload(decision_body, self.body())
        except BadRequest as e:
            return self.fail(e.status, e.message, e.field)
        if not self.store.exists():
            return self.fail(404, f"no run '{clip(body['run_id'])}': the store {self.store.path} has no runs yet", "run_id")
        user = self.current_user
        who = getattr(user, "display_name", None) or getattr(user, "username", None) or "jupyterlab"
        await self.answer(record_decision, self.store, body["run_id"], body["step_id"], body["decision"],
                          body["comment"], f"ui:{who}", http_status=201, edited=body.get("edited"),
                          input=body.get("input"))


class NotFoundHandler(OrcHandler):
    """Any other path under the API: a 404 in the API's form, naming where the endpoints are listed."""

    @web.authenticated
    async def get(self, *_):
        self.fail(404, f"no endpoint {self.request.method} {clip(self.request.path, 200)} (the endpoints are "
                       "listed at GET <base_url>orc/api/openapi.json)")

    post = put = patch = delete = get


class InfoHandler(OrcHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(to_json({"version": self.settings["orc_version"], "db": str(self.store.path),
                            "exists": self.store.exists(), "statuses": list(STATUSES),
                            "decisions": list(DECISIONS)}))


class StatsHandler(OrcHandler):
    """``GET stats?by=model,pipeline,day&since=&until=&pipeline=&model=``: what ``orc stats --json`` prints."""

    @web.authenticated
    @authorized
    async def get(self):
        from ..api.when import parse_when
        from ..store.stats import DIMENSIONS, stats
        try:
            raw = self.get_query_argument("by", "model,pipeline,day") or "model,pipeline,day"
            by = tuple(p.strip() for p in raw.split(",") if p.strip())
            if not by or any(b not in DIMENSIONS for b in by):
                raise BadRequest("by", f"by must list model, pipeline and/or day, got {raw!r}")
            moments = {}
            for name in ("since", "until"):
                value = self.get_query_argument(name, None)
                try:
                    moments[name] = parse_when(value, name) if value else None
                except UsageError as e:
                    raise BadRequest(name, str(e)) from None
        except BadRequest as e:
            return self.fail(e.status, e.message, e.field)
        if not self.store.exists():
            return self.reply(to_json({"total": None, **{d: [] for d in by}}))
        await self.answer(stats, self.store, by, moments["since"], moments["until"],
                          self.get_query_argument("pipeline", None) or None,
                          self.get_query_argument("model", None) or None)


DECISION_FIELDS = ("run_id", "step_id", "decision", "comment", "edited", "input")


def decision_extras() -> bool:
    """Whether the core's approval steps use an edited output and typed input (``edited``, ``input``)."""
    from ..core.approvals import Decision
    return "edited" in getattr(Decision, "__dataclass_fields__", {})


def decision_body(raw: bytes) -> dict:
    """Validate a POST body: {"run_id": str, "step_id": str, "decision": approve|reject|request_changes,
    "comment": str (required to request changes), "edited": the reviewed output as the reviewer
    changed it (any JSON), "input": the gate's form values (an object)}."""
    data = json_object(raw, DECISION_FIELDS)
    for name in ("edited", "input"):
        if name in data and not decision_extras():
            raise BadRequest(name, f"{name}: this version's approval steps take no edited output or typed "
                                   "input yet; decide without it")
    if data.get("input") is not None and not isinstance(data["input"], dict):
        raise BadRequest("input", f"input must be a JSON object of form values, got {type(data['input']).__name__}")
    out = {name: text_field(data, name, required=True, max_chars=200) for name in ("run_id", "step_id")}
    decision = data.get("decision")
    word = _DECISION_ALIASES.get(decision.strip().lower()) if isinstance(decision, str) else None
    if word is None:
        shown = repr(decision) if len(repr(decision)) <= 40 else repr(decision)[:37] + "..."
        raise BadRequest("decision", f"decision must be one of {', '.join(DECISIONS)}, got {shown}")
    comment = text_field(data, "comment", limit="api_comment_chars")
    if word == "request_changes" and comment is None:
        raise BadRequest("comment", "a comment is required to request changes (say what to change)")
    out.update(decision=word, comment=comment)
    if data.get("edited") is not None:
        if word != "approve":
            raise BadRequest("edited", "an edited output goes with decision approve")
        out["edited"] = data["edited"]
    if data.get("input") is not None:
        out["input"] = data["input"]
    return out


def _field_of(message: str) -> str | None:
    """The request field a core UsageError is about (they name it in words)."""
    if message.startswith("input:"):  # the gate's form values do not fit its schema
        return "input"
    if "nothing to edit" in message or "edited arguments" in message:
        return "edited"
    for words, field in (("has no step", "step_id"), ("run id", "run_id"), ("decision", "decision"),
                         ("comment", "comment")):
        if words in message:
            return field
    return None

