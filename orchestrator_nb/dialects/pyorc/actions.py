"""A py-orc action or tool -> the native action of a step.

| py-orc                                            | native                                       |
|---------------------------------------------------|----------------------------------------------|
| action generate / generate_text (llm-generate)    | `prompt:` (+ model, system, max_tokens...)    |
| action generate_structured                        | `prompt:` + `output: {schema: ...}`           |
| action analyze_text (llm-analyze)                 | `prompt:` built from text + analysis_type     |
| action evaluate_condition                         | `python: ...tools:evaluate_condition`         |
| tool filesystem: read / list / exists / mkdir     | `python: ...tools:fs_*` (root = run.outdir)   |
| tool filesystem: write                            | `write:` (an artifact, under --outdir)        |
| tool terminal: execute                            | `python: ...tools:terminal_execute`, thread   |
| tool mcp-memory: store / retrieve / list / clear  | `python: ...tools:memory` (kept with the run)  |
"""
from __future__ import annotations

from ...errors import SpecError
from . import autotext
from .level import Item, Level, Out
from .rewrite import is_template

TOOLS = "orchestrator_nb.dialects.pyorc.tools"
ROOT = "{{ run.outdir }}"

ACTIONS = {"generate": "generate", "generate_text": "generate", "generate-text": "generate",
           "generate_structured": "structured", "generate-structured": "structured",
           "analyze_text": "analyze", "analyze-text": "analyze", "analyze": "analyze",
           "evaluate_condition": "condition", "evaluate-condition": "condition"}
LLM_TOOLS = {"llm-generate": ("generate", "generate_text"), "llm-analyze": ("analyze", "analyze_text")}
FS_ACTIONS = ("read", "write", "list", "exists", "mkdir")
UNSUPPORTED = {
    "web-search": "web search is not supported (fetch pages with a terminal step, e.g. curl)",
    "headless-browser": "browsing is not supported (fetch pages with a terminal step, e.g. curl)",
    "mcp-server": "MCP tools are not supported",
    "mcp-resource": "MCP tools are not supported",
    "image-generation": "media tools are not supported", "image-analysis": "media tools are not supported",
    "audio-processing": "media tools are not supported", "video-processing": "media tools are not supported",
    "pdf-compiler": "media tools are not supported",
    "user-prompt": "convert the file (orc convert) and use a native `approval:` step",
    "approval-gate": "convert the file (orc convert) and use a native `approval:` step",
    "feedback-collection": "convert the file (orc convert) and use a native `approval:` step",
    "python-executor": "convert the file (orc convert) and use a native `code:` step",
    "pipeline-executor": "convert the file (orc convert) and use a native `pipeline:` step",
}
for _tool in ("data-processing", "validation", "report-generator", "task-delegation", "multi-model-routing",
              "prompt-optimization", "visualization", "checkpoint", "recursion-control"):
    UNSUPPORTED[_tool] = "use generate_text / generate_structured, or convert the file and write a native step"
LLM_PARAMS = {"generate": ("prompt", "model", "max_tokens", "max_completion_tokens", "temperature", "system",
                           "system_prompt", "schema", "output_format", "response_format"),
              "structured": ("prompt", "schema", "model", "max_tokens", "max_completion_tokens", "temperature",
                             "system", "system_prompt"),
              "analyze": ("text", "content", "data", "analysis_type", "prompt", "question", "instructions",
                          "schema", "model", "max_tokens", "max_completion_tokens", "temperature", "system",
                          "system_prompt", "output_format", "response_format")}
