"""The steps a `code:` step reads: the quick reading of plain `steps['x']` agrees with Python's parser."""
from __future__ import annotations

import pytest

from orchestrator_nb.core.pipeline import _parsed_refs, code_refs

CASES = [
    "output = steps['s1'] + 1", 'x = steps["a"]; y = steps.get("b")', "steps .get ( 'c' )", "steps ['d']",
    "mysteps['x']", "obj.steps['x']", "s = 'steps[\"q\"]'", "# steps['z']\noutput = 1", "(steps)['p']",
    "steps['a']['b']", "f(steps=1)", "steps\\\n['x']", "output = [steps['a'], steps['b']]", "steps.get('x', 1)",
    "steps['it\\'s']", "steps[\"it's\"]", "output = steps['s0'] + steps['s1']", "steps.items()", "output = 1",
    "steps.get(k)", "steps[k]", "steps['']", "steps['a b']", "steps[b'x']", "steps[r'x']", "steps['x' 'y']",
    "g = lambda steps: steps['x']", "output = f'{steps[\"a\"]}'", "output = \"\"\"steps['no']\"\"\"",
    "output = steps['a'] # and steps['b']", "steps.get('a').get('b')", "steps['a'].get('b')",
]


@pytest.mark.parametrize("source", CASES)
def test_quick_reading_matches_the_parser(source):
    assert code_refs(source) == _parsed_refs(source)
