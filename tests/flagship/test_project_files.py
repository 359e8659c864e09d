"""The python steps of the `project` pipeline: ids, dependencies, the story check, the files."""
from __future__ import annotations

import pytest

from orchestrator_nb.pipelines import names, path
from orchestrator_nb.pipelines.project_files import (destination, documents, finish_folder, outline,
                                                     slugify, split_story, story_list)

GOOD = {"title": "Vote for lunch",
        "story": "As a team member, I want to vote for one place a day, so that we agree fast",
        "acceptance_criteria": ["A second vote on the same day is refused", "Voting closes at 11:30"]}


def test_the_builtin_is_found_and_the_example_is_an_identical_copy():
    from pathlib import Path
    assert "project" in names()
    example = Path(__file__).resolve().parents[2] / "examples" / "project.yaml"
    assert example.read_text() == path("project").read_text(), \
        "examples/project.yaml must stay a copy of orchestrator_nb/pipelines/project.yaml"
    with pytest.raises(LookupError, match="built in: .*project"):
        path("nope")


def test_slugify():
    assert slugify("Vote once a day!") == "vote-once-a-day"
    assert slugify("Café & crème brûlée") == "cafe-creme-brulee"
    assert slugify("a" * 50) == "a" * 40 and slugify("!!!") == "item"
    assert len(slugify("word " * 30)) <= 40


def test_outline_numbers_milestones_and_keeps_only_backward_dependencies():
    plan = {"milestones": [
        {"title": "Places", "goal": "Add places", "depends_on": [1, 2]},      # itself and a later one
        {"title": "Voting", "goal": "Vote once a day", "depends_on": [1, 1]},
        {"title": "places", "goal": "again", "depends_on": []},               # a duplicate title
        {"title": "Chat", "goal": "Post the winner", "depends_on": [2, 9]},
        {"title": "Extra", "goal": "one too many", "depends_on": []}]}
    out = outline(plan, max_milestones=3)
    assert [(m["id"], m["title"], m["depends_on"]) for m in out["milestones"]] == [
        ("M1", "Places", []), ("M2", "Voting", ["M1"]), ("M3", "Chat", ["M2"])]
    assert out["milestones"][2]["slug"] == "m3-chat"
    notes = " ".join(out["notes"])
    assert "milestone 2, which is not an earlier one" in notes and "milestone 9" in notes
    assert "second milestone named 'places'" in notes and "'Extra' was dropped" in notes
    assert "**M2 Voting** (after M1): Vote once a day" in out["markdown"] and "Notes:" in out["markdown"]


def test_story_list_splits_the_sentence_and_numbers_stories_per_milestone():
    milestones = outline({"milestones": [{"title": "Voting", "goal": "g", "depends_on": []},
                                         {"title": "Chat", "goal": "g", "depends_on": [1]}]})["milestones"]
    two = dict(GOOD, title="Close the poll", story="As an admin, I want to close the poll, so that lunch starts.")
    stories = story_list(milestones, [{"stories": [GOOD, two, dict(GOOD, title="Twice")]}, {"stories": [GOOD]}])
    assert [(s["id"], s["slug"]) for s in stories] == [
        ("M1-S1", "m1-s1-vote-for-lunch"), ("M1-S2", "m1-s2-close-the-poll"), ("M2-S1", "m2-s1-vote-for-lunch")]
    assert (stories[1]["as_a"], stories[1]["i_want"], stories[1]["so_that"]) == (
        "admin", "to close the poll", "lunch starts")
    assert split_story("not a story") == {"as_a": "", "i_want": "", "so_that": ""}
    same_title = dict(two, title=GOOD["title"])  # a second story under the first one's title
    renamed = story_list(milestones[:1], [{"stories": [GOOD, same_title]}])
    assert [s["title"] for s in renamed] == [GOOD["title"], "To close the poll"]
    assert renamed[1]["slug"] == "m1-s2-to-close-the-poll"
    bare = story_list(milestones[:1], [{"stories": [dict(two, title="story 1")]}])
    assert bare[0]["title"] == "To close the poll"


def test_documents_are_a_pure_function_of_the_answers():
    milestones = outline({"milestones": [{"title": "Voting", "goal": "Vote daily", "depends_on": []}]})["milestones"]
    stories = story_list(milestones, [{"stories": [GOOD]}])
    impl = [{"files": [{"path": "/app/votes.py", "change": "Add the vote table"}, {"path": "app/votes.py",
                                                                                   "change": "twice"}],
             "tasks": ["Add the table", "add the table", "Write tests"], "prompt": "Implement voting with tests."}]
    analysis = {"goals": ["Agree on lunch"], "constraints": [], "risks": ["Nobody votes"], "open_questions": []}
    docs = documents("# Lunch poll\n\nVote for lunch.", analysis, milestones, stories, impl)
    assert docs == documents("# Lunch poll\n\nVote for lunch.", analysis, milestones, stories, impl)
    assert docs["paths"] == ["plan.md", "project.json", "stories/m1-s1-vote-for-lunch.md",
                             "implementation/m1-s1-vote-for-lunch.md", "prompts/m1-s1-vote-for-lunch.md"]
    plan = docs["plan"]
    assert plan.startswith("# Lunch poll\n") and "## Open questions\n\n_none_" in plan
    assert "| M1 | Voting | - | [M1-S1](stories/m1-s1-vote-for-lunch.md) |" in plan and "```mermaid" in plan
    story = docs["stories"][0]["text"]
    assert "As a **team member**, I want **to vote for one place a day**, so that **we agree fast**." in story
    assert "- [ ] Voting closes at 11:30" in story
    implementation = docs["implementation"][0]["text"]
    assert implementation.count("app/votes.py") == 1 and implementation.count("Add the table") == 1
    assert "Implement voting with tests." in docs["prompts"][0]["text"]
    project = docs["project"]
    assert project["title"] == "Lunch poll" and project["milestones"][0]["stories"] == ["M1-S1"]
    assert project["stories"][0]["files"] == [{"path": "app/votes.py", "change": "Add the vote table"}]


def test_finish_folder_removes_what_this_run_did_not_write(tmp_path):
    root = tmp_path / "project"
    for rel in ("stories/m1-s1-a.md", "stories/m1-s2-old.md", "prompts/m1-s2-old.md", "notes/mine.md",
                "stories/keep.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    out = finish_folder(destination(str(tmp_path), "project"), ["plan.md", "stories/m1-s1-a.md"])
    assert out == {"folder": str(root.resolve()), "files": ["plan.md", "stories/m1-s1-a.md"],
                   "removed": ["stories/m1-s2-old.md", "prompts/m1-s2-old.md"]}
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "notes/mine.md", "stories/keep.txt", "stories/m1-s1-a.md"]
    for bad in ("../elsewhere", "/etc", ".", ""):
        with pytest.raises(ValueError, match="must be a subfolder of the output directory"):
            destination(str(tmp_path / "out"), bad)
