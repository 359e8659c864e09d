"""Reading the store, and the few writes front-ends make (approval decisions).

Every function opens the store briefly through ``Store.connect`` (which merges journals), so
results include the latest records of runs still going on in other processes.
"""
from __future__ import annotations

import json
import time

from ..errors import OrcError, RunNotFound, UsageError, clip

RUN_COLUMNS = ("run_id", "pipeline", "status", "source", "started_at", "ended_at", "cost_usd", "tokens_in",
               "tokens_out", "error", "parent_run_id", "notebook_path", "outdir", "nb_run_id")


def _rows(con, sql: str, params=()) -> list[dict]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def resolve_run_id(con, ref: str) -> str:
    """A full run id or a unique prefix (like git) -> the run id."""
    if ref is not None and not isinstance(ref, str):
        raise UsageError(f"a run id is text (see `orc runs`), not {type(ref).__name__}")
    ref = (ref or "").strip()
    if not ref:
        raise UsageError("give a run id (see `orc runs`)")
    rows = con.execute("SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY started_at DESC LIMIT 3",
                       [ref]).fetchall()
    exact = [r[0] for r in rows if r[0] == ref]
    if exact:
        return exact[0]
    if not rows:
        raise RunNotFound(f"no run '{clip(ref)}' in the store (see `orc runs`)")
    if len(rows) > 1:
        raise UsageError(f"run id '{clip(ref)}' is ambiguous: {', '.join(r[0] for r in rows)}... (type more of it)")
    return rows[0][0]


def run_filter(status: str | None = None, pipeline: str | None = None,
               top_level: bool = False) -> tuple[str, list]:
    """(`WHERE ...` or "", params) selecting runs by status, pipeline and top level."""
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if pipeline:
        where.append("pipeline = ?")
        params.append(pipeline)
    if top_level:
        where.append("parent_run_id IS NULL")
    return ("WHERE " + " AND ".join(where) if where else ""), params


def list_runs(store, limit: int = 20, offset: int = 0, status: str | None = None,
              pipeline: str | None = None, top_level: bool = False) -> list[dict]:
    for name, value, least in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise UsageError(f"{name} must be a whole number of at least {least}, not {clip(repr(value))}")
    limit, offset = min(limit, 2 ** 62), min(offset, 2 ** 62)  # DuckDB's BIGINT: more than any store holds
    where, params = run_filter(status, pipeline, top_level)
    sql = (f"SELECT {', '.join(RUN_COLUMNS)} FROM runs {where} "
           "ORDER BY started_at DESC NULLS LAST, run_id LIMIT ? OFFSET ?")
    with store.connect() as con:
        return _rows(con, sql, params + [int(limit), int(offset)])


def count_runs(store, status: str | None = None, pipeline: str | None = None, top_level: bool = False) -> int:
    where, params = run_filter(status, pipeline, top_level)
    with store.connect() as con:
        return con.execute(f"SELECT count(*) FROM runs {where}", params).fetchall()[0][0]


def _run_and_steps(con, ref: str, columns: str = "*", order: str = "started_at NULLS LAST, step_id"):
    """(run row, its step rows) with JSON columns decoded."""
    run_id = resolve_run_id(con, ref)
    run = _rows(con, "SELECT * FROM runs WHERE run_id = ?", [run_id])[0]
    run["inputs"] = _json(run.get("inputs"))
    steps = _rows(con, f"SELECT {columns} FROM steps WHERE run_id = ? ORDER BY {order}, item_index, attempt",
                  [run_id])
    for s in steps:
        s["output"] = _json(s["output"])
    return run, steps


def run_detail(store, ref: str, calls: bool = True) -> dict:
    """One run with its steps (every attempt), LLM calls, approvals, artifacts and events."""
    with store.connect() as con:
        run, steps = _run_and_steps(con, ref)
        run_id = run["run_id"]
        out = {"run": run, "steps": steps,
               "approvals": _rows(con, "SELECT * FROM approvals WHERE run_id = ? ORDER BY decided_at", [run_id]),
               "artifacts": _rows(con, "SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at", [run_id]),
               "events": _rows(con, "SELECT * FROM events WHERE run_id = ? ORDER BY ts", [run_id]),
               "children": _rows(con, f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE parent_run_id = ? "
                                      "ORDER BY started_at", [run_id])}
        for a in out["approvals"]:
            a["edited"], a["input"] = _json(a.get("edited")), _json(a.get("input"))
        if calls:
            rows = _rows(con, "SELECT * FROM llm_calls WHERE run_id = ? ORDER BY created_at", [run_id])
            for c in rows:
                c["request"] = _json(c["request"])
            out["llm_calls"] = rows
        # what a reviewer must decide now: this run's approvals and its sub-pipelines'
        out["pending"] = with_commands(pending_approvals(store, run_id, tree=True), _outermost(con, run_id))
        out["tool_calls"] = tool_calls(con, run_id)
        return out


