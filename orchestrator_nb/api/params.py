"""Parameters as people type them: `-p key=value` (`key=@path` reads a file) and `-f params.yaml`;
the CLI, the magics and batch runs share this."""
from __future__ import annotations

from ..errors import UsageError


def parse_params(pairs, files=()) -> dict:
    """`-p key=value` (value `@path` reads a file) and `-f params.yaml`."""
    out: dict = {}
    for f in files or ():
        import yaml
        try:
            with open(f, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError) as e:
            raise UsageError(f"-f {f}: cannot read parameters: {e}") from None
        if not isinstance(data, dict):
            raise UsageError(f"-f {f}: parameters must be a mapping of names to values")
        out.update(data)
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-p {pair!r}: expected key=value (or key=@file)")
        if value.startswith("@"):
            try:
                with open(value[1:], encoding="utf-8") as fh:
                    value = fh.read()
            except OSError as e:
                raise UsageError(f"-p {key}: cannot read {value[1:]}: {e.strerror}") from None
        out[key.strip()] = value
    return out
