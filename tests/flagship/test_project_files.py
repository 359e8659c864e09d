"""The python steps of the `project` pipeline: ids, dependencies, the story check, the files."""
from __future__ import annotations

import pytest

from orchestrator_nb.pipelines import names, path
from orchestrator_nb.pipelines.project_files import (destination, documents, finish_folder, outline, parts,
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


def test_parts_cut_the_requirements_in_order_keeping_sections_together():
    brief = ("# Lunch poll\n\nA web app for the team.\n\n- Add a place.\n- Vote once a day;\n  voting closes at 11:30.\n"
             "* Post the winner.\n1. Works on phones.\n")
    out = parts(brief, 3)
    assert [p["lines"] for p in out] == [["Add a place.", "Vote once a day; voting closes at 11:30."],
                                         ["Post the winner."], ["Works on phones."]]
    assert out[0]["text"] == "- Add a place.\n- Vote once a day; voting closes at 11:30." and out[0]["n"] == 1
    assert [len(p["lines"]) for p in parts(brief, 2)] == [2, 2] and len(parts(brief, 9)) == 4
    sections = "# X\n## Voting\n- Add a place.\n- Vote.\n- Close at 11:30.\n## Chat\n- Post the winner.\n"
    assert [p["lines"] for p in parts(sections, 3)] == [["Add a place.", "Vote.", "Close at 11:30."],
                                                        ["Post the winner."]]
    prose = "# Poll\nThe team votes for lunch. The winner is posted! Phones work too."
    assert [p["lines"] for p in parts(prose, 2)] == [["The team votes for lunch.", "The winner is posted!"],
                                                     ["Phones work too."]]
    assert parts("Just one line", 3)[0]["lines"] == ["Just one line"]
    for empty in ("", "# Only a title\n"):
        with pytest.raises(ValueError, match="the requirements have no text to plan"):
            parts(empty, 3)


def test_outline_numbers_the_milestones_in_order_and_names_each_once():
    cut = parts("- Add a place.\n- Vote once a day.\n- Post the winner.\n- Works on phones.", 4)
    answers = [{"title": "Places", "goal": "Team members add places"},
               {"title": "places", "goal": "Each person votes once a day"},    # a title taken already
               "not an answer",
               {"title": "Phones", "goal": "It works on phones"}]
    out = outline(cut, answers)
    assert [(m["id"], m["title"], m["depends_on"]) for m in out["milestones"]] == [
        ("M1", "Places", []), ("M2", "Each person votes once a", ["M1"]), ("M3", "Post the winner", ["M2"]),
        ("M4", "Phones", ["M3"])]
    assert out["milestones"][2]["goal"] == "Post the winner." and out["milestones"][2]["slug"] == "m3-post-the-winner"
    assert out["milestones"][1]["requirements"] == ["Vote once a day."]
    assert out["notes"] == ["M2 was also named 'places'; renamed 'Each person votes once a'"]
    assert "**M2 Each person votes once a** (after M1): Each person votes once a day\n  - Vote once a day." \
        in out["markdown"] and "Notes:" in out["markdown"]


def test_story_list_splits_the_sentence_and_numbers_stories_per_milestone():
    milestones = outline(parts("- Vote.\n- Post the winner.", 2),
                         [{"title": "Voting", "goal": "g"}, {"title": "Chat", "goal": "g"}])["milestones"]
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
    for label in ("story 1", "As a", "As a, I want, so that"):   # labels and the template copied
        assert story_list(milestones[:1], [{"stories": [dict(two, title=label)]}])[0]["title"] == "To close the poll"


def test_documents_are_a_pure_function_of_the_answers():
    milestones = outline(parts("- Vote daily.", 1), [{"title": "Voting", "goal": "Vote daily"}])["milestones"]
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
