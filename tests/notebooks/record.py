"""Record the model answers of example notebooks, for replay in CI and offline first runs.

    python tests/notebooks/record.py notebooks/01-quickstart.ipynb [more.ipynb...] [--outputs | --outputs-only]

Each notebook runs top to bottom in a scratch copy of notebooks/ with a fresh store, no API keys
and no earlier recordings, so every model call is made live (on the offline model). A notebook
whose model must call tools, which the offline model cannot, is recorded against a scripted fake
vendor instead: tests/notebooks/vendors/<name>.py, whose `vendors()` starts it and yields the
environment (base URL, fake key) for the kernel. The store's recorded calls, tool results
included, are then written to notebooks/recordings/<name>.jsonl (`orc cache export`).
With --outputs the executed notebook, outputs included, replaces the original.
With --outputs-only nothing is recorded: the notebook runs with its existing recordings replayed
(ORC_MODE=replay) and only its outputs are saved, for edits that change no prompt (and for notebooks
with no recordings, such as 04 and 05, which play the vendors with fake servers).
Run it again whenever a notebook's prompts or a pipeline it runs change (the nbval test fails
with a replay miss until then).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
VENDORS = Path(__file__).resolve().parent / "vendors"


def scratch_env(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ORC_") and not k.endswith(("_API_KEY", "_API_TOKEN"))}
    env.update({"ORC_DB": str(work / "orc.duckdb"), "ORC_HEADLESS": "1",
                "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")})
    return env


def fake_vendors(notebook: Path):
    """The scripted vendors a notebook is recorded against (a context manager yielding the kernel's
    extra environment); none for a notebook that records on the offline model."""
    script = VENDORS / f"{notebook.stem}.py"
    if not script.exists():
        return contextlib.nullcontext({})
    spec = importlib.util.spec_from_file_location(f"vendors_{notebook.stem[:2]}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.vendors()


def record(notebook: Path, keep_outputs: bool, outputs_only: bool = False) -> Path | None:
    import nbformat
    from nbclient import NotebookClient

    work = Path(tempfile.mkdtemp(prefix="orc-record-"))
    copy = work / "notebooks"
    skip = (".orc", "out", "project", ".ipynb_checkpoints") + (() if outputs_only else ("recordings",))
    shutil.copytree(NOTEBOOKS, copy, ignore=shutil.ignore_patterns(*skip))
    env = scratch_env(work)
    if outputs_only and (copy / "recordings" / f"{notebook.stem}.jsonl").exists():
        env["ORC_MODE"] = "replay"
    nb = nbformat.read(notebook, as_version=4)
    started = time.time()
    saved = dict(os.environ)
    with contextlib.nullcontext({}) if outputs_only else fake_vendors(notebook) as vendor_env:
        os.environ.clear()
        os.environ.update(env, **vendor_env)   # the kernel inherits this environment
        try:
            NotebookClient(nb, timeout=3600, kernel_name="python3",
                           resources={"metadata": {"path": str(copy)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    if outputs_only:
        nbformat.write(nb, notebook)
        print(f"{notebook.name}: ran in {time.time() - started:.0f} s, outputs saved (nothing recorded)")
        shutil.rmtree(work, ignore_errors=True)
        return None
    cassette = NOTEBOOKS / "recordings" / f"{notebook.stem}.jsonl"
    cassette.parent.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "orchestrator_nb", "cache", "export", str(cassette)], env=env, check=True)
    if keep_outputs:
        nbformat.write(nb, notebook)
    print(f"{notebook.name}: ran in {time.time() - started:.0f} s, recordings in {cassette}")
    shutil.rmtree(work, ignore_errors=True)
    return cassette


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--outputs", action="store_true", help="save the executed notebook (with outputs) in place")
    ap.add_argument("--outputs-only", action="store_true",
                    help="replay the existing recordings, record nothing, save the outputs in place")
    args = ap.parse_args(argv)
    for nb in args.notebooks:
        record(nb.resolve(), args.outputs, args.outputs_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
