"""Re-running the `project` pipeline with changed requirements asks the models only about what
changed (the request cache), rewrites only the files whose content changed, and removes the files
of stories that are gone."""
from __future__ import annotations

import os

from flagkit import ANALYSIS, IMPLEMENTATION, REQUIREMENTS, STORY, calls

import orchestrator_nb as orc

PLAN = {"milestones": [{"title": "Voting", "goal": "Team members vote once a day for lunch", "depends_on": []},
                       {"title": "Chat", "goal": "The winner is posted to the team chat", "depends_on": [1]}]}
PLAN_LATER = {"milestones": [PLAN["milestones"][0],
                             {"title": "Chat", "goal": "The winner and the vote count go to the chat",
                              "depends_on": [1]}]}
POST = {"title": "Post the winner", "story": "As a team member, I want to see the winner in chat, so that I know "
        "where to go", "acceptance_criteria": ["The winner is posted at 11:30", "The post names the place"]}
COUNT = dict(POST, title="Post the count", acceptance_criteria=["The post shows the vote count", "Ties are named"])
RULES = [
    {"match": r"Analyze the requirements", "reply": ANALYSIS},
    {"match": r"12:00.*Plan the work", "reply": PLAN_LATER},          # the changed requirements
    {"match": r"Plan the work", "reply": PLAN},
    {"match": r"Milestone: Voting", "reply": {"stories": [STORY]}},
    {"match": r"Goal: The winner is posted", "reply": {"stories": [POST]}},
    {"match": r"Goal: The winner and the vote count", "reply": {"stories": [COUNT]}},
    {"match": r"User story:", "reply": IMPLEMENTATION},
]


def _run(requirements: str):
    pipeline = orc.load("project")
    pipeline.models.update({"thinker": ["scripted:thinker"], "coder": ["scripted:coder"]})
    return orc.run(pipeline, {"requirements": requirements}, approval="auto")


def _asked(run_id: str) -> dict:
    """step -> number of calls a model really answered in that run (not from the cache)."""
    out: dict = {}
    for c in calls():
        if c["run_id"] == run_id and not c["cached"]:
            out[c["step_id"]] = out.get(c["step_id"], 0) + 1
    return out


def test_a_rerun_redoes_only_what_changed(scripted, tmp_path):
    scripted(RULES)
    first = _run(REQUIREMENTS)
    assert first.status == "succeeded", first.error
    assert _asked(first.run_id) == {"analysis": 1, "plan": 1, "stories": 2, "implementation": 2}
    folder = tmp_path / "project"
    voting = folder / "stories" / "m1-s1-vote-for-lunch.md"
    stamp = os.stat(voting).st_mtime_ns

    same = _run(REQUIREMENTS)                                   # nothing changed: no model is asked
    assert same.status == "succeeded" and _asked(same.run_id) == {}

    later = _run(REQUIREMENTS.replace("11:30", "12:00"))        # one milestone's goal changes
    assert later.status == "succeeded", later.error
    assert _asked(later.run_id) == {"analysis": 1, "plan": 1, "stories": 1, "implementation": 1}
    items = {(c["step_id"], c["cached"]) for c in calls() if c["run_id"] == later.run_id}
    assert ("stories", True) in items and ("implementation", True) in items   # Voting came from the cache
    assert os.stat(voting).st_mtime_ns == stamp                 # an unchanged file is not rewritten
    assert later["folder"]["removed"] == ["stories/m2-s1-post-the-winner.md",
                                          "implementation/m2-s1-post-the-winner.md", "prompts/m2-s1-post-the-winner.md"]
    assert sorted(p.name for p in (folder / "stories").iterdir()) == ["m1-s1-vote-for-lunch.md",
                                                                      "m2-s1-post-the-count.md"]
