"""Approvals waiting for a person, and recording the decision the sidebar sends.

Two kinds of waiting run exist, and the store shows both with the approval step ``waiting``:

- *deferred*: a headless run (policy ``defer``) ended ``waiting``; once decided,
  ``orc resume RUN`` continues it.
- *live*: a run still going on (``running``) in a kernel, its approval step asking its approver
  right now; ``store.queries.decide`` touches the run's inbox, so it goes on at once.

Both are read and decided through ``store.queries``; this module adds what the UI needs to say
which kind it is and how the run continues.
"""
from __future__ import annotations

from ..errors import RunNotFound, clip
from ..store.queries import decide, pending_approvals, resolve_run_id


def waiting_approvals(store, run_id: str | None = None) -> list[dict]:
    """Every approval waiting for a decision (``run_id``: a run's, an id or a unique prefix, as
    everywhere; RunNotFound for no such run), oldest first; ``live`` tells a live run from a stored one."""
    if not store.exists():
        if run_id:
            raise RunNotFound(f"no run '{clip(run_id)}': the store {store.path} has no runs yet")
        return []
    with store.connect() as con:  # one lock for the lookup and the read
        rows = pending_approvals(store, resolve_run_id(con, run_id) if run_id else None)
    for a in rows:
        a["live"] = a.get("run_status") == "running"
    return rows


def record_decision(store, run_id: str, step_id: str, decision: str, comment: str | None,
                    decided_by: str | None, *, edited=None, input=None) -> dict:
    """Record a decision made in the UI (mode ``ui``) and say how the run continues."""
    with store.connect() as con:  # one lock: the run's status and the decision belong together
        out = decide(store, run_id, step_id, decision, comment, decided_by, mode="ui", edited=edited, input=input)
        # a sub-pipeline's gate is resumed through its outermost run
        status = con.execute("SELECT status FROM runs WHERE run_id = ?", [out["resume"]]).fetchall()[0][0]
    live = status == "running"
    out["live"] = live
    if live:
        out["next"] = "the run goes on where it is running"
    else:
        out["next"] = f"orc resume {out['resume']}"
    return out
