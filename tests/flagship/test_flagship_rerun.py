"""Re-running the `project` pipeline with changed requirements asks the models only about what
changed (the request cache), rewrites only the files whose content changed, and removes the files
of stories that are gone."""
from __future__ import annotations

import os

from flagkit import ANALYSIS, IMPLEMENTATION, REQUIREMENTS, STORY, calls

import orchestrator_nb as orc

# one milestone per requirement line (flagkit.REQUIREMENTS has three); the changed requirements
# (11:30 -> 12:00) change the second line only
PLACES = {"goal": "Team members add lunch places", "title": "Places"}
VOTING = {"goal": "Team members vote once a day for lunch", "title": "Voting"}
NOON = {"goal": "Team members vote once a day until noon", "title": "Voting"}
CHAT = {"goal": "The winner is posted to the team chat", "title": "Chat"}
ADD = {"title": "Add a place", "story": "As a team member, I want to add a lunch place, so that others can pick it",
       "acceptance_criteria": ["A place has a name and a cuisine"]}
POST = {"title": "Post the winner", "story": "As a team member, I want to see the winner in chat, so that I know "
        "where to go", "acceptance_criteria": ["The winner is posted at 11:30", "The post names the place"]}
BEFORE_NOON = dict(STORY, title="Vote before noon", acceptance_criteria=["Voting closes at 12:00"])
RULES = [
    {"match": r"Analyze the requirements", "reply": ANALYSIS},
    {"match": r"A milestone builds.*- Anyone on the team", "reply": PLACES},
    {"match": r"A milestone builds.*- Each person.*11:30", "reply": VOTING},
    {"match": r"A milestone builds.*- Each person.*12:00", "reply": NOON},
    {"match": r"A milestone builds.*- The winner", "reply": CHAT},
    {"match": r"Milestone: Places", "reply": {"stories": [ADD]}},
    {"match": r"Goal: Team members vote once a day for lunch", "reply": {"stories": [STORY]}},
    {"match": r"Goal: Team members vote once a day until noon", "reply": {"stories": [BEFORE_NOON]}},
    {"match": r"Milestone: Chat", "reply": {"stories": [POST]}},
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
    assert _asked(first.run_id) == {"analysis": 1, "plan": 3, "stories": 3, "implementation": 3}
    folder = tmp_path / "project"
    places = folder / "stories" / "m1-s1-add-a-place.md"
    stamp = os.stat(places).st_mtime_ns

    same = _run(REQUIREMENTS)                                   # nothing changed: no model is asked
    assert same.status == "succeeded" and _asked(same.run_id) == {}

    later = _run(REQUIREMENTS.replace("11:30", "12:00"))        # one requirement line changes
    assert later.status == "succeeded", later.error
    assert _asked(later.run_id) == {"analysis": 1, "plan": 1, "stories": 1, "implementation": 1}
    items = {(c["step_id"], c["cached"]) for c in calls() if c["run_id"] == later.run_id}
    assert {("plan", True), ("stories", True), ("implementation", True)} <= items   # the others from the cache
    assert os.stat(places).st_mtime_ns == stamp                 # an unchanged file is not rewritten
    assert later["folder"]["removed"] == ["stories/m2-s1-vote-for-lunch.md",
                                          "implementation/m2-s1-vote-for-lunch.md", "prompts/m2-s1-vote-for-lunch.md"]
    assert sorted(p.name for p in (folder / "stories").iterdir()) == [
        "m1-s1-add-a-place.md", "m2-s1-vote-before-noon.md", "m3-s1-post-the-winner.md"]
