"""Rich display of a RunResult: a header, the step table, the DAG, and every output rendered.

``run_result_bundle`` gives ``text/html`` for JupyterLab and a readable ``text/plain`` (the same
table the CLI prints) for papermill output notebooks, terminals and ``repr``.
"""
from __future__ import annotations

import html

from .console import summary_table
from .graph import STATUS_COLORS, svg
from .markup import output_html

_e = html.escape
SYMBOL = {"succeeded": "✔", "failed": "✘", "waiting": "‖", "cancelled": "■", "budget_exceeded": "$",
          "running": "▶", "skipped": "↷", "pending": "·"}

CSS = ("<style>.orc-result{font-size:13px;line-height:1.4}.orc-result .orc-table{border-collapse:collapse;"
       "font-size:12px}.orc-result .orc-table th,.orc-result .orc-table td{border:1px solid "
       "var(--jp-border-color2,#ddd);padding:3px 8px;text-align:left;vertical-align:top}.orc-result .orc-table th"
       "{background:var(--jp-layout-color2,#f5f5f5)}.orc-result details>summary{cursor:pointer}"
       ".orc-result .orc-out{border-left:3px solid var(--jp-border-color2,#ddd);padding:2px 10px;margin:4px 0 10px}"
       ".orc-result .orc-md p{margin:.3em 0}.orc-result .orc-md h1{font-size:1.3em;margin:.4em 0 .2em}"
       ".orc-result .orc-md h2,.orc-result .orc-md h3{font-size:1.12em;margin:.4em 0 .2em}</style>")


def run_result_bundle(result) -> dict:
    return {"text/plain": result_text(result), "text/html": result_html(result)}


def waiting_steps(result) -> list[str]:
    return [s["id"] for s in result.steps if s["status"] == "waiting"]


def result_text(result) -> str:
    text = summary_table(result)
    calls = getattr(result, "tool_calls", None) or []
    if calls:
        errors = sum(1 for c in calls if c.get("error"))
        text += f"\n{len(calls)} tool call(s)" + (f", {errors} with an error" if errors else "") + \
            f": {', '.join(sorted({c['tool'] for c in calls}))}"
    for sid in waiting_steps(result):
        text += (f"\nwaiting for approval: %orc approve {result.run_id} {sid}   "
                 f"(or `orc approve {result.run_id} {sid}`), then %orc resume {result.run_id}")
    return text


def badge(status: str) -> str:
    fill, stroke = STATUS_COLORS.get(status, STATUS_COLORS["pending"])
    return (f'<span class="orc-badge" data-status="{_e(status)}" style="background:{fill};color:{stroke};'
            f'border:1px solid {stroke};border-radius:9px;padding:0 7px;font-size:11.5px;white-space:nowrap">'
            f'{SYMBOL.get(status, "")} {_e(status)}</span>')