def action(level: Level, it: Item, out: Out, resolver) -> None:
    r, p = it.raw, it.path
    tool, act = r.get("tool"), r.get("action")
    if act is None and tool is None:
        raise level.tr.error("a step needs an `action` (or `tool` + `action`), or `steps` with for_each/while",
                             p, hint="e.g. action: generate_text with parameters: {prompt: ...}")
    if act is not None and (not isinstance(act, str) or not act.strip()):
        raise level.tr.error("must be an action name", p + ("action",), hint="e.g. action: generate_text")
    if tool is not None and (not isinstance(tool, str) or not tool.strip()):
        raise level.tr.error("must be a tool name", p + ("tool",), hint="e.g. tool: filesystem")
    params = r.get("parameters") or {}
    if not isinstance(params, dict):
        raise level.tr.error("must be a mapping of names to values", p + ("parameters",))
    act_key = act.strip().lower() if act else None
    if tool is not None:
        if tool in LLM_TOOLS and (act_key is None or act_key in LLM_TOOLS[tool]):
            act_key = "generate_text" if tool == "llm-generate" else "analyze_text"
        elif tool == "filesystem":
            return _filesystem(level, it, out, resolver, act_key, params)
        elif tool == "mcp-memory":
            return _memory(level, it, out, resolver, act_key, params)
        elif tool == "terminal":
            if act_key not in (None, "execute", "run"):
                raise level.tr.error(f"terminal action '{act}' is not supported", p + ("action",), hint="use execute")
            return _terminal(level, it, out, resolver, params)
        else:
            hint = UNSUPPORTED.get(tool, "supported tools: filesystem, terminal, mcp-memory, llm-generate, "
                                         "llm-analyze")
            raise level.tr.error(f"tool '{tool}' is not supported", p + ("tool",), hint=hint)
    kind = ACTIONS.get(act_key)
    if kind is None and act_key in UNSUPPORTED:
        raise level.tr.error(f"'{act}' (a py-orc tool) is not supported", p + ("action",), hint=UNSUPPORTED[act_key])
    if kind is None:
        hint = ("write it as action: generate_text with parameters: {prompt: ...}" if " " in act_key
                else "supported actions: generate_text, generate_structured, analyze_text, evaluate_condition, "
                     "and tools filesystem / terminal")
        raise level.tr.error(f"action '{act}' is not supported", p + ("action",), hint=hint)
    if kind == "condition":
        return _evaluate(level, it, out, resolver, params)
    _llm(level, it, out, resolver, kind, params)


def _only(level, it, params, allowed, what, passes_extras=False):
    """``passes_extras``: py-orc hands unknown parameters of this action on (to the model call); orc
    refuses them rather than drop them silently, and says so."""
    for k in params:
        if k not in allowed:
            from ...errors import suggest
            near = suggest(k, allowed)
            msg = (f"parameter '{k}' is not supported for {what}" if passes_extras and not near
                   else f"unknown parameter '{k}' for {what}")
            raise level.tr.error(msg, it.path + ("parameters", k), hint=near or "takes " + ", ".join(allowed))


def _param(level, it, resolver, params, key, where=None):
    origin = it.path + ("parameters", key)
    value, sub = level.value(params[key], origin, it, where or key, resolver)
    return value, origin, sub


def _put_params(level, it, out, resolver, params, keys):
    vals, sub = {}, {}
    for k in keys:
        if k in params:
            vals[k], origin, inner = _param(level, it, resolver, params, k)
            sub[(k,)] = origin
            sub.update({(k,) + rel: o for rel, o in inner.items()})
    out.put("params", vals, it.path + ("parameters",), sub)


