"""Budgets across runs (acceptance 3): spending recorded by earlier runs, in this process or another,
refuses the next run's first call; `orc budget` shows it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main
from orchestrator_nb.providers.prices import cost_usd

MODEL = "anthropic:claude-sonnet-4-5"


def _write(tmp_path, name: str, steps: int, out: int = 200) -> str:
    body = "\n".join(f"  - id: s{i}\n    prompt: {name}{i}" for i in range(steps))   # one word each
    path = tmp_path / f"{name}.yaml"
    path.write_text(f'name: {name}\ndefaults: {{model: "{MODEL}", max_tokens: {out}}}\nsteps:\n{body}\n')
    return str(path)


def _orc(args, env_extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "orchestrator_nb.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_spending_of_earlier_runs_in_another_process_refuses_the_next_first_call(
        fake_anthropic, orc_store, tmp_path, monkeypatch):
    for _ in range(4):
        fake_anthropic.push({"text": "done", "tokens_out": 200})
    # another process spends 4 calls x (1 in + 200 out tokens), no budget set
    first = _orc(["run", _write(tmp_path, "spender", 4), "--quiet"], {})
    assert first.returncode == 0, first.stderr
    assert fake_anthropic.count == 4
    spent = 4 * cost_usd(MODEL, 1, 200)
    assert abs(orc.runs(db=str(orc_store.path))[0]["cost_usd"] - spent) < 1e-9

    # a daily limit just above what was spent: no next call fits (its worst case is $0.003)
    monkeypatch.setenv("ORC_BUDGET_DAILY_USD", f"{spent + 0.001:.6f}")
    here = orc.run(_write(tmp_path, "next", 2), db=str(orc_store.path))
    assert here.status == "budget_exceeded" and fake_anthropic.count == 4
    assert "daily budget" in here.error and "ORC_BUDGET_DAILY_USD" in here.error
    assert f"${spent:.4f} spent" in here.error

    # and in another process, with the limit given by the settings file instead
    monkeypatch.delenv("ORC_BUDGET_DAILY_USD")
    (orc_store.path.parent / "settings.yaml").write_text(f"budgets:\n  daily_usd: {spent + 0.001:.6f}\n")
    other = _orc(["run", _write(tmp_path, "other", 1), "--quiet"], {})
    assert other.returncode == 4, other.stderr
    shown = other.stdout + other.stderr
    assert "daily budget" in shown and "settings.yaml" in shown and "was not sent" in shown
    assert fake_anthropic.count == 4                       # no request from either refused run


def test_pipeline_and_notebook_budgets_count_their_own_runs(fake_anthropic, orc_store, tmp_path, monkeypatch,
                                                            capsys):
    for _ in range(3):
        fake_anthropic.push({"text": "done", "tokens_out": 200})
    a = _write(tmp_path, "alpha", 2)
    assert orc.run(a, db=str(orc_store.path)).status == "succeeded"
    per_call = cost_usd(MODEL, 1, 200)
    monkeypatch.setenv("ORC_BUDGET_PIPELINE_DAILY_USD", f"{2 * per_call + 0.001:.6f}")
    again = orc.run(a, db=str(orc_store.path), use_cache=False)   # the same prompts, asked again
    assert again.status == "budget_exceeded" and "daily pipeline 'alpha' budget" in again.error
    beta = orc.run(_write(tmp_path, "beta", 1), db=str(orc_store.path))   # another pipeline: its own budget
    assert beta.status == "succeeded" and fake_anthropic.count == 3

    assert main(["budget", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in shown["limits"]}
    assert abs(rows["alpha"]["spent_usd"] - 2 * per_call) < 1e-9 and abs(rows["beta"]["spent_usd"] - per_call) < 1e-9
    assert rows["alpha"]["source"] == "ORC_BUDGET_PIPELINE_DAILY_USD"
    assert main(["budget"]) == 0
    text = capsys.readouterr().out
    assert "daily pipeline 'alpha'" in text and f"${2 * per_call:.4f}" in text


def test_bad_budget_settings_are_one_line_errors(orc_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ORC_BUDGET_DAILY_USD", "five")
    assert main(["budget"]) == 2
    assert "ORC_BUDGET_DAILY_USD='five' is not an amount of dollars" in capsys.readouterr().err
    monkeypatch.delenv("ORC_BUDGET_DAILY_USD")
    orc_store.path.parent.mkdir(parents=True, exist_ok=True)
    (orc_store.path.parent / "settings.yaml").write_text("budgets:\n  daily_usd: 5\n  dayly: 3\n")
    assert main(["budget"]) == 2
    err = capsys.readouterr().err.strip()
    assert "settings.yaml:3: budgets.dayly: unknown key 'dayly' (BudgetSettings takes daily_usd," in err
    assert len(err.splitlines()) == 1
