"""Load every py-orc (ContextLab/orchestrator) YAML under a folder with ``orc validate`` and tally.

    python bench/pyorc_examples.py /path/to/their/examples          # the table
    python bench/pyorc_examples.py /path/to/their/examples --files  # plus one line per file

No example file is shipped with this script: point it at a copy of the reference project's
``examples/`` folder. Each file is validated in its own process, exactly as a user would
(``python -m orchestrator_nb validate FILE``), so an internal error or a traceback shows up as such.

A file ends in one of four buckets, read from what ``orc validate`` printed:
- ``loads``        exit 0;
- ``unsupported``  one clear line saying a py-orc feature is not supported here (what to use instead);
- ``invalid``      one clear line naming the file, line and field of a mistake py-orc would also
                   reject or could not run (broken YAML, unknown step, a tool py-orc does not have);
- ``crash``        anything else: an internal error, a traceback, or an error on several lines.
The buckets come from the wording of our own errors ("... is not supported"; a duplicate key
counts as unsupported: PyYAML, which py-orc uses, keeps the last value where orc refuses the file);
``docs/migrating.md`` records the tally and the reasoning per file.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORC = [sys.executable, "-m", "orchestrator_nb", "validate"]


def classify(rc: int, err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.startswith("note: ")]
    if rc == 0:
        return "loads"
    if len(lines) != 1 or "internal error" in err or "Traceback" in err or not lines[0].startswith("orc: error: "):
        return "crash"
    if "not supported" in lines[0] or "duplicate key" in lines[0]:  # PyYAML (py-orc) keeps a repeated key's last value
        return "unsupported"
    return "invalid"


def reason(err: str) -> str:
    """The message without file:line and quoted names, to group files by cause."""
    line = next((ln for ln in err.strip().splitlines() if ln.startswith("orc: error: ")), err.strip()[:200])
    line = re.sub(r"^orc: error: \S+?:\d+: ", "", line)
    line = re.sub(r"^[\w\[\].-]+: ", "", line)             # the field path
    line = re.sub(r"'[^']*'", "'…'", line)
    line = re.sub(r'"[^"]*"', '"…"', line)
    return line[:110]


def validate(path: Path) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(ORC + [str(path)], capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=120)
    return p.returncode, (p.stderr or "") + (p.stdout if p.returncode else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="a copy of the reference project's examples/ folder")
    ap.add_argument("--files", action="store_true", help="print one line per file")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        print(f"no .yaml files under {folder}", file=sys.stderr)
        return 2
    buckets: Counter = Counter()
    causes: dict[str, Counter] = {}
    for f in files:
        rc, err = validate(f)
        kind = classify(rc, err)
        buckets[kind] += 1
        if kind != "loads":
            causes.setdefault(kind, Counter())[reason(err)] += 1
        if args.files:
            first = err.strip().splitlines()[-1] if kind != "loads" and err.strip() else "ok"
            print(f"{kind:<11} {f.relative_to(folder)}  {first[:160] if kind != 'loads' else ''}")
    total = len(files)
    print(f"\n{total} files: " + ", ".join(f"{buckets[k]} {k}" for k in ("loads", "unsupported", "invalid", "crash")))
    for kind in ("unsupported", "invalid", "crash"):
        for cause, n in causes.get(kind, Counter()).most_common():
            print(f"  {kind:<11} {n:>3}  {cause}")
    return 1 if buckets["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
