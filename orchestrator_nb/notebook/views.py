"""What ``%orc load | graph | runs | show | models`` and ``--dry-run`` display."""
from __future__ import annotations

import json

from ..report.graph import pipeline_svg, svg, text_graph
from .tables import Sections, Table


def _steps_table(pipeline, chains: bool = False) -> Table:
    rows = []
    for sid, s in pipeline.steps.items():
        model = ""
        if s.kind == "prompt":
            if chains:
                from ..providers.routing import resolve_chain
                try:
                    model = " → ".join(resolve_chain(pipeline, s.model, s.task))
                except Exception as e:  # shown, not raised: a dry run reports what it found
                    model = f"(no model: {e})"
            else:
                model = s.model if isinstance(s.model, str) else ", ".join(s.model or ()) or (
                    f"task: {s.task}" if s.task else "")
        extra = []
        if s.for_each is not None:
            extra.append("for each")
        if s.when is not None:
            extra.append("when")
        if s.check is not None:
            extra.append("check")
        rows.append((sid, s.kind, ", ".join(sorted(s.deps)), model, ", ".join(extra)))
    return Table(("step", "kind", "needs", "model" if not chains else "model chain", "notes"), rows)


def pipeline_view(pipeline, title: str, graph_only: bool = False) -> Sections:
    parts = [("h", title)]
    if pipeline.description:
        parts.append(("p", pipeline.description))
    parts.append(("html", (pipeline_svg(pipeline), text_graph(pipeline.graph, list(pipeline.steps)))))
    if not graph_only:
        if pipeline.inputs:
            parts.append(("table", Table(("input", "type", "default"),
                                         [(k, d.type, d.default) for k, d in pipeline.inputs.items()])))
        parts.append(("table", _steps_table(pipeline)))
    return Sections(parts, data=pipeline)


def dry_run_view(pipeline, inputs: dict, notes=()) -> Sections:
    parts = [("h", f"dry run: {pipeline.name} — {len(pipeline.steps)} steps, checked; nothing ran")]
    if inputs:
        parts.append(("table", Table(("input", "value"), [(k, _short(v)) for k, v in inputs.items()])))
    parts.append(("html", (pipeline_svg(pipeline), text_graph(pipeline.graph, list(pipeline.steps)))))
    parts.append(("table", _steps_table(pipeline, chains=True)))
    from ..api.estimate import estimate_pipeline, estimate_lines
    est = estimate_pipeline(pipeline, inputs)
    lines = estimate_lines(est)
    parts.append(("p", lines[0]))
    if len(lines) > 1:
        parts.append(("table", Table(("call", "input tokens", "max output", "calls", "low", "high"), [
            (r["step"] + (" (judge)" if r["call"] == "judge" else ""), r["input_tokens"], r["max_output"], r["calls"],
             f"${r['low_usd']:.4f}", f"${r['high_usd']:.4f}" + (" /item" if r["per_item"] else ""))
            for r in est["steps"] if not r.get("error")])))
    for note in notes:  # references that only running could check
        parts.append(("p", f"note: {note}"))
    return Sections(parts, data={"pipeline": pipeline, "inputs": inputs, "cost": est})


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "…"


def _took(a, b) -> str:
    if a is None or b is None:
        return ""
    return f"{(b - a).total_seconds():.1f}s"


def runs_table(store, limit: int = 20, status=None, pipeline=None) -> Table:
    from ..store.queries import list_runs
    rows = list_runs(store, limit=limit, status=status, pipeline=pipeline) if store.exists() else []
    return Table(("run", "pipeline", "status", "started (UTC)", "took", "tokens", "cost", "source"),
                 [(r["run_id"], r["pipeline"], r["status"], r["started_at"], _took(r["started_at"], r["ended_at"]),
                   (r["tokens_in"] or 0) + (r["tokens_out"] or 0), f"${r['cost_usd'] or 0:.4f}", r["source"])
                  for r in rows], empty="no runs yet")


