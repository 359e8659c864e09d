"""`orc convert FILE [-o OUT]`: print a ContextLab/orchestrator (py-orc) pipeline as native YAML."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..core.loader import from_data, load_text
from ..dialects import preprocess
from ..dialects.pyorc.detect import is_pyorc
from ..dialects.pyorc.translate import translate
from ..errors import SpecError, UsageError
from ..spec.yamlio import dump_yaml, load_yaml

NAME = "convert"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="print a py-orc (ContextLab/orchestrator) pipeline as native YAML")
    sp.add_argument("file", help="the py-orc YAML file")
    sp.add_argument("-o", "--output", metavar="OUT", help="write the native YAML to OUT instead of stdout")


def run(args) -> int:
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


def to_native_yaml(path: str) -> str:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e.__class__.__name__}: {e}") from None
    text, _ = preprocess(text, str(p))
    data, lines = load_yaml(text, str(p))
    if not is_pyorc(data):
        raise UsageError(f"{path} is not a py-orc pipeline (it is already native, or not a pipeline): "
                         f"nothing to convert; `orc validate {path}` checks it")
    native, _ = translate(data, lines, str(p), check=_loads(str(p)))
    out = dump_yaml(native)
    header = (f"# Converted by `orc convert` from {p.name} (ContextLab/orchestrator YAML).\n"
              "# Same steps, ids and behaviour as `orc run` on the original; edit freely.\n")
    try:  # the output must load natively as it stands
        load_text(out, file=f"<converted {p.name}>", names=None)
    except SpecError as e:  # pragma: no cover - a translation bug, not a user error
        raise SpecError(f"the converted pipeline does not load: {e}") from None
    return header + out


def _loads(file: str):
    return lambda native, lines: from_data(native, lines, file=file, names=())
