"""The DAG as an inline SVG: layers left to right, nodes coloured by status.

No graphviz: a layer is one more than the deepest dependency; within a layer nodes are
ordered by the mean position of their dependencies (one barycentre pass), which keeps the
usual pipeline shapes (chains, fan-in, diamonds) free of crossings.
"""
from __future__ import annotations

import html

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 132, 40, 46, 14, 8

STATUS_COLORS = {  # fill, stroke
    "succeeded": ("#e6f4ea", "#1e8e3e"), "failed": ("#fce8e6", "#d93025"), "running": ("#e8f0fe", "#1a73e8"),
    "waiting": ("#fef7e0", "#e37400"), "skipped": ("#f1f3f4", "#9aa0a6"), "cancelled": ("#f1f3f4", "#5f6368"),
    "pending": ("#ffffff", "#9aa0a6"), "budget_exceeded": ("#fce8e6", "#d93025"),
}
KIND_LABELS = {"prompt": "LLM", "python": "python", "code": "code", "sql": "SQL", "approval": "approval",
               "write": "write", "pipeline": "sub-pipeline"}


def layers(graph: dict[str, object], order=None) -> list[list[str]]:
    """Steps grouped by depth; ``graph`` maps a step to its dependencies."""
    order = list(order or graph)
    depth: dict[str, int] = {}

    def level(sid: str, seen=()) -> int:
        if sid in depth:
            return depth[sid]
        deps = [d for d in graph.get(sid, ()) if d in graph and d not in seen]
        depth[sid] = 1 + max((level(d, seen + (sid,)) for d in deps), default=-1)
        return depth[sid]

    for sid in order:
        level(sid)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for sid in order:
        out[depth[sid]].append(sid)
    position: dict[str, float] = {}
    for col in out:
        def key(sid):
            deps = [position[d] for d in graph.get(sid, ()) if d in position]
            return sum(deps) / len(deps) if deps else order.index(sid) / max(1, len(order))
        col.sort(key=key)
        for i, sid in enumerate(col):
            position[sid] = i
    return out


def svg(graph: dict[str, object], *, status: dict[str, str] | None = None, kinds: dict[str, str] | None = None,
        notes: dict[str, str] | None = None, order=None, max_width: int = 900) -> str:
    status, kinds, notes = status or {}, kinds or {}, notes or {}
    cols = layers(graph, order)
    if not cols:
        return ""
    height_n = max(len(c) for c in cols)
    width = PAD * 2 + len(cols) * NODE_W + (len(cols) - 1) * GAP_X
    height = PAD * 2 + height_n * NODE_H + (height_n - 1) * GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for ci, col in enumerate(cols):
        offset = (height_n - len(col)) * (NODE_H + GAP_Y) / 2
        for ri, sid in enumerate(col):
            pos[sid] = (PAD + ci * (NODE_W + GAP_X), PAD + offset + ri * (NODE_H + GAP_Y))
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="orc-dag" viewBox="0 0 {width} {height}" '
             f'width="{min(width, max_width)}" style="max-width:100%;height:auto;font-family:var(--jp-ui-font-family,'
             f'sans-serif)" role="img" aria-label="pipeline graph">',
             '<defs><marker id="orc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9aa0a6"/></marker></defs>']
    for sid, deps in graph.items():
        if sid not in pos:
            continue
        x2, y2 = pos[sid]
        for d in deps:
            if d not in pos:
                continue
            x1, y1 = pos[d]
            sx, sy, tx, ty = x1 + NODE_W, y1 + NODE_H / 2, x2 - 2, y2 + NODE_H / 2
            mid = (sx + tx) / 2
            parts.append(f'<path d="M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} {mid:.0f},{ty:.0f} {tx:.0f},{ty:.0f}" '
                         'fill="none" stroke="#9aa0a6" stroke-width="1.4" marker-end="url(#orc-arrow)"/>')
    for sid, (x, y) in pos.items():
        st = status.get(sid, "pending")
        fill, stroke = STATUS_COLORS.get(st, STATUS_COLORS["pending"])
        label = sid if len(sid) <= 18 else sid[:17] + "…"
        sub = KIND_LABELS.get(kinds.get(sid, ""), kinds.get(sid, ""))
        if sid in notes:
            sub = f"{sub} · {notes[sid]}" if sub else notes[sid]
        title = f"{sid}: {st}" + (f" ({kinds[sid]})" if sid in kinds else "")
        dash = ' stroke-dasharray="4 3"' if st == "pending" else ""
        parts.append(f'<g class="orc-node" data-step="{e(sid)}" data-status="{e(st)}"><title>{e(title)}</title>'
                     f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="7" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="1.6"{dash}/>'
                     f'<text x="{x + NODE_W / 2:.0f}" y="{y + 17:.0f}" text-anchor="middle" font-size="12.5" '
                     f'font-weight="600" fill="#202124">{e(label)}</text>'
                     f'<text x="{x + NODE_W / 2:.0f}" y="{y + 31:.0f}" text-anchor="middle" font-size="10" '
                     f'fill="#5f6368">{e(sub[:24])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def pipeline_svg(pipeline, status: dict[str, str] | None = None) -> str:
    kinds = {sid: s.kind for sid, s in pipeline.steps.items()}
    notes = {sid: "for each" for sid, s in pipeline.steps.items() if s.for_each is not None}
    return svg(pipeline.graph, status=status, kinds=kinds, notes=notes, order=list(pipeline.steps))


def text_graph(graph: dict[str, object], order=None) -> str:
    """A plain-text rendering for text/plain: one line per step with its dependencies."""
    lines = []
    for depth, col in enumerate(layers(graph, order)):
        for sid in col:
            deps = sorted(graph.get(sid, ()))
            lines.append(f"{'  ' * depth}{sid}" + (f"  <- {', '.join(deps)}" if deps else ""))
    return "\n".join(lines)
