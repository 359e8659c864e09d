"""Spending refused before the call (acceptance 2): the real anthropic SDK against the fake server,
whose token-count endpoint answers what its messages endpoint will bill."""
from __future__ import annotations

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main
from orchestrator_nb.providers.prices import cost_usd

MODEL = "anthropic:claude-sonnet-4-5"


def _pipeline(tmp_path, budget: float, items: int = 1, parallel: int = 1, words: int = 167,
              max_tokens: int = 100):
    text = f"""
name: spend
budget: {{max_cost_usd: {budget!r}}}
defaults: {{model: "{MODEL}", max_tokens: {max_tokens}}}
steps:
  - id: write
    for_each: {list(range(items))}
    max_parallel: {parallel}
    prompt: "{'word ' * (words - 1)}{{{{ item }}}}"
"""
    path = tmp_path / "spend.yaml"
    path.write_text(text)
    return path


def test_a_call_whose_worst_case_crosses_the_budget_is_never_sent(fake_anthropic, orc_store, tmp_path, capsys):
    # 167 input words (the fake bills one token per word) + up to 100 output tokens at $3/$15 per M
    worst = cost_usd(MODEL, 167, 100)
    assert 0.0019 < worst < 0.0021
    path = _pipeline(tmp_path, 0.001)
    code = main(["run", str(path), "--quiet"])
    err = capsys.readouterr()
    assert code == 4
    assert fake_anthropic.count == 0                       # no model request reached the server
    assert len(fake_anthropic.token_counts) == 1           # only the (free) token count
    assert f"${worst:.4f}" in err.out + err.err and "167 input tokens" in err.out + err.err
    run = orc.runs(db=str(orc_store.path))[0]
    assert run["status"] == "budget_exceeded" and run["cost_usd"] == 0
    assert "was not sent" in run["error"] and "$0.001 budget" in run["error"]


@pytest.mark.parametrize("parallel", [1, 6])
def test_a_budget_for_exactly_n_calls_makes_n_calls(fake_anthropic, orc_store, tmp_path, parallel):
    n, words, out = 4, 30, 40
    per_call = cost_usd(MODEL, words, out)
    for _ in range(10):  # every answer bills its full worst case: 30 tokens in, 40 out
        fake_anthropic.push({"text": "ok", "tokens_out": out})
    path = _pipeline(tmp_path, round(per_call * n + per_call / 2, 8), items=10, parallel=parallel,
                     words=words, max_tokens=out)
    result = orc.run(str(path), db=str(orc_store.path))
    assert result.status == "budget_exceeded"
    assert fake_anthropic.count == n                       # N calls, never N + 1
    assert result.cost == pytest.approx(per_call * n)
    assert "was not sent" in result.error


def test_no_budget_no_counting(fake_anthropic, orc_store, tmp_path):
    text = f"""
name: free
defaults: {{model: "{MODEL}", max_tokens: 50}}
steps:
  - id: a
    prompt: hello there
"""
    result = orc.run(text, db=str(orc_store.path))
    assert result.status == "succeeded" and fake_anthropic.count == 1
    assert fake_anthropic.token_counts == []               # no budget: nothing to check, no extra request


def test_far_from_the_limit_the_byte_bound_is_enough(fake_anthropic, orc_store, tmp_path):
    path = _pipeline(tmp_path, 5.0, items=3, words=20, max_tokens=30)
    result = orc.run(str(path), db=str(orc_store.path))
    assert result.status == "succeeded" and fake_anthropic.count == 3
    assert fake_anthropic.token_counts == []


def test_openai_family_counted_offline_by_the_tokenizer(fake_openai, orc_store, tmp_path):
    """No vendor count endpoint: bpe-openai's o200k_base counts the prompt; the refusal says so."""
    text = """
name: oa
budget: {max_cost_usd: 0.0001}
defaults: {model: "openai:gpt-4.1", max_tokens: 100}
steps:
  - id: a
    prompt: "Summarize the history of the printing press in three sentences."
"""
    result = orc.run(text, db=str(orc_store.path))
    assert result.status == "budget_exceeded" and fake_openai.count == 0
    assert "counted by the model's tokenizer" in result.error
