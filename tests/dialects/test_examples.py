"""Acceptance 1: the twelve py-orc example pipelines, run with `orc run` in a subprocess against
the scripted provider; files, step statuses and skipped branches are read back from the store."""
from __future__ import annotations

import json
import re

import pytest
from pyorc_harness import EXAMPLES, run_cli
from pyorc_scripts import (BRIEF, BUILD, CAMPAIGN, CHAPTERS, CONTRACT, HELLO, INVENTORY, PUBLISH, SUPPORT_BILLING,
                           SUPPORT_TECHNICAL, TRIAGE, taglines)

pytestmark = pytest.mark.slow

OK = "succeeded"


def test_twelve_examples_exist():
    assert len(sorted(EXAMPLES.glob("[0-9][0-9]_*.yaml"))) == 12


def test_01_hello_report_maps_model_names(tmp_path):
    run = run_cli("01_hello_report.yaml", HELLO, workdir=tmp_path,
                  models="gpt-5-mini=scripted:gpt5,claude-sonnet-4-20250514=scripted:claude")
    assert run.status == OK
    assert run.steps() == {"execution": OK, "draft": OK, "title": OK, "save": OK}
    text = run.text("reports/green-tea.md")
    assert text.startswith("# All About Green Tea Today\n")
    assert "Green tea is lightly oxidised." in text
    assert re.search(r"_Written for beginners on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", text)
    assert {c["step_id"]: c["model"] for c in run.calls()} == {"draft": "gpt5", "title": "claude"}
    assert [a["rel_path"] for a in run.detail["artifacts"]] == ["reports/green-tea.md"]


def test_02_feedback_triage_reads_extracts_and_writes_json(tmp_path):
    run = run_cli("02_feedback_triage.yaml", TRIAGE, workdir=tmp_path)
    assert run.status == OK and set(run.steps().values()) == {OK}
    issues = json.loads(run.text("triage/issues.json"))
    assert [i["severity"] for i in issues] == ["high", "medium", "low"]
    assert run.text("triage/status.txt") == "3 issues triaged; the checkout crash comes first."
    prompt = run.calls("extract")[0]["request"]["messages"][0]["content"]
    assert "checkout crashed twice this week" in prompt          # the file's content reached the model
    assert run.outputs["read_feedback"]["path"] == "data/feedback.txt"


def test_03_contract_review_keeps_analysis_at_its_location(tmp_path):
    run = run_cli("03_contract_review.yaml", CONTRACT, workdir=tmp_path)
    assert run.status == OK
    assert run.steps() == {"load": OK, "risks": OK, "risks_save": OK, "plain_english": OK, "index": OK}
    assert run.text("analysis/clause-risks.md").startswith("Risk: the supplier may change the terms")
    index = run.text("analysis/index.md")
    assert "# Review of clause.txt" in index and "- risks: analysis/clause-risks.md" in index
    assert "- in short: Neither side pays for indirect losses, and total liability is capped at..." in index
    assert "Analyze the following text (legal risk)" in run.calls("risks")[0]["request"]["messages"][0]["content"]


def test_04_support_router_billing_branch(tmp_path):
    run = run_cli("04_support_router.yaml", SUPPORT_BILLING, workdir=tmp_path)
    assert run.status == OK
    assert run.steps() == {"classify": OK, "is_urgent": OK, "billing_answer": OK, "technical_answer": "skipped",
                           "escalate": OK, "reply": OK}
    assert run.outputs["is_urgent"] is True
    assert run.text("escalations/billing.txt").startswith("URGENT (0.9): My invoice")
    assert run.text("replies/reply.md") == "Sorry about that: your invoice has been corrected."


def test_04_support_router_technical_branch(tmp_path):
    run = run_cli("04_support_router.yaml", SUPPORT_TECHNICAL, "ticket=The app crashes at start", workdir=tmp_path)
    steps = run.steps()
    assert steps["billing_answer"] == "skipped" and steps["technical_answer"] == OK
    assert steps["escalate"] == "skipped" and steps["reply"] == OK   # runs although billing_answer was skipped
    assert not (tmp_path / "escalations").exists()
    assert run.text("replies/reply.md") == "1. Update the app. 2. Restart your phone."


