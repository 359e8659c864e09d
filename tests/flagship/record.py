"""Record the flagship's replay cassette and the folder it writes, for test_flagship_replay.py.

    python tests/flagship/record.py

Runs `orc run project -p requirements=@tests/flagship/requirements.md --approval auto` live on
the offline model (no API keys, a fresh store), then writes tests/flagship/cassette.jsonl
(`orc cache export`) and copies the written folder to tests/flagship/expected/. Run it again when
the pipeline's prompts, schemas or python steps change.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="orc-flagship-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ORC_") and not k.endswith(("_API_KEY", "_API_TOKEN"))}
    env["ORC_DB"] = str(work / "orc.duckdb")
    orc = [sys.executable, "-m", "orchestrator_nb"]
    started = time.time()
    run = subprocess.run(orc + ["run", "project", "-p", f"requirements=@{HERE / 'requirements.md'}",
                                "--approval", "auto", "--outdir", str(work / "out")], env=env, cwd=work)
    if run.returncode != 0:
        print(f"the run failed (exit {run.returncode}); nothing recorded (its store: {work})", file=sys.stderr)
        return 1
    subprocess.run(orc + ["cache", "export", str(HERE / "cassette.jsonl")], env=env, check=True)
    shutil.rmtree(HERE / "expected", ignore_errors=True)
    shutil.copytree(work / "out" / "project", HERE / "expected")
    print(f"recorded in {time.time() - started:.0f} s: {HERE / 'cassette.jsonl'} and {HERE / 'expected'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
