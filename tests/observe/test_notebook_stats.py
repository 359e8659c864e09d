"""`%orc stats` / `%orc budget` in a real IPython shell, and `--dry-run` cost ranges."""
from __future__ import annotations

import json

import pytest

from orchestrator_nb.cli.main import main

from test_stats import seed


@pytest.fixture
def shell(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    sh = InteractiveShell.instance(config=config)
    sh.reset(new_session=False)
    sh.run_line_magic("load_ext", "orchestrator_nb")
    yield sh
    sh.run_line_magic("unload_ext", "orchestrator_nb")


def test_orc_stats_shows_tables_and_a_chart(shell, orc_store, capsys):
    seed(orc_store, calls=120)
    view = shell.run_line_magic("orc", "stats --by model,day")
    html = view._repr_html_()
    assert "by model" in html and "by day" in html and "data:image/png;base64," in html   # matplotlib is in dev
    assert view.data["total"]["calls"] == 120
    assert main(["stats", "--by", "model,day", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == view.data["model"]
    text = repr(view)
    assert "model calls: 120" in text and "p95" in text
    budget = shell.run_line_magic("orc", "budget")
    assert "no cross-run budget set" in repr(budget)


def test_dry_run_shows_the_cost_range(fake_anthropic, orc_store, tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("""
name: costed
inputs: {topic: {type: string}}
defaults: {model: "anthropic:claude-sonnet-4-5", max_tokens: 100}
steps:
  - id: outline
    prompt: "Outline {{ inputs.topic }}"
  - id: sections
    for_each: [a, b, c]
    retry: 2
    prompt: "Write section {{ item }} of {{ steps.outline.output }}"
""")
    assert main(["run", str(path), "--dry-run", "-p", "topic=tides"]) == 0
    out = capsys.readouterr().out
    assert fake_anthropic.count == 0 and len(fake_anthropic.token_counts) == 0
    from orchestrator_nb.api.estimate import estimate_pipeline
    from orchestrator_nb.core.loader import load
    from orchestrator_nb.providers.prices import cost_usd
    est = estimate_pipeline(load(str(path)), {"topic": "tides"})
    outline, sections = est["steps"]
    assert outline["calls"] == 1 and sections["calls"] == 6            # 3 items x 2 attempts
    assert sections["input_tokens"] > outline["input_tokens"] + 100 - 1  # reads outline's (up to 100) tokens
    assert outline["high_usd"] == pytest.approx(cost_usd("anthropic:claude-sonnet-4-5", outline["input_tokens"], 100))
    assert est["low_usd"] < est["high_usd"]
    assert f"estimated cost: ${est['low_usd']:.4f} - ${est['high_usd']:.4f}" in out
