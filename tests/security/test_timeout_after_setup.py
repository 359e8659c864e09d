"""A step's timeout starts when its own work starts: importing the vendor SDK (0.6 s and more on a
busy machine) happens before, so a 0.6 s timeout against a server answering in 0.2 s holds in a
fresh process, every time."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

PIPELINE = """
name: quick
steps:
  - id: s
    model: openai:gpt-4.1-mini
    timeout: 0.6
    cache: false
    prompt: Say hi
"""


def test_five_fresh_processes_each_meet_a_short_timeout(fake_openai, tmp_path):
    spec = tmp_path / "quick.yaml"
    spec.write_text(PIPELINE)
    codes = []
    for i in range(5):
        fake_openai.push({"delay": 0.2, "text": "hi"})
        proc = subprocess.run([sys.executable, "-m", "orchestrator_nb", "run", str(spec), "--quiet",
                               "--db", str(tmp_path / f"s{i}.duckdb")], capture_output=True, text=True,
                              env=dict(os.environ), timeout=120)
        codes.append((proc.returncode, (proc.stdout + proc.stderr).strip()[-300:]))
    assert [c for c, _ in codes] == [0] * 5, codes
    assert fake_openai.count == 5
