"""Safe YAML loading that remembers where every key and item came from.

``load_yaml`` returns plain Python data plus ``Lines``: a map from a path such as
``("steps", 2, "needs")`` to its 1-based line in the file, so validation errors can say
``file:line: steps[2].needs: ...``.
"""
from __future__ import annotations

import yaml

from ..errors import SpecError

try:  # libyaml's composer is ~10x faster; the pure-Python one is a fine fallback
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader

Path = tuple  # of str | int


class Lines(dict):
    """Path -> line number. ``near(path)`` falls back to the closest known ancestor."""

    def near(self, path: Path) -> int | None:
        path = tuple(path)
        while path:
            if path in self:
                return self[path]
            path = path[:-1]
        return self.get((), None)


def load_yaml(text: str, file: str = "<string>") -> tuple[object, Lines]:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(f"invalid YAML: {e.problem or e.context}", file=file, line=line,
                        hint="check indentation and quoting") from None
    except yaml.YAMLError as e:
        raise SpecError(f"invalid YAML: {e}", file=file) from None
    lines = Lines()
    if node is None:
        return None, lines
    lines[()] = node.start_mark.line + 1
    return _build(node, (), lines, file), lines


_scalars = yaml.SafeLoader("")  # only its constructor is used, for scalar tags (int, bool, null...)


def _build(node, path: Path, lines: Lines, file: str):
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecError("YAML merge keys ('<<') are not supported", file=file,
                                line=key_node.start_mark.line + 1, loc=path)
            key = _build(key_node, path, lines, file)
            if isinstance(key, (dict, list)):
                raise SpecError("a mapping key must be a plain value", file=file,
                                line=key_node.start_mark.line + 1, loc=path)
            if key in out:
                raise SpecError(f"duplicate key '{key}'", file=file, line=key_node.start_mark.line + 1,
                                loc=path, hint="each key may appear once")
            child = path + (key,)
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = path + (i,)
            lines[child] = item.start_mark.line + 1
            items.append(_build(item, child, lines, file))
        return items
    try:
        return _scalars.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as e:
        raise SpecError(f"unsupported YAML value: {e.problem}", file=file,
                        line=node.start_mark.line + 1, loc=path) from None


def dump_yaml(data) -> str:
    """Readable YAML: block style, keys in the order given, multi-line strings as `|` blocks."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


try:  # libyaml's emitter is ~10x faster (spec text is stored with every run)
    _DumperBase = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _DumperBase = yaml.SafeDumper


class _Dumper(_DumperBase):
    pass


def _str_presenter(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)