def _llm(level, it, out, resolver, kind, params):
    p = it.path
    _only(level, it, params, LLM_PARAMS[kind], f"action {it.raw.get('action')}", passes_extras=True)
    model = _model(level, it, params)
    if kind == "analyze":
        text_key = next((k for k in ("text", "content", "data") if k in params), None)
        if text_key is None:
            raise level.tr.error("analyze_text needs `text` (or `content`) to analyze", p + ("parameters",))
        text, origin, _ = _param(level, it, resolver, params, text_key)
        ask_key = next((k for k in ("prompt", "question", "instructions") if k in params), None)
        kind_of = _param(level, it, resolver, params, "analysis_type")[0] if "analysis_type" in params else None
        ask = _param(level, it, resolver, params, ask_key)[0] if ask_key else (
            "Analyze the following text" + (f" ({kind_of})" if kind_of else "") + ". Report what you find.")
        prompt = f"{ask}\n\nText:\n{_as_text(text)}"
    else:
        if "prompt" not in params:
            raise level.tr.error(f"action {it.raw.get('action')} needs parameters.prompt", p + ("parameters",))
        prompt, origin, _ = _param(level, it, resolver, params, "prompt")
        prompt = _as_text(prompt)
    out.put("prompt", prompt, origin)
    if model is not None:
        out.put(*model)
    for key in ("system", "system_prompt"):
        if key in params:
            out.put("system", _as_text(_param(level, it, resolver, params, key)[0]), p + ("parameters", key))
    if "max_tokens" in params and "max_completion_tokens" in params:
        raise level.tr.error("give max_tokens or max_completion_tokens, not both",
                             p + ("parameters", "max_completion_tokens"))
    for key in ("max_tokens", "max_completion_tokens", "temperature"):
        if key in params:
            v = params[key]
            if is_template(v):
                raise level.tr.error(f"a template for {key} is not supported", p + ("parameters", key),
                                     hint="write a number: the limit is fixed when the file loads")
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise level.tr.error(f"must be a number, not {v!r}", p + ("parameters", key))
            out.put("max_tokens" if key == "max_completion_tokens" else key, v, p + ("parameters", key))
    schema = params.get("schema")
    if kind == "structured" and not isinstance(schema, dict):
        raise level.tr.error("generate_structured needs parameters.schema (a JSON Schema mapping)",
                             p + ("parameters",))
    if schema is not None:
        if not isinstance(schema, dict):
            raise level.tr.error("must be a JSON Schema mapping", p + ("parameters", "schema"))
        out.put("output", {"schema": schema}, p + ("parameters", "schema"))
    elif str(params.get("output_format") or params.get("response_format") or "").lower() in ("json", "json_object"):
        out.put("output", "json", p + ("parameters",))


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    import json
    return json.dumps(value, ensure_ascii=False)


def _model(level, it, params):
    """(key, value, origin) for the step's `model:` or `task:`, or None (pipeline default)."""
    r, p = it.raw, it.path
    if "model" in params and "model" in r:
        raise level.tr.error("give the model once (step `model` or parameters.model)", p + ("model",))
    key = ("parameters", "model") if "model" in params else ("model",)
    raw = params.get("model", r.get("model"))
    origin = p + key
    if raw is None:
        req = r.get("requires_model")
        if isinstance(req, dict):
            words = " ".join(str(x) for x in ([req.get("expertise")] + list(req.get("capabilities") or [])) if x)
            task = autotext.infer_task(words) or ("analysis" if "high" in words else None)
            return ("task", task, p + ("requires_model",)) if task else None
        return level.tr.default_task
    if not isinstance(raw, str):
        raise level.tr.error("must be a model name", origin)
    if autotext.has_auto(raw) or raw.strip() == "<AUTO>":
        words = " ".join(t for _, t in level.split(raw, origin))
        task = autotext.infer_task(words, next(iter(autotext.auto_tasks(raw)), None))
        return ("task", task, origin) if task else None
    if is_template(raw):
        raise level.tr.error("the model cannot be a template", origin, hint="name it, or use <AUTO> to route by task")
    try:
        return ("model", level.tr.models.ref(raw), origin)
    except SpecError as e:
        raise level.tr.error(e.message, origin, hint=e.hint) from None


def _evaluate(level, it, out, resolver, params):
    _only(level, it, params, ("condition", "break_on_true"), "action evaluate_condition")
    if "condition" not in params:
        raise level.tr.error("evaluate_condition needs parameters.condition", it.path + ("parameters",))
    origin = it.path + ("parameters", "condition")
    raw = params["condition"]
    if autotext.has_auto(raw):
        value, _ = level.value(raw, origin, it, "condition", resolver, context="condition")
    else:
        value = "{{ " + level.expression(raw, origin, resolver) + " }}"
    out.put("python", f"{TOOLS}:evaluate_condition", it.path + ("action",))
    out.put("params", {"condition": value}, it.path + ("parameters",), {("condition",): origin})
    it.is_condition = True
    brk = params.get("break_on_true")
    if brk is not None:
        if not isinstance(brk, bool):
            raise level.tr.error("must be true or false", it.path + ("parameters", "break_on_true"))
        if brk and level.loop != "while":
            raise level.tr.error("break_on_true only applies inside a while loop",
                                 it.path + ("parameters", "break_on_true"))
        it.breaks_loop = brk


