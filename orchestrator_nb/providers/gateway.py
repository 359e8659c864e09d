"""The model gateway: every LLM call of a run goes through here.

For one call it resolves the fallback chain, answers from the cache when it can (or only from
the cache in replay mode), calls the provider with per-model retries (honouring retry-after),
falls back to the next model on rate-limit exhaustion / 5xx / timeout / connection errors /
missing keys / context overflow, validates structured output and re-asks with the validation
error, prices the call (``providers.prices``), records every attempt as an ``llm_call`` event, and
charges the budget. Before each request leaves, ``providers.budget`` checks its worst case against
the run's budget and the cross-run budgets (``ledger``) and refuses it when it would cross one.

Retries of one model (``RATE_LIMITS`` / ``SERVER_ERRORS``, the project's one ``RetryPolicy``): a rate
limit is retried (waiting what the server's ``retry-after`` says, else the policy's backoff) before
falling back; server errors, timeouts and dropped connections fall back at once, or, on the last
model of the chain, are retried. auth and bad_request errors (400-class) are never retried.

``ORC_MODE``: ``replay`` answers only from recordings (a miss fails the step and says so);
``live`` never reads the cache (answers are still recorded). ``replay:<provider>:<model>`` as a model
id replays that one model.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid

from ..core.cache import MISS
from ..core.callables import resolve_callable
from ..core.policy import RetryPolicy
from ..core.serialize import content_hash
from ..errors import ProviderError, SpecError
from ..limits import LIMITS
from . import budget, prices
from .base import LLMRequest, LLMResponse, json_instruction, redact
from .registry import provider_class, split_model
from .routing import resolve_chain
from .wire import seconds as say_seconds
from ..core.schemas import problem as schema_problem

# one model's retries: 1, 2, 4, 8, 8 s (+-20 % so parallel calls spread out) unless the server says
RATE_LIMITS = RetryPolicy(attempts=4, backoff="exponential", delay=1.0, max_delay=8.0, jitter=0.2)
SERVER_ERRORS = RetryPolicy(attempts=3, backoff="exponential", delay=1.0, max_delay=8.0, jitter=0.2)  # last model only
MAX_REASKS = 2             # structured output: re-asks with the validation error
MAX_WAIT = 60.0            # longest retry-after honoured, seconds
_WARMED: set = set()       # provider classes whose SDK this process has imported (see warm)


class LLMResult:
    """A model's answer. ``tool_calls`` non-empty: the model asks for tools (``value`` is None and
    ``message`` is the assistant turn to put in the conversation before the results)."""

    __slots__ = ("value", "text", "model", "tokens_in", "tokens_out", "cost_usd", "cached", "tool_calls")

    def __init__(self, value, text, model, tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, tool_calls=()):
        self.value, self.text, self.model = value, text, model
        self.tokens_in, self.tokens_out, self.cost_usd, self.cached = tokens_in, tokens_out, cost_usd, cached
        self.tool_calls = list(tool_calls)

    @property
    def message(self) -> dict:
        """This answer as a neutral assistant message."""
        out = {"role": "assistant", "content": self.text or ""}
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        return out


class OutputFormat:
    """What the step asked for: text, markdown, json, a JSON Schema, or a pydantic model."""

    def __init__(self, spec):
        self.kind, self.schema, self.model_cls = "text", None, None
        if spec in (None, "text", "markdown"):
            self.kind = spec or "text"
        elif spec == "json":
            self.kind = "json"
        elif isinstance(spec, dict):
            self.kind, self.schema = "schema", spec["schema"]
        else:
            cls = resolve_callable(spec) if isinstance(spec, str) else spec
            if not hasattr(cls, "model_json_schema"):
                raise SpecError(f"output {spec!r} is not a pydantic model", loc=("output",))
            self.kind, self.model_cls, self.schema = "schema", cls, cls.model_json_schema()

    @property
    def structured(self) -> bool:
        return self.kind in ("json", "schema")

    def parse(self, text: str, data=None):
        """(value, problem). ``problem`` is None when the answer is acceptable."""
        if not self.structured:
            return text, None
        if data is None:
            try:
                data = parse_json(text)
            except ValueError as e:
                return None, f"the reply is not valid JSON ({e})"
        if self.model_cls is not None:
            from pydantic import ValidationError
            try:
                return self.model_cls.model_validate(data), None
            except ValidationError as e:
                first = e.errors(include_url=False)[0]
                where = ".".join(str(p) for p in first["loc"]) or "$"
                return None, f"{where}: {first['msg']}"
        if self.schema is not None:
            p = schema_problem(data, self.schema)
            if p:
                return None, p
        return data, None


def parse_json(text: str):
    """JSON from a model reply: plain, fenced in ```json, or the first {...}/[...] block."""
    s = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.S)
    if fence:
        s = fence.group(1).strip()
    try:
        return json.loads(s)
    except ValueError:
        pass
    for open_, close in (("{", "}"), ("[", "]")):
        i, j = s.find(open_), s.rfind(close)
        if 0 <= i < j:
            try:
                return json.loads(s[i:j + 1])
            except ValueError:
                continue
    raise ValueError("no JSON value found")


class Gateway:
    def __init__(self, ctx, ledger=None):
        self.ctx = ctx
        self.ledger = ledger      # cross-run budgets (providers.budget.Ledger), shared with sub-runs
        self.providers: dict[str, object] = {}
        self.asked: dict[tuple, set] = {}  # (step, item) -> request keys already sent in this run
        self.gates: dict[str, list] = {}   # endpoint -> [not before (monotonic), 429/503s in a row]
        self.mode = os.environ.get("ORC_MODE", "").strip().lower() or "normal"
        if self.mode not in ("normal", "replay", "live"):
            raise SpecError(f"ORC_MODE={self.mode!r} is not a mode", hint="use replay, live, or leave it unset")

    async def aclose(self) -> None:
        for p in self.providers.values():
            try:
                await p.aclose()
            except Exception:
                pass
        self.providers.clear()

    def provider(self, name: str):
        """This run's instance of a provider (instances are cheap: SDK clients start on first use)."""
        p = self.providers.get(name)
        if p is None:
            p = provider_class(name)()
            self.providers[name] = p
        return p

    async def warm(self, step) -> None:
        """Ready the providers a step's models need: SDK imports (~1 s each), once per process, in
        a thread so the loop keeps serving clicks and other steps. The executor calls it before the
        step's timeout starts counting. Only for a step that will call a model: one whose answers
        may come from the cache imports nothing now (a cached answer needs no SDK); a real call
        then readies its provider first, outside the call's time (``_ready``)."""
        if self.ctx.cache is not None and _cache_on(self.ctx, step) and self.mode != "live":
            return
        for model_id in self.chain(step):
            pname, mname = split_model(model_id)
            if pname == "replay":
                continue  # answers only from recordings
            cls = provider_class(pname)
            if cls not in _WARMED and (not cls.key_env or cls.env_key()):  # no key: the call fails without it
                await asyncio.to_thread(cls.warm)  # parallel steps may both do it: imports are locked
                _WARMED.add(cls)

    async def _ready(self, provider) -> float:
        """Before a provider's first real call: its key checked (a missing one fails the call as the
        provider would, without importing anything), its SDK imported and client made, in a thread.
        Returns the seconds it took (they do not count against the call)."""
        if getattr(provider, "_ready", False):
            return 0.0
        provider.require_key()
        t0 = time.monotonic()
        await asyncio.to_thread(provider.setup)
        provider._ready = True
        return time.monotonic() - t0

    def chain(self, step, model=None, task=None) -> tuple[str, ...]:
        pipeline = self.ctx.pipeline
        return resolve_chain(pipeline, model or step.model or None, task or step.task)

    async def complete(self, *, step, item, attempt, messages, system, output, model=None, task=None,
                       purpose: str = "step", fresh: bool = False, tools: list[dict] | None = None,
                       temperature: float | None = None) -> LLMResult:
        """``tools``: what the model may call ([{name, description, parameters}]); the answer may then
        be tool calls instead of a final value (see ``LLMResult``). ``fresh``: do not answer from the
        cache. ``temperature``: instead of the step's (a try after a failed check with
        ``retry_temperature``). (A request this step already made in this run never is: a retry whose request repeats an earlier one — a small model that copied its
        rejected answer — would otherwise get that answer back forever. Replay mode still answers
        from recordings.)"""
        ctx = self.ctx
        fmt = OutputFormat(output)
        chain = self.chain(step, model, task)
        defaults = ctx.pipeline.defaults
        if temperature is None:
            temperature = step.temperature if step.temperature is not None else defaults.get("temperature")
        max_tokens = step.max_tokens or defaults.get("max_tokens")
        failures = []
        seconds = step.timeout or defaults.get("timeout")
        deadline = time.monotonic() + seconds if seconds else None
        previous = None  # the model this one falls back from
        for n, model_id in enumerate(chain):
            pname, mname = split_model(model_id)
            replay_only = self.mode == "replay"
            if pname == "replay":  # replay:<provider>:<model>
                model_id, replay_only = mname, True
                pname, mname = split_model(model_id)
            provider = self.provider(pname)
            req = LLMRequest(model=mname, messages=list(messages), system=system, temperature=temperature,
                             max_tokens=max_tokens, schema=fmt.schema, json_mode=fmt.kind == "json",
                             timeout=_share(deadline, len(chain) - n), tools=tools or None)
            native = getattr(provider, "supports_schema", False) and (
                not tools or getattr(provider, "schema_with_tools", True))
            if fmt.kind == "json" or (fmt.structured and not native):
                instruction = json_instruction(fmt.schema)
                req.system = f"{system}\n\n{instruction}" if system else instruction
            last = n == len(chain) - 1
            try:
                return await self._ask(step, item, attempt, provider, model_id, req, fmt, last, purpose, replay_only,
                                       fresh, deadline, previous)
            except ProviderError as e:
                previous = model_id
                failures.append(f"{model_id}: {e.reason}")
                if (e.falls_back or e.reason == "replay_miss") and not last:
                    ctx.log(f"falling back from {model_id} to {chain[n + 1]} ({e.reason})", "warning", step.id)
                    continue
                if len(chain) > 1 and (e.falls_back or e.reason == "replay_miss"):
                    raise ProviderError(f"every model failed ({', '.join(failures)}); last error: {e}",
                                        reason=e.reason, retryable=e.retryable, status=e.status) from None
                raise
        raise ProviderError("no model to call")  # pragma: no cover - chains are never empty

    async def _ask(self, step, item, attempt, provider, model_id, req, fmt, last, purpose, replay_only,
                   fresh=False, deadline=None, fallback_from=None) -> LLMResult:
        """One model: cache, retries for this model, structured re-asks."""
        ctx = self.ctx
        if req.tools and not provider.supports_tools:  # (the next model of a chain may take them)
            err = ProviderError(f"{model_id} cannot call tools; give this step a model that can (e.g. "
                                "openai:gpt-4.1 or anthropic:claude-sonnet-4-5)", reason="no_tools")
            self._record(step, item, attempt, model_id, req, content_hash("llm", model_id, req.cache_fields()),
                         error=err, purpose=purpose)
            raise err
        for reask in range(MAX_REASKS + 1):
            resp, cached = await self._call(step, item, attempt, provider, model_id, req, last, purpose, replay_only,
                                            fresh, deadline, fallback_from)
            if resp.tool_calls:  # not an answer yet: the tool loop runs them and asks again
                return LLMResult(None, resp.text, model_id, resp.tokens_in, resp.tokens_out, resp.cost_usd, cached,
                                 resp.tool_calls)
            value, prob = fmt.parse(resp.text, resp.data)
            if prob is None:
                return LLMResult(value, resp.text, model_id, resp.tokens_in, resp.tokens_out, resp.cost_usd, cached)
            ctx.log(f"{model_id} gave invalid output ({prob}); asking again", "warning", step.id)
            if reask == MAX_REASKS:
                raise ProviderError(f"{model_id} did not produce valid output after {MAX_REASKS + 1} tries: {prob}",
                                    reason="invalid_output")
            req = LLMRequest(model=req.model, system=req.system, temperature=req.temperature,
                             max_tokens=req.max_tokens, schema=req.schema, json_mode=req.json_mode,
                             timeout=req.timeout, options=req.options, tools=req.tools,
                             messages=req.messages + [
                                 {"role": "assistant", "content": resp.text or "(empty reply)"},
                                 {"role": "user", "content": f"That reply is not valid: {prob}. Reply again with "
                                                             "only the JSON value, matching the schema exactly."}])
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, step, item, attempt, provider, model_id, req, last, purpose, replay_only=False,
                    fresh=False, deadline=None, fallback_from=None):
        """One request to one model, with this model's retries. Returns (response, cached)."""
        ctx = self.ctx
        key = content_hash("llm", model_id, req.cache_fields())
        cache = ctx.cache if ctx.cache is not None and _cache_on(ctx, step) else None
        asked = self.asked.setdefault((step.id, item), set())
        fresh = fresh or key in asked
        asked.add(key)
        if cache is not None and ((ctx.use_cache and not fresh) or replay_only) and self.mode != "live":
            hit = cache.get("llm", key)
            if hit is not MISS:
                resp = _response_from(hit)
                self._record(step, item, attempt, model_id, req, key, resp=resp, cached=True, latency=0.0,
                             purpose=purpose, fallback_from=fallback_from)
                ctx.states[step.id].cached = True
                return resp, True
        if replay_only:
            where = "" if cache is not None else " (this run has no store, so nothing is recorded)"
            err = ProviderError(
                f"replay mode: no recorded answer from {model_id} for this request{where}; run once without "
                "ORC_MODE=replay to record it, or `orc cache import` a cassette", reason="replay_miss")
            self._record(step, item, attempt, model_id, req, key, error=err, latency=0.0, purpose=purpose)
            raise err
        rate_limited = failed = 0
        configured = req.timeout  # this model's share of the step's `timeout:`, as the message says it
        gate_key = getattr(provider, "label", model_id)
        while True:
            gate = self.gates.get(gate_key)
            if gate is not None and gate[0] > time.monotonic():  # another call of this run was told to back off
                hold = gate[0] - time.monotonic()
                if deadline is not None:
                    hold = min(hold, max(0.0, deadline - time.monotonic()))
                await asyncio.sleep(hold)
            # the worst case must fit every budget, or the request is not sent (raises BudgetExceeded)
            ticket = await budget.admit(ctx, self.ledger, provider, model_id, req, step.id) \
                if budget.applies(ctx, self.ledger) else None
            extra = {"retry": rate_limited + failed, "fallback_from": fallback_from,
                     "estimate_usd": ticket.estimate if ticket is not None else None}
            on_token = self._token_sink(step.id, item, attempt) if _wants_tokens(ctx.bus) else None
            t0 = time.perf_counter()
            try:
                spent = await self._ready(provider)  # SDK import and client set-up: not the call's time
                if spent:
                    req.timeout = req.timeout + spent if req.timeout else req.timeout
                    deadline = deadline + spent if deadline is not None else None
                    t0 = time.perf_counter()
                resp = await _bounded(provider.complete(req, on_token), req.timeout, provider, configured)
            except ProviderError as e:
                budget.settle(ticket, 0.0)
                latency = (time.perf_counter() - t0) * 1000
                e = _redacted(e)
                self._record(step, item, attempt, model_id, req, key, error=e, latency=latency, purpose=purpose,
                             **extra)
                if e.reason == "rate_limit":
                    rate_limited += 1
                elif e.reason in ("server", "timeout", "connection"):
                    failed += 1
                wait = _retry_wait(e, rate_limited, failed, last)
                self._back_off(gate_key, e)
                if wait is None or (deadline is not None and time.monotonic() + wait > deadline):
                    raise _given_up(e, rate_limited + failed) from None
                ctx.log(f"{model_id}: {e.reason}; retrying in {wait:.2f} s", "warning", step.id)
                await asyncio.sleep(wait)
                continue
            except asyncio.CancelledError:  # the step timed out or the run stopped: record the attempt
                budget.settle(ticket, 0.0)
                latency = (time.perf_counter() - t0) * 1000
                err = ProviderError("the call was cancelled (step timeout or run stopped)", reason="cancelled")
                self._record(step, item, attempt, model_id, req, key, error=err, latency=latency, purpose=purpose,
                             **extra)
                raise
            except Exception as e:  # a provider bug or an SDK error it did not classify
                budget.settle(ticket, 0.0)
                latency = (time.perf_counter() - t0) * 1000
                err = ProviderError(redact(f"{model_id}: {type(e).__name__}: {e}"), reason="error")
                self._record(step, item, attempt, model_id, req, key, error=err, latency=latency, purpose=purpose,
                             **extra)
                raise err from None
            latency = (time.perf_counter() - t0) * 1000
            gate = self.gates.get(gate_key)
            if gate is not None:
                gate[1] = 0
            _scrub(resp, provider)
            if prices.needs_data(model_id, ctx.pipeline.prices):
                await prices.ready()  # the price data loads once per process, off the event loop
            resp.cost_usd = prices.cost_usd(model_id, resp.tokens_in, resp.tokens_out, ctx.pipeline.prices)
            budget.settle(ticket, resp.cost_usd)
            self._record(step, item, attempt, model_id, req, key, resp=resp, latency=latency, purpose=purpose,
                         **extra)
            st = ctx.states[step.id]
            st.model = model_id
            st.add_usage(resp.tokens_in, resp.tokens_out, resp.cost_usd)
            if cache is not None:
                answer = {"text": resp.text, "tokens_in": resp.tokens_in, "tokens_out": resp.tokens_out,
                          "model": resp.model, "finish_reason": resp.finish_reason}
                if resp.tool_calls:
                    answer["tool_calls"] = resp.tool_calls
                cache.put("llm", key, {"model": model_id, "request": _request_record(req), "response": answer,
                                       "step": step.id, "pipeline": ctx.pipeline.name})
            ctx.add_usage(resp.cost_usd, resp.tokens_in, resp.tokens_out)  # may raise BudgetExceeded
            return resp, False

    def _back_off(self, endpoint: str, e: ProviderError) -> None:
        """After a 429/503 every call of this run to that endpoint waits (one backoff for all, not
        one per for_each item): what the server asked, else a backoff that grows with the endpoint's
        failures in a row; never past MAX_WAIT."""
        if not (e.reason == "rate_limit" or e.status in (503, 529)):
            return
        gate = self.gates.setdefault(endpoint, [0.0, 0])
        gate[1] += 1
        wait = e.retry_after if e.retry_after is not None else RATE_LIMITS.delay_before(min(gate[1], 4) + 1)
        if wait <= MAX_WAIT:
            gate[0] = max(gate[0], time.monotonic() + wait)

    def _token_sink(self, step_id, item, attempt):
        emit = self.ctx.emit

        def on_token(text: str) -> None:
            emit("token", step_id, item, attempt, text=text)
        return on_token

    def _record(self, step, item, attempt, model_id, req, key, *, resp=None, error=None, cached=False,
                latency=0.0, purpose="step", retry=0, fallback_from=None, estimate_usd=None) -> None:
        ctx = self.ctx
        if not ctx.bus.subscribers:
            return
        provider, _, model = model_id.partition(":")
        ctx.states[step.id].model = model_id
        ctx.emit("llm_call", step.id, item, attempt,
                 call_id=uuid.uuid4().hex, provider=provider, model=model, request=_request_record(req),
                 response_text=resp.text if resp is not None else None,
                 tokens_in=resp.tokens_in if resp is not None and not cached else 0,
                 tokens_out=resp.tokens_out if resp is not None and not cached else 0,
                 cost_usd=resp.cost_usd if resp is not None and not cached else 0.0,
                 latency_ms=round(latency, 2), cached=cached, request_hash=key,
                 error=(f"{error.reason}: {error}" if error is not None else None), purpose=purpose,
                 finish_reason=resp.finish_reason if resp is not None else None,
                 response_model=resp.model if resp is not None else None,
                 retry=retry, fallback_from=fallback_from, estimate_usd=estimate_usd,
                 tool_calls=resp.tool_calls if resp is not None and resp.tool_calls else None)


def _share(deadline: float | None, models_left: int) -> float | None:
    """This model's share of the step's time: what is left, split over the models still to try,
    so a model that hangs leaves its fallbacks time to answer."""
    if deadline is None:
        return None
    return max(0.05, (deadline - time.monotonic()) / max(1, models_left))


async def _bounded(coro, seconds: float | None, provider, configured: float | None):
    """The provider's call, cut off shortly after its timeout (a trickling stream or a server that
    sends keep-alives forever included): the step's `timeout:` share, else ORC_MODEL_TIMEOUT."""
    if seconds:
        shown, how, seconds = configured or seconds, "the step's `timeout:`", seconds + 0.5
    else:
        seconds = shown = LIMITS["model_seconds"].value()
        how = "set the step's `timeout:` or ORC_MODEL_TIMEOUT"
    try:
        async with asyncio.timeout(seconds):
            return await coro
    except TimeoutError:
        label = getattr(provider, "label", None) or getattr(provider, "name", "the model")
        raise ProviderError(f"no complete answer from {label} within {say_seconds(shown)} s ({how})",
                            reason="timeout", retryable=True) from None


def _duration(seconds: float) -> str:
    for size, unit in ((86400, "days"), (3600, "hours"), (60, "minutes")):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _given_up(e: ProviderError, tries: int) -> ProviderError:
    """The last failure, saying why no further try was made (an over-cap retry-after, the tries)."""
    notes = []
    if e.retry_after is not None and e.retry_after > MAX_WAIT:
        notes.append(f"the server asked to wait {_duration(e.retry_after)}, over the {MAX_WAIT:g} s cap")
    if tries > 1:
        notes.append(f"tried {tries} times")
    if not notes:
        return e
    return ProviderError(f"{e} ({'; '.join(notes)})", reason=e.reason, retryable=e.retryable,
                         retry_after=e.retry_after, status=e.status)


def _scrub(resp: LLMResponse, provider) -> None:
    """An answer that echoes a key (a hostile or confused server) is stored and shown without it."""
    text = resp.text
    if not text or not isinstance(text, str):
        return
    clean = redact(text, provider.secrets() if hasattr(provider, "secrets") else None)
    if clean != text:
        resp.text = clean
        if resp.data is not None:
            try:
                resp.data = json.loads(clean)
            except ValueError:
                resp.data = None


def _wants_tokens(bus) -> bool:
    """Stream when a subscriber shows tokens (one may opt out with ``wants_tokens = False``)."""
    return any(getattr(s, "wants_tokens", True) for s in bus.subscribers)


def _cache_on(ctx, step) -> bool:
    if step.cache is not None:
        return step.cache
    value = ctx.pipeline.defaults.get("cache")
    return True if value is None else bool(value)


def _retry_wait(e: ProviderError, rate_limited: int, failed: int, last: bool) -> float | None:
    """Seconds to wait before trying the same model again, or None to give up on it.
    ``rate_limited``/``failed``: how many such failures this model has had (this one included)."""
    if e.reason == "rate_limit":
        if rate_limited >= RATE_LIMITS.attempts:
            return None
        wait = e.retry_after if e.retry_after is not None else RATE_LIMITS.delay_before(rate_limited + 1)
        return wait if wait <= MAX_WAIT else None
    if e.reason in ("server", "timeout", "connection") and last and failed < SERVER_ERRORS.attempts:
        wait = e.retry_after if e.retry_after is not None else SERVER_ERRORS.delay_before(failed + 1)
        return wait if wait <= MAX_WAIT else None  # as for a 429: an over-cap wait gives up at once
    return None


def _redacted(e: ProviderError) -> ProviderError:
    text = str(e)
    clean = redact(text)
    if clean == text:
        return e
    return ProviderError(clean, reason=e.reason, retryable=e.retryable, retry_after=e.retry_after, status=e.status)


def _request_record(req: LLMRequest) -> dict:
    """What is stored of a request: the content, never credentials or headers."""
    out = {"model": req.model, "system": req.system, "messages": req.messages, "temperature": req.temperature,
           "max_tokens": req.max_tokens, "schema": req.schema, "json_mode": req.json_mode,
           "options": req.options}
    if req.tools:
        out["tools"] = req.tools
    return out


def _response_from(entry: dict):
    r = entry.get("response", {})
    return LLMResponse(text=r.get("text", ""), tokens_in=r.get("tokens_in", 0), tokens_out=r.get("tokens_out", 0),
                       model=r.get("model"), finish_reason=r.get("finish_reason"),
                       tool_calls=list(r.get("tool_calls") or ()))