@pytest.mark.parametrize("draft, expect, published", [
    (None, {"screen": OK, "long_enough": OK, "polish": OK, "rewrite": "skipped", "publish": OK}, "POLISHED"),
    ("Short note", {"screen": OK, "long_enough": OK, "polish": "skipped", "rewrite": OK, "publish": OK},
     "REWRITTEN"),
    ("CONFIDENTIAL merger memo for the board only",
     {"screen": "skipped", "long_enough": "skipped", "polish": "skipped", "rewrite": "skipped",
      "publish": "skipped"}, None),
])
def test_05_publish_gate_jumps(tmp_path, draft, expect, published):
    run = run_cli("05_publish_gate.yaml", PUBLISH, *([f"draft={draft}"] if draft else []), workdir=tmp_path)
    assert run.status == OK
    steps = run.steps()
    assert {k: steps[k] for k in expect} == expect and steps["archive"] == OK
    if published:
        assert run.text("site/announcement.md").startswith(published)
    else:
        assert not (tmp_path / "site").exists()
    assert run.text("archive/draft.txt") == (draft or run.detail["run"]["inputs"]["draft"])


def test_06_nightly_build_retries_times_out_and_routes_failures(tmp_path):
    # on_failure: continue / skip go on to the end, then the run reports failure (exit 1), as py-orc does
    run = run_cli("06_nightly_build.yaml", BUILD, workdir=tmp_path, expect=1)
    assert run.status == "failed"
    assert run.detail["run"]["error"].startswith("steps 'slow_tests', 'lint' failed (on_error: fail_at_end)")
    assert run.rows("fetch") == [(-1, 1, "failed", "RuntimeError: command exited with status 1: mirror busy"),
                                 (-1, 2, OK, None)]
    steps = run.steps()
    assert steps["compile"] == "failed" and steps["package"] == "skipped"    # jumped over by on_failure
    assert steps["diagnose"] == OK and steps["report"] == OK
    assert steps["slow_tests"] == "failed" and "timed out after 1 s" in run.rows("slow_tests")[-1][3]
    assert steps["lint"] == "failed"                                        # on_failure: skip goes on
    assert run.text("build/report.md") == ("fetch: fetched sources\n"
                                           "diagnosis: Add the directory of config.h to the include path.\n")


def test_07_product_blurbs_fan_out(tmp_path):
    run = run_cli("07_product_blurbs.yaml", [], workdir=tmp_path)
    assert run.status == OK
    assert [r[0] for r in run.rows("blurbs")] == [-1, 0, 1, 2]
    assert run.files("blurbs") == ["0-kettle.txt", "1-teapot.txt", "2-travel-mug.txt", "catalogue.md"]
    assert "product 2: travel mug" in run.text("blurbs/2-travel-mug.txt")
    assert run.text("blurbs/catalogue.md").count("\n- ") == 3


def test_08_chapter_writer_runs_the_body_per_chapter(tmp_path):
    run = run_cli("08_chapter_writer.yaml", CHAPTERS, workdir=tmp_path)
    assert run.status == OK and run.steps()["chapters"] == OK
    assert len(run.detail["children"]) == 3
    first, middle, last = (run.steps(run.child(index=i)) for i in range(3))
    assert first == {"write": OK, "welcome": OK, "closing": "skipped", "save": OK}
    assert middle == {"write": OK, "welcome": "skipped", "closing": "skipped", "save": OK}
    assert last == {"write": OK, "welcome": "skipped", "closing": OK, "save": OK}
    assert run.files("guide") == ["01-why-compost.md", "02-bins-and-heaps.md", "03-troubleshooting.md", "README.md"]
    assert "welcome note" in run.text("guide/01-why-compost.md")
    assert "closing remarks" in run.text("guide/03-troubleshooting.md")
    assert run.text("guide/README.md") == "# Home Composting\n1. Why compost\n2. Bins and heaps\n3. Troubleshooting\n\n"


def test_09_tagline_polisher_loops_until_the_score_is_reached(tmp_path):
    run = run_cli("09_tagline_polisher.yaml", taglines(5, 7, 9), workdir=tmp_path)
    assert run.status == OK
    assert [r[0] for r in run.rows("polish_loop")] == [-1, 0, 1, 2]
    assert run.files("rounds") == ["round-0.txt", "round-1.txt", "round-2.txt"]
    assert run.text("tagline.txt") == "Brewed by the sun. after 3 rounds"
    second = run.child(iteration=1)
    prompt = [c for c in second["llm_calls"] if c["step_id"] == "improve"][0]["request"]["messages"][0]["content"]
    assert "Round 1." in prompt and "Tea, by sunlight." in prompt   # the previous round's review
    first = [c for c in run.child(iteration=0)["llm_calls"] if c["step_id"] == "improve"][0]
    assert "Boil water with sunshine." in first["request"]["messages"][0]["content"]  # first_draft


