"""The tool loop of a `prompt` step with `tools:`: model -> tool calls -> results -> model, until the
model answers without calling a tool (that answer is the step's output, checked by `output` and
`check` like any other), or `max_turns` model turns have passed.

Each turn: the run's budget is checked, the model is asked (through the gateway: cache, records,
fallbacks), and the calls it asks for run: those needing no approval all at once (parallel calls),
then, one by one, those `approve_tools` names (a person approves, edits the arguments or rejects:
the model then hears the refusal as the call's result). A call's result is replayed from the cache
when the tool has no side effects and the step's cache is on; every call is recorded (`tool_call`).

A headless approval ends the try `waiting` with the loop's state in its output: the conversation
so far and the results of this turn's finished calls. `orc resume` gives that state back (ctx.
resume_state), so the model is not asked again and no finished call runs twice.
"""
from __future__ import annotations

import asyncio
import json
import time

from ...credentials import known_secrets, redact
from ...errors import BudgetExceeded, OrcError, describe
from ..cache import MISS
from ..serialize import content_hash, to_jsonable
from ..stepcontext import Waiting

MAX_TURNS = 10
MAX_RESULT_CHARS = 20_000


class ToolLoopError(OrcError):
    """The model kept calling tools past `max_turns`."""


async def run_tool_loop(ctx, messages: list[dict], system, output):
    step = ctx.step
    tools = await ctx.tools(step.tools)
    waited = ctx.resume_state or {}
    loop = ToolLoop(ctx, tools, waited)
    saved = waited.get("tools")
    if saved:  # a resumed run: go on with the turn that waited for an approval
        messages, turn, calls, done = saved["messages"], saved["turn"], saved["calls"], saved["done"]
    else:
        messages, turn, calls, done = list(messages), 0, None, {}
    max_turns = step.max_turns or MAX_TURNS
    specs = [t.spec for t in tools]
    while True:
        if calls:
            messages.extend(await loop.run_calls(calls, turn, done, messages))
            calls, done = None, {}
        if turn >= max_turns:
            raise ToolLoopError(f"the model still called tools after {max_turns} turns (max_turns); "
                                "raise max_turns or make the prompt say when to stop")
        turn += 1
        ctx.check_budget()
        result = await ctx.complete(messages, system=system, output=output, tools=specs)
        if not result.tool_calls:
            return result.value
        messages.append(result.message)
        calls = result.tool_calls