def _filesystem(level, it, out, resolver, act, params):
    p = it.path
    if act not in FS_ACTIONS:
        raise level.tr.error(f"filesystem action '{it.raw.get('action')}' is not supported", p + ("action",),
                             hint="use " + ", ".join(FS_ACTIONS))
    if "path" not in params and act != "list":
        raise level.tr.error(f"filesystem {act} needs parameters.path", p + ("parameters",))
    if act == "write":
        _only(level, it, params, ("path", "content", "mode", "encoding"), "filesystem write")
        mode = str(params.get("mode", "w"))
        if mode not in ("w", "wb", "wt"):
            raise level.tr.error(f"write mode '{mode}' is not supported", p + ("parameters", "mode"),
                                 hint="files are written whole (mode w)")
        path, po, _ = _param(level, it, resolver, params, "path")
        content, co, sub = (_param(level, it, resolver, params, "content") if "content" in params
                            else ("", p + ("parameters",), {}))
        out.put("write", {"path": path, "content": content}, p + ("parameters",),
                {("path",): po, ("content",): co, **{("content",) + k: v for k, v in sub.items()}})
        return
    allowed = {"read": ("path", "encoding"), "list": ("path", "pattern", "recursive"), "exists": ("path",),
               "mkdir": ("path", "parents", "exist_ok")}[act]
    _only(level, it, params, allowed, f"filesystem {act}")
    out.put("python", f"{TOOLS}:fs_{act}", p + ("action",))
    _put_params(level, it, out, resolver, params, [k for k in allowed if k not in ("parents", "exist_ok")])
    out.data["params"]["root"] = ROOT


def _terminal(level, it, out, resolver, params):
    p = it.path
    _only(level, it, params, ("command", "timeout", "cwd", "working_dir", "env", "capture_output", "shell"),
          "terminal execute")
    if "command" not in params:
        raise level.tr.error("terminal execute needs parameters.command", p + ("parameters",))
    keys = ["command", "cwd", "env"] + (["working_dir"] if "working_dir" in params else [])
    _put_params(level, it, out, resolver, params, keys)
    vals = out.data["params"]
    if "working_dir" in vals:
        vals["cwd"] = vals.pop("working_dir")
    limit = it.raw.get("timeout", params.get("timeout"))
    if limit is not None:
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit <= 0:
            where = p + ("timeout",) if "timeout" in it.raw else p + ("parameters", "timeout")
            raise level.tr.error(f"must be a number of seconds > 0, not {limit!r}", where)
        vals["timeout"] = float(limit)
    vals["root"] = ROOT
    out.put("python", f"{TOOLS}:terminal_execute", p + ("tool",))
    out.put("thread", True, p + ("tool",))




MEMORY_ACTIONS = ("store", "retrieve", "list", "clear")


def _memory(level, it, out, resolver, act, params):
    """`tool: mcp-memory`: py-orc's key-value memory, per namespace, with a time to live. The
    operation is `parameters.action` (with `action: execute`) or the step's own `action`."""
    p = it.path
    op, where = (params.get("action"), p + ("parameters", "action")) if act in (None, "execute") else (act, p + ("action",))
    if op not in MEMORY_ACTIONS:
        from ...errors import suggest
        raise level.tr.error(f"mcp-memory action {op!r} is not supported", where,
                             hint=suggest(str(op), MEMORY_ACTIONS) or "use " + ", ".join(MEMORY_ACTIONS))
    _only(level, it, params, ("action", "namespace", "key", "value", "ttl"), f"mcp-memory {op}")
    if op in ("store", "retrieve") and "key" not in params:
        raise level.tr.error(f"mcp-memory {op} needs parameters.key", p + ("parameters",))
    ttl = params.get("ttl")
    if ttl is not None and (not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl < 0):
        raise level.tr.error(f"must be a number of seconds >= 0, not {ttl!r}", p + ("parameters", "ttl"))
    out.put("python", f"{TOOLS}:memory", p + ("tool",))
    _put_params(level, it, out, resolver, params, [k for k in ("namespace", "key", "value", "ttl") if k in params])
    out.data["params"].update({"op": op, "root": ROOT, "run_id": "{{ run.id }}"})
