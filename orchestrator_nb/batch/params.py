"""A notebook's parameters: the cell tagged `parameters` (papermill's convention).

``declared(nb)`` reads the cell's top-level assignments (``topic = "tides"``, ``n: int = 3``)
without a kernel. ``typed(values, decl, path)`` turns ``-p key=value`` strings into the type
of each default (int, float, bool, None, str; anything else is parsed as YAML), checks values a
YAML file or a grid typed against the same types, and refuses names the notebook does not
declare, so a typo is caught before a kernel starts.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..errors import UsageError
from .nbfile import read_notebook  # noqa: F401 (its home before nbfile.py; bench/ imports it from here)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass
class Param:
    name: str
    default: object            # the literal value, or the source text when it is not a literal
    literal: bool              # whether ``default`` could be evaluated
    annotation: str | None = None


def parameters_cell(nb: dict) -> dict | None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in (cell.get("metadata", {}).get("tags") or []):
            return cell
    return None


def declared(nb: dict) -> dict[str, Param] | None:
    """Parameters declared by the `parameters` cell, in order; None when there is no such cell."""
    cell = parameters_cell(nb)
    if cell is None:
        return None
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # magics
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as e:
        raise UsageError(f"the `parameters` cell does not parse as Python: line {e.lineno}: {e.msg}") from None
    out: dict[str, Param] = {}
    for node in tree.body:
        targets, value, ann = [], None, None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value, ann = [node.target], node.value, ast.unparse(node.annotation)
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = Param(t.id, ast.literal_eval(value), True, ann)
                except ValueError:
                    out[t.id] = Param(t.id, ast.unparse(value), False, ann)
    return out


def typed(values: dict, decl: dict[str, Param] | None, where: str, option: str = "-p") -> dict:
    """``-p`` strings -> values of the declared parameters' types. Values that are not strings
    (from a YAML file or a grid) are checked against the same types. ``option`` names the source
    in errors (``-p``, ``-f FILE:``, ``--grid FILE: item 3:``)."""
    if values and decl is None:
        raise UsageError(f"{where} has no cell tagged `parameters`, so {option} has nothing to set "
                         "(in Jupyter: select the cell, open the property inspector, add the tag `parameters`)")
    out = {}
    for key, value in values.items():
        if key not in decl:
            from ..errors import suggest
            hint = suggest(str(key), list(decl)) or ("declared: " + clip(", ".join(decl)) if decl
                                                     else "it declares none")
            raise UsageError(f"{option} {clip(key)}: {where} has no parameter '{clip(key)}' ({hint})")
        out[key] = convert(value, decl[key], option) if isinstance(value, str) else checked(value, decl[key], option)
    return out


def clip(value, n: int = 60) -> str:
    """A value as echoed in a message: a 5,000-digit number or a pasted file is cut short."""
    text = str(value)
    return text if len(text) <= n else f"{text[:n - 20]}... ({len(text)} characters)"


def convert(text: str, p: Param, option: str = "-p"):
    kind = _kind(p)
    try:
        if kind is bool:
            low = text.strip().lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is str:
            return text
    except ValueError:
        raise UsageError(f"{option} {p.name}={clip(text)}: expected {kind.__name__} like the default "
                         f"{p.name} = {clip(repr(p.default))}") from None
    return _loose(text)


def checked(value, p: Param, option: str):
    """A value a YAML file or a grid typed: it must fit the parameter's type as a ``-p`` string must
    (a number for a text parameter becomes its text, an int for a float parameter a float)."""
    kind = _kind(p)
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is not None and not (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
        raise UsageError(f"{option} {p.name}: {clip(repr(value))} is {_a(value)}, expected "
                         f"{kind.__name__} like the default {p.name} = {clip(repr(p.default))}"
                         + (" (quote it in the YAML)" if kind is str else ""))
    bad = _not_plain(value)
    if bad is not None:
        raise UsageError(f"{option} {p.name}: {clip(repr(bad))} is {_a(bad)}; a parameter holds "
                         "text, numbers, true/false, null, lists and mappings (quote it in the YAML)")
    return value


def _a(value) -> str:
    name = type(value).__name__
    return ("an " if name[0] in "aeiou" else "a ") + name


def _not_plain(value):
    """The first part of ``value`` papermill cannot write as a Python literal (a YAML date...)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return None
    if isinstance(value, list):
        return next((b for b in map(_not_plain, value) if b is not None), None)
    if isinstance(value, dict):
        return next((b for b in map(_not_plain, [*value.keys(), *value.values()]) if b is not None), None)
    return value


def _kind(p: Param):
    ann = (p.annotation or "").strip()
    if ann in ("int", "float", "bool", "str"):
        return {"int": int, "float": float, "bool": bool, "str": str}[ann]
    if p.literal and isinstance(p.default, (bool, int, float, str)):
        return type(p.default)
    return None


def _loose(text: str):
    """Untyped parameters (default None, a list...): YAML, like papermill's `-y`."""
    import yaml
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else text  # no dates


def from_cli(pairs: list[str], files: list[str], decl: dict[str, Param] | None, where: str) -> dict:
    """`-f FILE` mappings, then `-p key=value` pairs (the last wins), each checked and typed; errors
    name the option that gave the value."""
    from ..api.params import parse_params
    for pair in pairs:
        if "=" not in pair or not pair.partition("=")[0].strip():
            raise UsageError(f"-p {clip(pair)!r}: expected key=value (or key=@file)")
    out: dict = {}
    for f in files:
        out.update(typed(parse_params((), [f]), decl, where, option=f"-f {clip(f)}:"))
    out.update(typed(parse_params(pairs), decl, where))
    return out
