"""Rich display of a RunResult: a step table (status, model, tokens, cost, time) and outputs."""
from __future__ import annotations

import html


def run_result_bundle(result) -> dict:
    return {"text/plain": repr(result), "text/html": _html(result)}


def _html(result) -> str:
    e = html.escape
    rows = []
    for s in result.steps:
        secs = f"{s['seconds']:.2f}s" if s["seconds"] is not None else ""
        tokens = s["tokens_in"] + s["tokens_out"]
        rows.append(f"<tr><td>{e(s['id'])}</td><td>{e(s['status'])}</td><td>{s['attempts'] or ''}</td>"
                    f"<td>{e(s['model'] or '')}</td><td>{tokens or ''}</td>"
                    f"<td>{'$%.4f' % s['cost'] if s['cost'] else ''}</td><td>{secs}</td></tr>")
    head = (f"<b>{e(result.pipeline)}</b> · run <code>{e(result.run_id)}</code> · {e(result.status)} · "
            f"{result.tokens} tokens · ${result.cost:.4f}")
    return (f"<div class='orc-result'><div>{head}</div><table><thead><tr><th>step</th><th>status</th>"
            f"<th>tries</th><th>model</th><th>tokens</th><th>cost</th><th>time</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")