def run_view(store, ref: str) -> Sections:
    from ..store.queries import run_detail
    d = run_detail(store, ref)
    r = d["run"]
    tokens = (r.get("tokens_in") or 0) + (r.get("tokens_out") or 0)
    parts = [("h", f"run {r['run_id']} · {r['pipeline']} · {r['status']} · {tokens:,} tokens · "
                   f"${r.get('cost_usd') or 0:.4f} · {_took(r.get('started_at'), r.get('ended_at'))}")]
    if r.get("error"):
        parts.append(("p", f"error: {r['error']}"))
    if r.get("inputs"):
        parts.append(("p", "inputs: " + _short(r["inputs"])))
    graph = _run_graph(r, d["steps"])
    if graph:
        parts.append(("html", (graph, "")))
    parts.append(("table", Table(("step", "item", "try", "status", "model", "took", "note"),
                                 [(s["step_id"], "" if s["item_index"] < 0 else s["item_index"], s["attempt"],
                                   s["status"], s.get("model") or "", _took(s.get("started_at"), s.get("ended_at")),
                                   (s.get("error") or ("cached" if s.get("cached") else ""))[:120])
                                  for s in d["steps"]], title="steps")))
    for a in d.get("pending") or []:
        parts.extend(_pending_parts(a))
    calls = d.get("llm_calls") or []
    if calls:
        parts.append(("table", Table(("step", "model", "tokens in/out", "cost", "latency", "cached", "error"),
                                     [(c["step_id"], f"{c['provider']}:{c['model']}",
                                       f"{c['tokens_in']}/{c['tokens_out']}", f"${c['cost_usd'] or 0:.5f}",
                                       f"{c['latency_ms'] or 0:.0f}ms", "yes" if c["cached"] else "",
                                       (c.get("error") or "")[:80]) for c in calls], title="model calls")))
    if d.get("tool_calls"):
        parts.append(("table", tool_calls_table(d["tool_calls"])))
    if d["approvals"]:
        parts.append(("table", Table(("step", "round", "decision", "by", "mode", "comment"),
                                     [(a["step_id"], a["round"], a["decision"], a["decided_by"], a["mode"],
                                       a["comment"]) for a in d["approvals"]], title="decisions")))
    if d["artifacts"]:
        parts.append(("table", Table(("step", "path", "bytes", "sha256"),
                                     [(a["step_id"], a.get("rel_path") or a["path"], a.get("bytes"),
                                       (a.get("sha256") or "")[:16]) for a in d["artifacts"]], title="artifacts")))
    return Sections(parts, data=d)


def _pending_parts(a: dict) -> list:
    """An approval waiting for a decision: the question, the content to review, how to decide."""
    import html
    where = f"run {a['run_id']} " if a.get("parent_run_id") else ""
    show = (a.get("show") or "").rstrip()
    parts = [("h", f"waiting for approval: {where}step {a['step_id']} (round {a['round']})"),
             ("p", a["question"])]
    if show:
        parts.append(("html", ("<pre style='font-size:12px;white-space:pre-wrap;border-left:3px solid "
                               "var(--jp-brand-color1,#1976d2);padding:4px 8px;margin:2px 0;max-height:400px;"
                               f"overflow:auto'>{html.escape(show)}</pre>",
                               "── to review ──\n" + "\n".join("│ " + line for line in show.splitlines()))))
    parts.append(("p", f"decide: %orc approve {a['run_id']} {a['step_id']} (or --changes --comment TEXT, or "
                       f"--reject), then %{a['resume']}"))
    return parts


def _run_graph(run: dict, steps: list[dict]) -> str:
    try:
        from ..core.loader import load_text
        pipeline = load_text(run["spec_yaml"], file="<stored>", names=None)
    except Exception:  # an old or foreign spec: the tables say enough
        return ""
    latest: dict[str, tuple] = {}
    for s in steps:
        if s["item_index"] < 0 and (s["step_id"] not in latest or s["attempt"] >= latest[s["step_id"]][0]):
            latest[s["step_id"]] = (s["attempt"], s["status"])
    status = {sid: v[1] for sid, v in latest.items()}
    return svg(pipeline.graph, status=status, kinds={k: s.kind for k, s in pipeline.steps.items()},
               order=list(pipeline.steps))


def tool_calls_table(calls: list[dict]) -> Table:
    return Table(("step", "item", "try", "turn", "tool", "arguments", "result", "took", "decision"),
                 [(c["step_id"], "" if c["item_index"] < 0 else c["item_index"], c["attempt"], c["turn"], c["tool"],
                   _short(c["arguments"]), ("error: " + str(c["error"])[:100]) if c.get("error") else _short(c["result"]),
                   "cached" if c.get("cached") else f"{c.get('duration_ms') or 0:.0f}ms", c.get("decision") or "")
                  for c in calls], title="tool calls")


def tools_view(listing: dict) -> Table:
    rows = [(r["name"], "built-in", r["description"] + ("" if r["enabled"] else "  [off: tools: {allow: [...]}]"))
            for r in listing["builtins"]]
    for s in listing["servers"]:
        if s["error"]:
            rows.append((f"mcp:{s['name']}", f"MCP {s['kind']}", "error: " + s["error"]))
        rows += [(t["ref"], f"MCP {s['kind']}", (t["description"] or "") + (" (read-only)" if t["read_only"] else ""))
                 for t in s["tools"]]
    return Table(("tool", "source", "what it does"), rows, title="tools (a step's `tools:` names them)")


def models_table() -> Table:
    from ..providers.listing import provider_table
    rows = []
    for r in provider_table():
        key = "not needed" if r.get("key_env") is None else (
            f"{r['key_env']} set" if r.get("key_present") else f"{r['key_env']} missing")
        models = ", ".join((r.get("models") or [])[:4]) + (" …" if len(r.get("models") or []) > 4 else "")
        rows.append((r["provider"], "yes" if r.get("ready") else "no", key, r.get("base_url") or "", models))
    return Table(("provider", "ready", "key", "base URL", "models"), rows)
