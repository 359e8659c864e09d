"""Answers and store helpers for the flagship tests (imported as `flagkit`)."""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = """# Lunch poll

A small web app where a team proposes lunch places and votes once a day.
- Anyone on the team can add a place (name, cuisine, distance).
- Each person gets one vote per day; voting closes at 11:30.
- The winner is posted to the team chat channel.
"""

ANALYSIS = {"users": ["team member"], "goals": ["Agree on a lunch place every day"], "constraints": ["Works on phones"],
            "risks": ["Few people vote"], "open_questions": ["Who may add places?"]}
# the plan is asked one milestone per part of the requirements (run with -p max_milestones=1: one call)
PLAN_ONE = {"goal": "Team members vote once a day for lunch", "title": "Voting"}
PLAN_TWO = {"goal": "Team members vote for lunch and the winner is posted to the team chat", "title": "Voting and chat"}
STORY = {"title": "Vote for lunch",
         "story": "As a team member, I want to vote for one place a day, so that we agree fast",
         "acceptance_criteria": ["A second vote on the same day is refused", "Voting closes at 11:30"]}
STORIES = {"stories": [STORY]}
IMPLEMENTATION = {"files": [{"path": "app/votes.py", "change": "Add the vote table"}],
                  "tasks": ["Add the vote table", "Refuse a second vote"],
                  "prompt": "Implement daily voting in app/votes.py with tests for the 11:30 cut-off."}


def rows(query: str) -> list[dict]:
    """Rows of a query over this test's store."""
    from orchestrator_nb.api import sql
    cols, values = sql(query, limit=None)
    return [dict(zip(cols, r)) for r in values]


def calls(step_id: str | None = None) -> list[dict]:
    """llm_calls rows (of one step), oldest first, with ``request`` parsed."""
    where = f"WHERE step_id = '{step_id}'" if step_id else ""
    out = rows(f"SELECT * FROM llm_calls {where} ORDER BY created_at, call_id")
    for r in out:
        if isinstance(r["request"], str):
            r["request"] = json.loads(r["request"])
    return out


def answered(step_id: str | None = None) -> list[dict]:
    """The calls that got an answer (not the recorded fallbacks past a missing key)."""
    return [c for c in calls(step_id) if c["error"] is None]