def test_09_tagline_polisher_break_on_true(tmp_path):
    run = run_cli("09_tagline_polisher.yaml", taglines(5, 10, 10), "target_score=11", workdir=tmp_path)
    assert [r[0] for r in run.rows("polish_loop")] == [-1, 0, 1]
    assert run.steps(run.child(iteration=1)) == {"improve": OK, "review": OK, "perfect": OK, "log_round": "skipped"}
    assert run.files("rounds") == ["round-0.txt"]
    assert run.text("tagline.txt") == "Sunlight, steeped. after 2 rounds"


def test_09_tagline_polisher_stops_at_max_iterations(tmp_path):
    run = run_cli("09_tagline_polisher.yaml", taglines(3, 3, 3, 3), "max_rounds=2", workdir=tmp_path)
    assert [r[0] for r in run.rows("polish_loop")] == [-1, 0, 1]
    assert run.text("tagline.txt").endswith("after 2 rounds")


def test_10_campaign_planner_auto_tags(tmp_path):
    run = run_cli("10_campaign_planner.yaml", CAMPAIGN, workdir=tmp_path)
    assert run.status == OK
    steps = run.steps()
    assert steps["flyer_auto_if"] == OK and steps["flyer"] == "skipped"
    assert steps["slogans"] == OK and len(run.detail["children"]) == 3
    prompt = run.calls("plan")[0]["request"]["messages"][0]["content"]
    assert "Channel: social" in prompt and "Pilot budget in dollars: 1200" in prompt
    assert "Brand voice: warm, bold, simple" in prompt
    schemas = {c["step_id"]: c["request"]["schema"]["properties"]["value"] for c in run.calls()
               if c["step_id"].startswith(("plan_auto", "slogans_auto", "flyer_auto"))}
    assert schemas["plan_auto_prompt"] == {"type": "string", "enum": ["email", "social", "print"]}
    assert schemas["plan_auto_prompt_2"] == {"type": "integer", "minimum": 100, "maximum": 5000}
    assert schemas["plan_auto_prompt_3"] == {"type": "string"}
    assert schemas["slogans_auto_for_each"] == {"type": "array", "items": {"type": "string"}}
    assert schemas["flyer_auto_if"] == {"type": "boolean"}
    plan = run.text("campaign/plan.md")
    assert plan.startswith("# Sip sustainably\n") and plan.count("\n- ") == 3 and "No flyer this time." in plan


def test_11_repo_inventory_files_and_shell(tmp_path):
    run = run_cli("11_repo_inventory.yaml", INVENTORY, workdir=tmp_path)
    assert run.status == OK and set(run.steps().values()) == {OK}
    assert run.outputs["listing"]["files"] == ["README.md", "src/main.py"]
    assert run.outputs["has_readme"]["exists"] is True and run.outputs["has_tests"]["exists"] is False
    prompt = run.calls("summary")[0]["request"]["messages"][0]["content"]
    assert "2 files" in prompt and "README: # demo-app" in prompt
    assert run.text("demo-app/src/main.py") == "print(1)\n"
    assert run.text("demo-app/INVENTORY.md").startswith("A tiny demo app with one module and a README.")


def test_11_repo_inventory_skips_the_test_plan_when_tests_exist(tmp_path):
    (tmp_path / "demo-app" / "tests").mkdir(parents=True)
    run = run_cli("11_repo_inventory.yaml", INVENTORY, workdir=tmp_path)
    assert run.steps()["test_plan"] == "skipped" and run.steps()["save"] == OK
    assert "Tests exist." in run.text("demo-app/INVENTORY.md")


def test_12_research_brief(tmp_path):
    run = run_cli("12_research_brief.yaml", BRIEF, "topic=heat pumps", workdir=tmp_path,
                  models="gpt-5-mini=scripted:gpt5,ollama:llama3.2:1b=scripted:llama")
    assert run.status == OK
    assert [r[0] for r in run.rows("answers")] == [-1, 0, 1, 2]
    assert [r[0] for r in run.rows("revise")] == [-1, 0, 1]          # the AUTO check said: once more, then stop
    models = {c["step_id"]: c["model"] for c in run.calls()}
    assert models["questions"] == "gpt5" and models["answers"] == "llama" and models["brief"] == "gpt5"
    assert run.outputs["outputs"] == {"brief_path": "briefs/heat-pumps.md", "rounds": 2}
    assert "round 1" in run.text("briefs/heat-pumps.md")


def test_12_research_brief_requires_its_topic(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "orchestrator_nb", "run", str(EXAMPLES / "12_research_brief.yaml")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "missing input 'topic'" in proc.stderr and "-p topic=VALUE" in proc.stderr
