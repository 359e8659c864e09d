"""`orc convert FILE`: a py-orc pipeline as native YAML (which loads and runs the same)."""
from __future__ import annotations

from pathlib import Path

from ...errors import SpecError, UsageError


def to_native_yaml(path: str) -> str:
    from ...spec.loader import load_text
    from ...spec.yamlio import dump_yaml, load_yaml
    from .. import preprocess
    from .detect import is_pyorc
    from .translate import translate

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
    native, _ = translate(data, lines, str(p))
    out = dump_yaml(native)
    header = (f"# Converted by `orc convert` from {p.name} (ContextLab/orchestrator YAML).\n"
              "# Same steps, ids and behaviour as `orc run` on the original; edit freely.\n")
    try:  # the output must load natively as it stands
        load_text(out, file=f"<converted {p.name}>", names=None)
    except SpecError as e:  # pragma: no cover - a translation bug, not a user error
        raise SpecError(f"the converted pipeline does not load: {e}") from None
    return header + out