def tool_calls(con, run_id: str) -> list[dict]:
    """A run's tool calls in the order they were made, arguments and results decoded."""
    # a turn's calls in the order the model asked for them (they may finish in any order)
    rows = _rows(con, "SELECT * FROM tool_calls WHERE run_id = ? ORDER BY min(created_at) OVER (PARTITION BY "
                      "step_id, item_index, attempt, turn), step_id, item_index, attempt, turn, position", [run_id])
    for c in rows:
        c["arguments"], c["result"] = _json(c["arguments"]), _json(c["result"])
    return rows


def _outermost(con, run_id: str) -> str:
    """The run `orc resume` continues: the outermost one (a sub-pipeline resumes with it)."""
    top = run_id
    for _ in range(20):
        parent = con.execute("SELECT parent_run_id FROM runs WHERE run_id = ?", [top]).fetchall()
        if not parent or not parent[0][0]:
            break
        top = parent[0][0]
    return top


def pending_approvals(store, run_id: str | None = None, tree: bool = False) -> list[dict]:
    """Approval steps whose latest attempt is `waiting`, with the question and what to show.
    ``tree``: with ``run_id``, also those of its sub-pipeline runs (at any depth)."""
    sql = """
        SELECT s.run_id, s.step_id, coalesce(TRY_CAST(s.output->>'round' AS INTEGER), s.attempt) AS round, s.output, s.started_at, r.pipeline,
               r.status AS run_status, r.source, r.parent_run_id, s.item_index
        FROM steps s JOIN runs r USING (run_id)
        WHERE s.status = 'waiting' AND s.output->>'question' IS NOT NULL
          AND (s.item_index = -1 OR s.output->>'tool' IS NOT NULL)
          AND s.attempt = (SELECT max(attempt) FROM steps t WHERE t.run_id = s.run_id AND t.step_id = s.step_id
                           AND t.item_index = s.item_index)
          AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.run_id = s.run_id AND a.step_id = s.step_id
                          AND a.round = coalesce(TRY_CAST(s.output->>'round' AS INTEGER), s.attempt))
          AND r.status IN ('running', 'waiting')
    """
    if run_id and tree:
        sql += " AND s.run_id IN (SELECT run_id FROM tree)"
        sql = _TREE.format(root="?") + sql
    elif run_id:
        sql += " AND s.run_id = ?"
    sql += " ORDER BY s.started_at"
    with store.connect() as con:
        rows = _rows(con, sql, [run_id] if run_id else [])
    for r in rows:
        info = _json(r.pop("output")) or {}
        r["question"] = info.get("question") if isinstance(info, dict) else None
        r["show"] = info.get("show") if isinstance(info, dict) else None
        r["revise"] = info.get("revise") if isinstance(info, dict) else None
        r["tool"] = info.get("tool") if isinstance(info, dict) else None  # a tool call waiting for approval
        r["input_schema"] = info.get("input_schema") if isinstance(info, dict) else None  # the gate's form
        r["editable"] = bool(info.get("editable")) if isinstance(info, dict) else False  # approve with edits
    return rows


# a run and its sub-pipeline runs, at any depth
_TREE = """WITH RECURSIVE tree(run_id) AS (
    SELECT {root} UNION SELECT r.run_id FROM runs r JOIN tree t ON r.parent_run_id = t.run_id)
"""


def with_commands(pending: list[dict], top: str) -> list[dict]:
    """Each pending approval with the commands that decide it and continue the run ``top``."""
    for a in pending:
        a["approve"] = f"orc approve {a['run_id']} {a['step_id']}"
        a["request_changes"] = f'orc approve {a["run_id"]} {a["step_id"]} --changes --comment "..."'
        a["reject"] = f"orc approve {a['run_id']} {a['step_id']} --reject"
        a["resume"] = f"orc resume {top}"
    return pending


def find_decision(store, run_id: str, step_id: str, round_: int):
    from ..core.approvals import Decision
    if not store.exists():
        return None
    with store.connect() as con:
        rows = _rows(con, "SELECT decision, comment, decided_by, mode, epoch(decided_at) AS at, edited, input "
                          "FROM approvals WHERE run_id = ? AND step_id = ? AND round = ?", [run_id, step_id, round_])
    if not rows:
        return None
    r = rows[0]
    return Decision(r["decision"], r["comment"], r["decided_by"], r["mode"], r["at"],
                    edited=_json(r["edited"]), input=_json(r["input"]))


