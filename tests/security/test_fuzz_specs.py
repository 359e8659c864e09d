"""Property: any spec (YAML text or dict, native or py-orc, templates, nesting, unicode, control
characters) loads, or is refused with one SpecError line, within 2 s and 200 MB.

The default suite runs a small sample; `-m slow` (CI) runs a few thousand with a fixed seed.
`python tests/security/fuzz.py` runs 10,000 and prints the counts.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from specgen import check_one, short, spec_dict, spec_text

SPECS = st.one_of(spec_text, spec_dict)


def _holds(spec):
    outcome, detail = check_one(spec)
    assert outcome in ("loaded", "refused"), f"{outcome}: {detail}\nspec: {short(spec)}"


@seed(12)
@settings(max_examples=120, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(SPECS)
def test_generated_specs_load_or_fail_on_one_line(spec):
    _holds(spec)


@pytest.mark.slow
@seed(2026)
@settings(max_examples=3000, database=None, deadline=None, phases=[Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
@given(SPECS)
def test_many_generated_specs_load_or_fail_on_one_line(spec):
    _holds(spec)


@pytest.mark.parametrize("spec", [
    {"name": "t", "inputs": {"x": {"type": ["string"]}}, "steps": [{"id": "a", "code": "output = 1"}]},
    {"id": "t", "steps": [{"id": "a", "tool": ["terminal"], "action": "execute"}]},
    {"id": "t", "steps": [{"id": "a", "action": ""}]},
    "name: t\nsteps:\n  - id: a\n    code: 'output = 1'\n    timeout: " + "9" * 5000 + "\n",
    "name: t\nsteps:\n  - id: a\n    prompt: \"{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}\"\n",
    "name: t\nsteps:\n  - id: a\x00\n    code: x\n",
    {"name": "t", "steps": [{"id": "a", "code": "output = 1", "bad\nkey": 1}]},
    None, [], 42,
])
def test_the_cases_the_issue_found(spec):
    _holds(spec)
