"""Running the py-orc examples as a user would, with the scripted provider, and reading the store.

``run_cli`` starts `orc run` in a subprocess; ``run_inprocess`` calls the same CLI entry point
in this process (fast). Both return a ``Run`` built from the DuckDB store
(``store.queries.run_detail``), never from the CLI's own printout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "pyorc"
MODEL = "scripted:pyorc"


class Run:
    def __init__(self, result: dict, db: str, workdir: Path):
        from orchestrator_nb.store import Store
        from orchestrator_nb.store.queries import run_detail
        self.result, self.dir, self.db = result, workdir, db
        self.store = Store(db)
        self.detail = run_detail(self.store, result["run_id"])
        self.status, self.outputs = result["status"], result["outputs"]
        self._children = None

    def steps(self, detail=None) -> dict:
        """step id -> status of its last whole-step row."""
        out: dict = {}
        for s in sorted((detail or self.detail)["steps"], key=lambda s: s["attempt"]):
            if s["item_index"] == -1:
                out[s["step_id"]] = s["status"]
        return out

    def rows(self, sid: str, detail=None) -> list[tuple]:
        """(item, attempt, status, error) of every row of a step."""
        return sorted((s["item_index"], s["attempt"], s["status"], s["error"])
                      for s in (detail or self.detail)["steps"] if s["step_id"] == sid)

    def children(self) -> list[dict]:
        if self._children is None:
            from orchestrator_nb.store.queries import run_detail
            self._children = [run_detail(self.store, c["run_id"]) for c in self.detail["children"]]
        return self._children

    def child(self, **inputs) -> dict:
        for c in self.children():
            if all(c["run"]["inputs"].get(k) == v for k, v in inputs.items()):
                return c
        raise AssertionError(f"no sub-run with inputs {inputs}")

    def calls(self, step: str | None = None) -> list[dict]:
        calls = list(self.detail["llm_calls"])
        for c in self.children():
            calls += c["llm_calls"]
        return [c for c in calls if step is None or c["step_id"] == step]

    def text(self, rel: str) -> str:
        return (self.dir / rel).read_text(encoding="utf-8")

    def files(self, under: str) -> list[str]:
        base = self.dir / under
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def prepare(workdir: Path, rules: list, models: str = f"*={MODEL}") -> dict:
    """Copy the example data, write the script; returns the environment for the run."""
    shutil.copytree(EXAMPLES / "data", workdir / "data", dirs_exist_ok=True)
    script = workdir / f"script-{uuid.uuid4().hex[:6]}.yaml"   # fresh file: fresh `times` counters
    script.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return {"ORC_SCRIPT": str(script), "ORC_SCRIPT_LOG": str(workdir / "calls.jsonl"),
            "ORC_PYORC_MODELS": models, "ORC_MODEL": MODEL}


def run_cli(pipeline, rules, *params, workdir: Path, expect: int = 0, models: str = f"*={MODEL}",
            db: str | None = None) -> Run:
    env = dict(os.environ, **prepare(workdir, rules, models))
    db = db or os.environ["ORC_DB"]
    env["ORC_DB"] = db
    cmd = [sys.executable, "-m", "orchestrator_nb", "run", str(_path(pipeline)), "--json", "--quiet"]
    for p in params:
        cmd += ["-p", p]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return Run(json.loads(proc.stdout), db, workdir)


def run_inprocess(pipeline, rules, *params, workdir: Path, monkeypatch, capsys, expect: int = 0,
                  models: str = f"*={MODEL}", db: str | None = None) -> Run:
    from orchestrator_nb.cli.main import main
    for key, value in prepare(workdir, rules, models).items():
        monkeypatch.setenv(key, value)
    db = db or os.environ["ORC_DB"]
    monkeypatch.chdir(workdir)
    args = ["run", str(_path(pipeline)), "--json", "--quiet", "--db", db]
    for p in params:
        args += ["-p", p]
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    assert code == expect, f"exit {code}\n{out.out}\n{out.err}"
    return Run(json.loads(out.out), db, workdir)


def _path(pipeline) -> Path:
    p = Path(pipeline)
    return p if p.is_absolute() else EXAMPLES / p