DECISION_WORDS = {"approve": "approved", "approved": "approved", "reject": "rejected", "rejected": "rejected",
                  "changes": "changes_requested", "changes_requested": "changes_requested",
                  "request_changes": "changes_requested"}


def decide(store, ref: str, step_id: str, decision: str, comment: str | None = None,
           decided_by: str | None = None, mode: str = "cli", *, edited=None, input=None,
           tool_args: bool = False, edited_text: str | None = None) -> dict:
    """Record a decision for a pending approval. The waiting run picks it up (live runs at once,
    stored runs on `orc resume`). Returns {run_id, step_id, round, decision}.

    ``edited``: the reviewer's version of the output under review (for a tool call: the arguments to
    run it with); ``input``: what they typed into the gate's form. Both are stored as JSON beside the
    decision (None: not given). ``tool_args``: ``edited`` was given as a tool call's arguments
    (`--args`), which only a tool call's approval takes. ``edited_text``: the edit as the file gave it
    (``edited`` is that parsed as JSON when it parses): what an edit of a text output is."""
    word = DECISION_WORDS.get(str(decision).lower())
    if word is None:
        raise UsageError(f"unknown decision '{decision}' (use approve, reject or changes)")
    if word == "changes_requested" and not (comment or "").strip():
        raise UsageError("requesting changes needs a comment saying what to change (--comment TEXT)")
    with store.connect() as con:
        run_id = resolve_run_id(con, ref)
        pick = ("SELECT attempt, status, output->>'question' AS question, output->'input_schema' AS form, "
                "output->>'editable' AS editable, output->'edit_schema' AS edits, output->'tool' AS tool, "
                "output->>'revise' AS revise, TRY_CAST(output->>'round' AS INTEGER) "
                "AS round FROM steps WHERE run_id = ? AND step_id = ? AND {} ORDER BY attempt DESC LIMIT 1")
        rows = _rows(con, pick.format("item_index = -1"), [run_id, step_id])
        if not rows or rows[0]["status"] != "waiting":  # a for_each item's tool call waiting for approval?
            rows = _rows(con, pick.format("item_index >= 0 AND status = 'waiting' AND output->>'tool' IS NOT NULL "
                                          "AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.run_id = steps.run_id AND "
                                          "a.step_id = steps.step_id AND a.round = TRY_CAST(steps.output->>'round' AS "
                                          "INTEGER))"), [run_id, step_id]) or rows
        if not rows:
            known = [r[0] for r in con.execute("SELECT DISTINCT step_id FROM steps WHERE run_id = ? AND status = "
                                               "'waiting'", [run_id]).fetchall()]
            raise UsageError(f"run {run_id} has no step '{step_id}'"
                             + (f" (waiting: {', '.join(known)})" if known else ""))
        round_, status = rows[0]["round"] or rows[0]["attempt"], rows[0]["status"]  # a tool call's round is its own
        if status == "waiting" and rows[0]["question"] is None:
            child = con.execute("SELECT r.run_id, s.step_id FROM runs r JOIN steps s USING (run_id) WHERE "
                                "r.parent_run_id = ? AND s.status = 'waiting' AND s.item_index = -1 "
                                "AND s.output->>'question' IS NOT NULL LIMIT 1", [run_id]).fetchall()
            where = f" (the approval waiting is `orc approve {child[0][0]} {child[0][1]}`)" if child else ""
            raise OrcError(f"step '{step_id}' of run {run_id} is a sub-pipeline, not an approval{where}")
        if status != "waiting":
            raise OrcError(f"step '{step_id}' of run {run_id} is not waiting for approval (it is {status})")
        if tool_args and rows[0]["tool"] is None:
            raise UsageError(f"--args is for a tool call's approval; step '{step_id}' reviews an output (to change "
                             "that output, approve with --edit FILE)")
        if edited_text is not None and _json(rows[0].get("edits")) == TEXT:
            edited = edited_text
        _check_extras(rows[0], word, edited, input)
        taken = con.execute("SELECT decision FROM approvals WHERE run_id = ? AND step_id = ? AND round = ?",
                            [run_id, step_id, round_]).fetchall()
        if taken:
            raise OrcError(f"step '{step_id}' of run {run_id} was already decided: {taken[0][0]}")
        from .merge import ts
        now = time.time()
        top = _outermost(con, run_id)  # `orc resume` continues the outermost run
        con.execute("INSERT INTO approvals (run_id, step_id, round, decision, comment, decided_by, mode, "
                    "decided_at, edited, input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, step_id, round_, word, comment, decided_by, mode, ts(now),
                     None if edited is None else json.dumps(edited, ensure_ascii=False),
                     None if input is None else json.dumps(input, ensure_ascii=False)])
        con.execute("INSERT INTO events VALUES (?, ?, 'info', ?, ?, 'approval', -1, ?)",
                    [run_id, ts(now), step_id, f"{word} by {decided_by or mode}" + (f": {comment}" if comment else ""),
                     round_])
    store.touch_inbox(run_id)
    return {"run_id": run_id, "step_id": step_id, "round": round_, "decision": word, "resume": top}


