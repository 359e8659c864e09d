"""Parameters as people type them: `-p key=value` (`key=@path` reads a file) and `-f params.yaml`;
the CLI, the magics and batch runs share this."""
from __future__ import annotations

from ..errors import UsageError


def parse_params(pairs, files=()) -> dict:
    """`-p key=value` (value `@path` reads a file) and `-f params.yaml`."""
    out: dict = {}
    for f in files or ():
        from ..errors import SpecError
        from ..spec.yamlio import load_yaml
        from ..textfile import read_named, why
        try:
            text = read_named(f, "yaml_bytes")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"-f {f}: cannot read parameters: {why(e, 'yaml_bytes')}") from None
        try:  # the pipeline files' YAML limits (nesting, aliases) apply here too
            data = load_yaml(text, str(f))[0] or {}
        except SpecError as e:
            raise UsageError(f"-f {e}") from None
        if not isinstance(data, dict):
            raise UsageError(f"-f {f}: parameters must be a mapping of names to values")
        out.update(data)
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-p {pair!r}: expected key=value (or key=@file)")
        if value.startswith("@"):
            from ..textfile import read_named, why
            try:
                value = read_named(value[1:])
            except (OSError, UnicodeDecodeError) as e:
                raise UsageError(f"-p {key}: cannot read {value[1:]}: {why(e)}") from None
        out[key.strip()] = value
    return out
