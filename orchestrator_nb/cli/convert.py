"""`orc convert FILE [-o OUT]`: print a ContextLab/orchestrator (py-orc) pipeline as native YAML."""
from __future__ import annotations

import os
import sys

NAME = "convert"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="print a py-orc (ContextLab/orchestrator) pipeline as native YAML")
    sp.add_argument("file", help="the py-orc YAML file")
    sp.add_argument("-o", "--output", metavar="OUT", help="write the native YAML to OUT instead of stdout")


def run(args) -> int:
    from ..dialects.pyorc.convert import to_native_yaml
    from ..errors import UsageError
    text = to_native_yaml(args.file)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    if os.path.exists(args.output) and os.path.samefile(args.output, args.file):
        raise UsageError("-o would overwrite the file being converted; choose another path")
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.output} (run it with: orc run {args.output})", file=sys.stderr)
    return 0
