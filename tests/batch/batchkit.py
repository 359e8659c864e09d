"""Helpers for the headless-batch tests: the real `orc` CLI in a subprocess, and the store.
(A module of its own: test modules importing from `conftest` collide with other folders' conftests.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "03-batch-and-papermill.ipynb"
ORC = [sys.executable, "-m", "orchestrator_nb"]

PIPELINE = """
name: gate
inputs:
  topic: {type: string, default: tides}
steps:
  - id: draft
    model: scripted:echo
    prompt: Draft about {{ inputs.topic }}
  - id: review
    approval: Is the draft right?
    show: "{{ steps.draft.output }}"
  - id: final
    needs: [review]
    model: scripted:echo
    prompt: Polish {{ steps.draft.output }}
"""


def run_orc(*args, env=None, timeout=300, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(ORC + [str(a) for a in args], capture_output=True, text=True, env=env or dict(os.environ),
                          timeout=timeout, cwd=cwd)


def calls(log: Path) -> list[dict]:
    """The scripted provider's calls, one JSON line each, from every process."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def sql(query: str, params=()):
    from orchestrator_nb.store import Store
    with Store().connect() as con:
        return con.execute(query, list(params)).fetchall()


def write_notebook(path: Path, params: str, *cells: str) -> Path:
    """A small nbformat-4 notebook: a `parameters` cell, then code cells."""
    def cell(i, source, tags=()):
        return {"cell_type": "code", "id": f"c{i}", "metadata": {"tags": list(tags)}, "source": source,
                "outputs": [], "execution_count": None}
    nb = {"cells": [cell(0, params, ["parameters"])] + [cell(i + 1, s) for i, s in enumerate(cells)],
          "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path
