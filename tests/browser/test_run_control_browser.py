"""Run control from the JupyterLab sidebar (issue 15, acceptance 2), in a real JupyterLab and
Debian's chromium. Runs execute in the server's worker processes with the offline `scripted:`
model (ORC_SCRIPT), so no key is needed.

- New run: the form made from the pipeline's typed inputs, a file loaded into the long-text input,
  a missing input refused in the page, the server's 400 shown next to the field it names;
- the run view follows the run live until it waits;
- approve with an edit (the editor holds the draft under review) and Resume from the run row;
- a typed gate's form (`input: {schema}`), checked in the page, then Resume from the run view;
- a second run cancelled from its row while its model call is under way;
- the store holds the edited draft, the form's values and the cancelled status.

Screenshots: docs/screenshots/lab-new-run.png, lab-approval-edit.png, lab-approval-form.png.
"""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDEBAR = "#orchestrator-nb-sidebar"

GATED = """\
name: gated-note
description: Draft a note, have a person review it (edits welcome), sign it off with a form, publish.
inputs:
  brief: {type: string, required: true, description: "what the note is about (type it or load a file)"}
  words: {type: integer, default: 60, description: "about how many words"}
  tags: {type: array, default: [], description: "labels for the note, as a JSON list"}
steps:
  - id: draft
    model: scripted:writer
    prompt: "Write a note of about {{ inputs.words }} words. {{ inputs.brief }}"
  - id: review
    approval: Is the draft right?
    show: "{{ steps.draft.output }}"
    revise: draft
  - id: signoff
    needs: [review]
    approval: Who signs the note off, and how urgent is it?
    input:
      schema:
        type: object
        required: [owner, priority]
        properties:
          owner: {type: string, minLength: 2, description: who answers for the note}
          priority: {type: integer, minimum: 1, maximum: 5}
          urgent: {type: boolean, default: false}
  - id: publish
    needs: [signoff]
    code: |
      form = steps["signoff"]["input"]
      output = {"note": steps["draft"], "owner": form["owner"], "priority": form["priority"],
                "tags": inputs["tags"]}
"""

SCRIPT = """\
- match: "slowly"
  reply: "Waves, eventually."
  delay: 60
- match: "Write a note"
  reply: "Tides rise and fall twice a day, pulled by the Moon."
"""

BRIEF = "Brief: explain tides to a ten-year-old.\nMention the Moon.\n"
EDITED = "Tides rise and fall twice a day: the Moon pulls the sea, and the Sun helps at spring tides."


@pytest.fixture(autouse=True)
def _expect_timeout():
    expect.set_options(timeout=30_000)


def widen_sidebar(page, width: int = 420) -> None:
    """The left panel wider, so the forms read well in the screenshots."""
    page.evaluate("""(w) => {
        const split = window.jupyterapp.shell._hsplitPanel;  // JupyterLab's left | main | right
        if (split) { const total = split.node.clientWidth; split.setRelativeSizes([w, total - w, 0]); }
    }""", width)


def field(scope, name: str):
    return scope.locator(f'.jp-orc-field[data-field="{name}"]')


def run_row(page, run_id: str):
    return page.locator(f'{SIDEBAR} .jp-orc-run[data-run-id="{run_id}"]')


def sidebar_card(page, run_id: str, step: str):
    return page.locator(f'{SIDEBAR} .jp-orc-approval[data-run-id="{run_id}"][data-step="{step}"]')


def start_run(page, pipeline: str):
    """Open New run with ``pipeline`` chosen; returns the form."""
    page.locator(f"{SIDEBAR} .jp-orc-newrun-open").click()
    form = page.locator(f"{SIDEBAR} .jp-orc-newrun")
    expect(form).to_be_visible()
    expect(form.locator(f'.jp-orc-newrun-pipeline option[value="{pipeline}"]')).to_have_count(1)
    form.locator(".jp-orc-newrun-pipeline").select_option(pipeline)
    expect(field(form, "brief")).to_be_visible()
    return form