TEXT = {"type": "string"}  # the edit schema of a text output


def _check_extras(row: dict, word: str, edited, form) -> None:
    """An approval's form values must fit its schema; edits need an output under review."""
    schema = _json(row.get("form"))
    if row.get("tool") is not None:  # a tool call: an edit is the arguments to run it with
        if edited is not None and not isinstance(edited, dict):
            raise UsageError("a tool call's edited arguments must be a JSON object")
        if form is not None:
            raise UsageError("input: a tool call has no form (leave out the input)")
        return
    if edited is not None and str(row.get("editable")).lower() != "true":
        raise UsageError("this gate reviews no step's output, so there is nothing to edit (leave out the edit)")
    if word != "approved":
        return
    edits = _json(row.get("edits"))
    if edited is not None and edits:
        from ..core.schemas import problem
        wrong = problem(edited, edits)
        if wrong:
            kind = "text" if edits == TEXT else "what its output schema allows"
            raise UsageError(f"edited: {wrong} (the edit replaces the output of '{row.get('revise')}': give {kind})")
    if schema:
        from ..core.schemas import problem
        wrong = problem(form if form is not None else {}, schema)
        if wrong:
            fields = ", ".join((schema.get("properties") or {}).keys())
            raise UsageError(f"input: {wrong} (this gate's form has: {fields})")
    elif form is not None:
        raise UsageError("input: this gate has no form (leave out the input)")


def resume_state(store, ref: str) -> tuple[dict, list[dict]]:
    """The run row and every step row, for `resume`."""
    with store.connect() as con:
        run, steps = _run_and_steps(con, ref, "step_id, item_index, attempt, status, output, cached, model",
                                    order="step_id")
        run_id = run["run_id"]
        # what the run has spent so far, per step (a crashed run never wrote its totals)
        run["usage"] = {r["step_id"]: (r["tin"] or 0, r["tout"] or 0, r["cost"] or 0.0) for r in _rows(
            con, "SELECT step_id, sum(tokens_in) AS tin, sum(tokens_out) AS tout, sum(cost_usd) AS cost "
                 "FROM llm_calls WHERE run_id = ? AND NOT coalesce(cached, false) GROUP BY step_id", [run_id])}
        return run, steps


# what a user's query may be: reading the store, or exporting what it reads (COPY ... TO a file)
READING = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "COPY", "CALL"})


def sql(store, query: str, limit: int | None = 1000) -> tuple[list[str], list[tuple]]:
    """Run a user's SQL against the store (`%orc sql`, `orc sql`, `orc.sql`). Returns (columns,
    rows). It only reads: a statement that would change the store is refused, and the query runs in
    a transaction that is rolled back (a `COPY ... FROM` or a sequence's `nextval` leaves no trace)."""
    import duckdb
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"limit must be a whole number of at least 1 (or None for every row), not "
                         f"{clip(repr(limit))}")
    if not isinstance(query, str):
        raise UsageError(f"the query must be SQL text, not {type(query).__name__}")
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as e:  # a syntax error, as DuckDB words it
        raise UsageError(f"SQL: {_first_line(e)}") from None
    if not statements:
        raise UsageError("no SQL statement given (for example: SELECT * FROM runs LIMIT 5)")
    for statement in statements:
        kind = statement.type.name
        if kind not in READING:
            raise UsageError(f"orc sql only reads the store: a {kind} statement would change it (use SELECT, "
                             "WITH, DESCRIBE, SHOW, EXPLAIN or COPY (SELECT ...) TO 'file'; to change data, "
                             "work on a copy of the file with duckdb)")
    with store.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            cur = con.execute(query)
            if cur is None or cur.description is None:
                return [], []
            cols = [d[0] for d in cur.description]
            rows = cur.fetchmany(min(limit, 2 ** 31 - 1)) if limit else cur.fetchall()
            return cols, rows
        except duckdb.Error as e:  # about the user's SQL (a missing table, a type): one line
            raise UsageError(f"SQL: {_first_line(e)}") from None
        finally:
            con.execute("ROLLBACK")


def _first_line(error) -> str:
    return clip(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, 500)