def step_rows(result) -> str:
    rows = []
    for s in result.steps:
        secs = f"{s['seconds']:.2f}s" if s.get("seconds") is not None else ""
        tokens = (s.get("tokens_in") or 0) + (s.get("tokens_out") or 0)
        note = s.get("error") or s.get("reason") or ("cached" if s.get("cached") else "")
        rows.append(f"<tr><td><b>{_e(s['id'])}</b></td><td>{_e(s.get('kind') or '')}</td><td>{badge(s['status'])}</td>"
                    f"<td>{s.get('attempts') or ''}</td><td>{_e(s.get('model') or '')}</td><td>{tokens or ''}</td>"
                    f"<td>{'$%.4f' % s['cost'] if s.get('cost') else ''}</td><td>{secs}</td>"
                    f"<td style='max-width:28em'>{_e(str(note)[:200])}</td></tr>")
    return ("<table class='orc-table'><thead><tr><th>step</th><th>kind</th><th>status</th><th>tries</th>"
            "<th>model</th><th>tokens</th><th>cost</th><th>time</th><th>note</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def result_html(result) -> str:
    took = f"{result.seconds:.2f} s" if getattr(result, "seconds", None) is not None else ""
    head = (f"<div style='margin-bottom:6px'>{badge(result.status)} <b>{_e(result.pipeline)}</b> "
            f"<span style='opacity:.7'>· run <code>{_e(result.run_id)}</code> · {took} · {result.tokens:,} tokens · "
            f"${result.cost:.4f}</span></div>")
    if result.error and result.status != "succeeded":
        head += f"<div style='color:#d93025;margin-bottom:6px'>{_e(str(result.error))}</div>"
    for sid in waiting_steps(result):
        head += (f"<div style='margin-bottom:6px'>‖ <b>{_e(sid)}</b> waits for approval: "
                 f"<code>%orc approve {_e(result.run_id)} {_e(sid)}</code> then "
                 f"<code>%orc resume {_e(result.run_id)}</code></div>")
    steps = result.steps
    status = {s["id"]: s["status"] for s in steps}
    kinds = {s["id"]: s.get("kind") or "" for s in steps}
    dag = svg(result.graph, status=status, kinds=kinds, order=[s["id"] for s in steps], max_width=720)
    body = (f"<div style='display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start'>"
            f"<div>{step_rows(result)}</div><div>{dag}</div></div>")
    return f"{CSS}<div class='orc-result'>{head}{body}{tool_calls_html(result)}{outputs_html(result)}</div>"


def tool_calls_html(result) -> str:
    """The run's tool calls (a folded table): turn, tool, arguments, result or error, time, decision."""
    calls = getattr(result, "tool_calls", None) or []
    if not calls:
        return ""
    rows = []
    for c in calls:
        if c.get("error"):
            res = f"<span style='color:#d93025'>{_e(_brief(c['error']))}</span>"
        else:
            res = _e(_brief(c.get("result")))
        took = "cached" if c.get("cached") else f"{c.get('duration_ms') or 0:.0f} ms"
        item = "" if c.get("item_index", -1) < 0 else f"[{c['item_index']}]"
        rows.append(f"<tr><td>{_e(c['step_id'])}{item}</td><td>{c.get('turn', '')}</td><td><b>{_e(c['tool'])}</b></td>"
                    f"<td><code>{_e(_brief(c.get('arguments')))}</code></td><td>{res}</td><td>{took}</td>"
                    f"<td>{_e(c.get('decision') or '')}</td></tr>")
    return (f"<details class='orc-tool-calls' style='margin-top:6px'><summary><b>tool calls</b> "
            f"<span style='opacity:.6'>({len(calls)})</span></summary><table class='orc-table'><thead><tr><th>step</th>"
            "<th>turn</th><th>tool</th><th>arguments</th><th>result</th><th>time</th><th>decision</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></details>")


def _brief(value, width: int = 140) -> str:
    import json
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def outputs_html(result) -> str:
    parts = []
    shown = [s for s in result.steps if s["id"] in result.outputs and s.get("kind") != "approval"]
    for i, s in enumerate(shown):
        value = result.outputs[s["id"]]
        fmt = s.get("output_format")
        fmt = fmt if isinstance(fmt, str) else ("json" if fmt else None)
        opened = " open" if (len(shown) <= 4 or i == len(shown) - 1) else ""
        parts.append(f"<details{opened}><summary><b>{_e(s['id'])}</b> <span style='opacity:.6'>"
                     f"{_e(s.get('kind') or '')}</span></summary><div class='orc-out'>{output_html(value, fmt)}"
                     f"</div></details>")
    decisions = [(s["id"], result.outputs[s["id"]]) for s in result.steps
                 if s.get("kind") == "approval" and isinstance(result.outputs.get(s["id"]), dict)]
    for sid, d in decisions:
        who = d.get("decided_by") or ""
        parts.append(f"<div style='font-size:12px;opacity:.8'>✔ <b>{_e(sid)}</b>: {_e(str(d.get('decision')))}"
                     f"{' by ' + _e(str(who)) if who else ''}"
                     f"{' — ' + _e(str(d.get('comment'))) if d.get('comment') else ''}</div>")
    if not parts:
        return ""
    return "<div style='margin-top:8px'><div style='font-weight:600;margin-bottom:2px'>outputs</div>" + \
        "".join(parts) + "</div>"