def new_run_id(lab, known: set[str]) -> str:
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import list_runs
    ids = {r["run_id"] for r in list_runs(Store(lab.env["ORC_DB"]), pipeline="gated-note")} - known
    assert len(ids) == 1, ids
    return ids.pop()


def stored(lab, sql: str, *params):
    from orchestrator_nb.store import Store
    with Store(lab.env["ORC_DB"]).connect() as con:
        return con.execute(sql, list(params)).fetchall()


def test_start_watch_edit_fill_resume_and_cancel_from_the_sidebar(lab, browser, screenshots, tmp_path):
    (lab.root / "gated.yaml").write_text(GATED)
    (lab.root / "demo_script.yaml").write_text(SCRIPT)  # ORC_SCRIPT of the server and its workers
    brief = tmp_path / "brief.md"
    brief.write_text(BRIEF)
    page = lab.open_sidebar(browser)
    widen_sidebar(page)

    # -- New run: the form from the pipeline's inputs -------------------------------------------
    form = start_run(page, "gated.yaml")
    expect(form.locator(".jp-orc-newrun-about")).to_contain_text("Draft a note")
    expect(field(form, "words").locator("input")).to_have_value("60")
    form.locator(".jp-orc-newrun-start").click()  # the brief is required: refused in the page
    expect(field(form, "brief").locator(".jp-orc-field-error")).to_have_text("required")
    field(form, "brief").locator(".jp-orc-file-input").set_input_files(str(brief))  # Load file…
    expect(field(form, "brief").locator("textarea")).to_have_value(BRIEF)
    field(form, "tags").locator("textarea").fill("[tides,")  # neither JSON nor YAML: the server says so
    form.locator(".jp-orc-newrun-start").click()
    expect(field(form, "tags").locator(".jp-orc-field-error")).to_contain_text("input 'tags': expected array")
    expect(field(form, "brief").locator(".jp-orc-field-error")).to_have_text("")
    field(form, "tags").locator("textarea").fill('["tides", "moon"]')
    expect(field(form, "tags").locator(".jp-orc-field-error")).to_have_text("")  # changed: cleared
    field(form, "words").locator("input").fill("80")
    expect(form.locator(".jp-orc-newrun-approval")).to_have_value("defer")
    page.screenshot(path=str(screenshots / "lab-new-run.png"))
    form.locator(".jp-orc-newrun-start").click()
    expect(form).to_be_hidden()

    # -- the run view opens and follows the run until it waits ---------------------------------
    run_id = new_run_id(lab, set())
    view = page.locator(f'.jp-orc-runview:has(.jp-orc-fact:has-text("{run_id}"))')
    expect(view).to_have_attribute("data-status", "waiting")
    expect(view.locator(".jp-orc-timeline-row")).to_have_count(4)
    row = run_row(page, run_id)
    expect(row).to_have_attribute("data-status", "waiting")
    expect(row.locator(".jp-orc-run-cancel")).to_be_visible()   # a waiting run can be cancelled...
    expect(row.locator(".jp-orc-run-resume")).to_be_visible()   # ...or resumed

    # -- approve with an edit, then Resume from the row ----------------------------------------
    card = sidebar_card(page, run_id, "review")
    expect(card).to_contain_text("Is the draft right?")
    card.locator(".jp-orc-edit-toggle").click()
    editor = card.locator(".jp-orc-edit-text")
    expect(editor).to_have_value("Tides rise and fall twice a day, pulled by the Moon.")
    editor.fill(EDITED)
    card.screenshot(path=str(screenshots / "lab-approval-edit.png"))
    card.locator(".jp-orc-approve-edited").click()
    expect(card).to_have_count(0)
    row.locator(".jp-orc-run-resume").click()

    # -- the typed gate: its form, checked in the page; then Resume from the run view ----------
    gate = sidebar_card(page, run_id, "signoff")
    expect(gate).to_contain_text("Who signs the note off")
    expect(view).to_have_attribute("data-status", "waiting")
    field(gate, "owner").locator("input").fill("A")
    field(gate, "priority").locator("input").fill("9")
    gate.locator(".jp-orc-approve").click()
    expect(field(gate, "owner").locator(".jp-orc-field-error")).to_have_text("at least 2 characters")
    expect(field(gate, "priority").locator(".jp-orc-field-error")).to_have_text("at most 5")
    gate.screenshot(path=str(screenshots / "lab-approval-form.png"))
    field(gate, "owner").locator("input").fill("Ada Lovelace")
    field(gate, "priority").locator("input").fill("2")
    field(gate, "urgent").locator("input").check()
    gate.locator(".jp-orc-approve").click()
    expect(field(gate, "owner").locator(".jp-orc-field-error")).to_have_text("")
    expect(gate).to_have_count(0)
    view.locator(".jp-orc-run-head .jp-orc-run-resume").click()
    expect(view).to_have_attribute("data-status", "succeeded")
    expect(row).to_have_attribute("data-status", "succeeded")
    expect(row.locator(".jp-orc-run-actions")).to_be_hidden()  # nothing to resume or cancel

    decisions = {r[0]: r[1:] for r in stored(
        lab, "SELECT step_id, decision, mode, edited, input FROM approvals WHERE run_id = ?", run_id)}
    assert decisions["review"][:2] == ("approved", "ui") and json.loads(decisions["review"][2]) == EDITED
    assert json.loads(decisions["signoff"][3]) == {"owner": "Ada Lovelace", "priority": 2, "urgent": True}
    (publish,) = stored(lab, "SELECT output FROM steps WHERE run_id = ? AND step_id = 'publish' "
                             "AND status = 'succeeded'", run_id)
    assert json.loads(publish[0]) == {"note": EDITED, "owner": "Ada Lovelace", "priority": 2,
                                      "tags": ["tides", "moon"]}
    (inputs,) = stored(lab, "SELECT inputs FROM runs WHERE run_id = ?", run_id)
    assert json.loads(inputs[0]) == {"brief": BRIEF, "words": 80, "tags": ["tides", "moon"]}

    # -- a second run, cancelled from its row while its model call is under way ----------------
    form = start_run(page, "gated.yaml")
    field(form, "brief").locator("textarea").fill("Write slowly about waves.")
    form.locator(".jp-orc-newrun-start").click()
    expect(form).to_be_hidden()
    second = new_run_id(lab, {run_id})
    row2 = run_row(page, second)
    expect(row2).to_have_attribute("data-status", "running")
    expect(row2.locator(".jp-orc-run-resume")).to_be_hidden()
    row2.locator(".jp-orc-run-cancel").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Cancel run").click()
    expect(row2).to_have_attribute("data-status", "cancelled")
    expect(row2.locator(".jp-orc-run-resume")).to_be_visible()  # a cancelled run can be resumed
    ((status, error),) = stored(lab, "SELECT status, error FROM runs WHERE run_id = ?", second)
    assert status == "cancelled" and error.startswith("cancelled by ui:"), (status, error)

    # -- its run view (opened when it started) saw it end; Resume there, then Cancel there -----
    view2 = page.locator(f'.jp-orc-runview:has(.jp-orc-fact:has-text("{second}"))')
    expect(view2).to_have_attribute("data-status", "cancelled")
    view2.locator(".jp-orc-run-head .jp-orc-run-resume").click()
    expect(view2).to_have_attribute("data-status", "running")  # the view follows it again
    view2.locator(".jp-orc-run-head .jp-orc-run-cancel").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Cancel run").click()
    expect(view2).to_have_attribute("data-status", "cancelled")
    expect(row2).to_have_attribute("data-status", "cancelled")

