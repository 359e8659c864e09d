"""The `project` pipeline against fake Anthropic and OpenAI servers (the real SDKs over HTTP):
routing by task, a failed quality check fed back to the model, a reviewer's requested changes."""
from __future__ import annotations

import json

import pytest
from flagkit import ANALYSIS, IMPLEMENTATION, PLAN_ONE, PLAN_TWO, STORIES, STORY, answered, calls, rows

from orchestrator_nb.cli.main import main

# the anthropic SDK warns that claude-sonnet-4-5 reaches end of life in November 2026
pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated:DeprecationWarning")


def _run(capsys, requirements, *extra) -> dict:
    code = main(["run", "project", "-p", f"requirements=@{requirements}", "--json", *extra])
    out = json.loads(capsys.readouterr().out)
    out["exit"] = code
    return out


def test_routing_sends_analysis_and_plan_to_one_vendor_and_code_to_the_other(
        fake_anthropic, fake_openai, requirements, tmp_path, capsys):
    fake_anthropic.push({"data": ANALYSIS}, {"data": PLAN_ONE}, {"data": STORIES})
    fake_openai.push({"data": IMPLEMENTATION})
    result = _run(capsys, requirements, "--approval", "auto", "-p", "max_milestones=1")
    assert result["exit"] == 0, result["error"]

    routed = {(c["step_id"], f"{c['provider']}:{c['model']}") for c in calls()}
    assert routed == {("analysis", "anthropic:claude-sonnet-4-5"), ("plan", "anthropic:claude-sonnet-4-5"),
                      ("stories", "anthropic:claude-sonnet-4-5"), ("implementation", "openai:gpt-4.1")}
    assert all(c["error"] is None and not c["cached"] for c in calls())
    assert (fake_anthropic.count, fake_openai.count) == (3, 1)
    # the code model was asked about the story, and its prompt is in the folder
    assert "vote for one place a day" in json.dumps(fake_openai.requests[0].body)
    prompt = (tmp_path / "project" / "prompts" / "m1-s1-vote-for-lunch.md").read_text()
    assert IMPLEMENTATION["prompt"] in prompt
    written = sorted(p.relative_to(tmp_path / "project").as_posix() for p in (tmp_path / "project").rglob("*")
                     if p.is_file())
    assert written == ["implementation/m1-s1-vote-for-lunch.md", "plan.md", "project.json",
                       "prompts/m1-s1-vote-for-lunch.md", "stories/m1-s1-vote-for-lunch.md"]
    artifacts = rows("SELECT step_id, rel_path, sha256 FROM artifacts ORDER BY rel_path")
    assert [a["rel_path"] for a in artifacts] == [f"project/{w}" for w in written]   # every file is a row
    project = json.loads((tmp_path / "project" / "project.json").read_text())
    assert project["stories"][0]["files"] == IMPLEMENTATION["files"]


def test_a_story_that_fails_the_check_is_written_again_with_the_failure_fed_back(
        fake_anthropic, fake_openai, requirements, tmp_path, capsys):
    circular = {"stories": [dict(STORY, story="As a team member, I want to vote, so that to vote")]}
    fake_anthropic.push({"data": ANALYSIS}, {"data": PLAN_ONE}, {"data": circular}, {"data": STORIES})
    fake_openai.push({"data": IMPLEMENTATION})
    result = _run(capsys, requirements, "--approval", "auto", "-p", "max_milestones=1")
    assert result["exit"] == 0, result["error"]

    first, second = answered("stories")
    assert "so that to vote" in first["response_text"]
    messages = second["request"]["messages"]
    # asked afresh (`retry_fresh`): the failure then the task, without the rejected answer a small
    # model would copy
    [turn] = messages
    assert turn["role"] == "user" and turn["content"].endswith(first["request"]["messages"][0]["content"])
    assert turn["content"].startswith("Try 2. An earlier answer to this did not pass a quality check")
    assert "the 'so that' part must say why the user wants it" in turn["content"]
    assert "so that to vote" not in json.dumps(messages)
    attempts = rows("SELECT attempt, status, error FROM steps WHERE step_id = 'stories' AND item_index = 0 "
                    "ORDER BY attempt")
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "failed"), (2, "succeeded")]
    assert attempts[0]["error"].startswith("check failed: [benefit] story 1: the 'so that' part must say why")
    story = (tmp_path / "project" / "stories" / "m1-s1-vote-for-lunch.md").read_text()
    assert "- [ ] A second vote on the same day is refused" in story


def test_requested_changes_regenerate_the_plan_with_the_comment(
        fake_anthropic, fake_openai, requirements, tmp_path, capsys):
    comment = "Say that the winner is posted to the chat"
    fake_anthropic.push({"data": ANALYSIS}, {"data": PLAN_ONE}, {"data": PLAN_TWO}, {"data": STORIES})
    fake_openai.push({"data": IMPLEMENTATION})

    first = _run(capsys, requirements, "-p", "max_milestones=1")   # headless: stops at the first gate
    run_id = first["run_id"]
    assert (first["exit"], first["status"]) == (3, "waiting")
    assert main(["approve", run_id, "review_analysis"]) == 0
    assert main(["resume", run_id, "--quiet"]) == 3             # the plan waits for its review
    assert main(["approve", run_id, "review_plan", "--changes", "--comment", comment]) == 0
    assert main(["resume", run_id, "--quiet"]) == 3             # the revised plan is shown again
    assert main(["approve", run_id, "review_plan"]) == 0
    assert main(["resume", run_id, "--quiet"]) == 0
    capsys.readouterr()

    v1, v2 = answered("plan")
    assert json.loads(v1["response_text"]) == PLAN_ONE and json.loads(v2["response_text"]) == PLAN_TWO
    ask = v2["request"]["messages"]
    assert json.loads(ask[1]["content"]) == PLAN_ONE
    assert f"A reviewer requested changes:\n{comment}" in ask[2]["content"]
    decisions = rows("SELECT step_id, decision, comment FROM approvals ORDER BY decided_at")
    assert [(d["step_id"], d["decision"]) for d in decisions] == [
        ("review_analysis", "approved"), ("review_plan", "changes_requested"), ("review_plan", "approved")]
    assert decisions[1]["comment"] == comment
    plan = (tmp_path / "project" / "plan.md").read_text()
    assert "| M1 | Voting and chat | - |" in plan
    assert len(list((tmp_path / "project" / "stories").glob("*.md"))) == 1