class ToolLoop:
    """Runs one step's tool calls: lookup, approval, cache, execution, records."""

    def __init__(self, ctx, tools: list, waited: dict | None = None):
        self.ctx = ctx
        # the call a resumed try waited on keeps its approval round (its decision is stored under it)
        pending = (waited or {}).get("tool") or {}
        self.rounds = {pending.get("call_id"): waited.get("round")} if pending.get("call_id") else {}
        self.tools = {t.name: t for t in tools}
        settings = ctx.pipeline.tools if getattr(ctx.pipeline, "tools", None) else {}
        self.max_chars = int(settings.get("max_result_chars") or MAX_RESULT_CHARS)
        self.approve = ctx.step.approve_tools
        cache_on = ctx.step.cache if ctx.step.cache is not None else ctx.pipeline.defaults.get("cache", True)
        self.cache = ctx.cache if cache_on else None
        self.values: dict[str, object] = {}  # call id -> the tool's result as data (`call:` steps' output)
        self.position: dict[str, int] = {}   # call id -> its place among the turn's calls (records keep the order)

    def needs_approval(self, tool) -> bool:
        names = self.approve
        if not names or tool is None:
            return False
        if names == "all":
            return True
        server = tool.ref.split("/")[0] if tool.ref.startswith("mcp:") else None
        return tool.name in names or tool.ref in names or (server is not None and server in names)

    async def run_calls(self, calls: list[dict], turn: int, done: dict, messages: list[dict]) -> list[dict]:
        """The result messages of one turn's calls, in the model's order. ``done``: results already
        made in this turn (before a wait), by call id; filled in as calls finish."""
        self.position.update({c["id"]: i for i, c in enumerate(calls)})
        free = [c for c in calls if c["id"] not in done and not self.needs_approval(self.tools.get(c["name"]))]
        results = await asyncio.gather(*(self.call(c, turn) for c in free))
        for c, r in zip(free, results):
            done[c["id"]] = r
        for c in calls:
            if c["id"] in done:
                continue
            tool = self.tools[c["name"]]
            try:
                decision = await self.ctx.ask_tool(
                    f"Allow the tool call {tool.name}?", shown_call(tool, c["arguments"]),
                    {"name": tool.name, "ref": tool.ref, "arguments": c["arguments"], "call_id": c["id"], "turn": turn},
                    round=self.rounds.pop(c["id"], None))
            except Waiting as w:
                state = {"messages": messages, "turn": turn, "calls": calls, "done": done}
                raise Waiting(dict(w.output, tools=to_jsonable(state)), w.reason) from None
            done[c["id"]] = await self.decided(c, turn, decision)
        return [done[c["id"]] for c in calls]

    async def decided(self, call: dict, turn: int, decision) -> dict:
        word = decision.decision
        if word == "approved":
            edited = decision.edited if isinstance(decision.edited, dict) else None
            if edited is not None and edited != call["arguments"]:
                result = await self.call(dict(call, arguments=edited), turn, decision="edited")
                result["content"] = (f"(The reviewer changed the arguments to {json.dumps(edited, ensure_ascii=False)}"
                                     f" before running it.)\n{result['content']}")
                return result
            return await self.call(call, turn, decision="approved")
        why = "rejected this call" if word == "rejected" else "asked for changes instead of running this call"
        text = f"The user {why}" + (f": {decision.comment}" if decision.comment else ".")
        self.ctx.record_tool(call_id=call["id"], turn=turn, tool=call["name"], arguments=call["arguments"],
                             result=None, error=text, duration_ms=0.0, decision=word, cached=False,
                             ref=getattr(self.tools.get(call["name"]), "ref", None),
                             position=self.position.get(call["id"], 0))
        return _message(call, text, True)

    async def call(self, call: dict, turn: int, decision: str | None = None) -> dict:
        """Run one call (or replay it) and record it; the tool result message for the model."""
        ctx, name, args = self.ctx, call["name"], call["arguments"]
        tool = self.tools.get(name)
        record = dict(call_id=call["id"], turn=turn, tool=name, arguments=args, decision=decision,
                      ref=getattr(tool, "ref", None), position=self.position.get(call["id"], 0))
        if tool is None:
            text = f"there is no tool named {name!r}; the tools are: {', '.join(self.tools) or 'none'}"
            ctx.record_tool(**record, result=None, error=text, duration_ms=0.0, cached=False)
            return _message(call, text, True)
        if "_invalid" in args:
            text = f"the arguments are not a JSON object: {str(args['_invalid'])[:200]}"
            ctx.record_tool(**record, result=None, error=text, duration_ms=0.0, cached=False)
            return _message(call, text, True)
        key = content_hash("tool", tool.identity, args) if tool.cacheable and self.cache is not None else None
        replay = ctx.mode == "replay"
        if key is not None and ((ctx.use_cache and ctx.mode != "live") or replay):
            hit = self.cache.get("tool", key)
            if hit is not MISS:
                ctx.record_tool(**record, result=hit.get("result"), error=hit.get("error"), duration_ms=0.0,
                                cached=True)
                self.values[call["id"]] = hit.get("result")
                return _message(call, self.text(hit.get("result"), hit.get("error")), hit.get("error") is not None)
        if replay and tool.cacheable:
            raise OrcError(f"replay mode: no recorded result of the tool {name} for these arguments; run once "
                           "without ORC_MODE=replay to record it, or `orc cache import` a cassette")
        t0 = time.perf_counter()
        value = error = None
        try:
            value = without_secrets(to_jsonable(await tool.run(args, ctx)))
        except (asyncio.CancelledError, BudgetExceeded, Waiting):
            raise
        except Exception as e:  # the model hears what went wrong and may try otherwise
            error = redact(describe(e))
        took = (time.perf_counter() - t0) * 1000
        ctx.record_tool(**record, result=value, error=error, duration_ms=round(took, 2), cached=False)
        self.values[call["id"]] = value
        if key is not None and error is None:
            ctx.cache.put("tool", key, {"tool": tool.ref, "arguments": args, "result": value, "error": None,
                                        "step": ctx.step.id, "pipeline": ctx.pipeline.name})
        return _message(call, self.text(value, error), error is not None)

    def text(self, value, error) -> str:
        if error is not None:
            return f"error: {error}"
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > self.max_chars:
            text = text[:self.max_chars] + f"\n… (cut at {self.max_chars} characters)"
        return text


def without_secrets(value):
    """A tool's result with every known credential value replaced (it goes to a model and the store)."""
    secrets = known_secrets()
    if not secrets:
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if not any(s in text for s in secrets if len(s) >= 6):
        return value
    clean = redact(text, secrets)
    return clean if isinstance(value, str) else json.loads(clean)


def _message(call: dict, text: str, is_error: bool) -> dict:
    return {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": text, "is_error": is_error}


def shown_call(tool, arguments: dict) -> str:
    """What a reviewer sees of a call: the tool and its arguments (long texts in full)."""
    lines = [f"tool: {tool.name}" + (f"  ({tool.ref})" if tool.ref != tool.name else "")]
    for k, v in arguments.items():
        if isinstance(v, str) and ("\n" in v or len(v) > 80):
            lines.append(f"{k}:\n" + "\n".join("    " + ln for ln in v.splitlines()))
        else:
            lines.append(f"{k}: {json.dumps(v, ensure_ascii=False)}")
    return "\n".join(lines)

