"""A notebook's parameters: the cell tagged `parameters` (papermill's convention).

``declared(nb)`` reads the cell's top-level assignments (``topic = "tides"``, ``n: int = 3``)
without a kernel. ``typed(values, decl, path)`` turns ``-p key=value`` strings into the type
of each default (int, float, bool, None, str; anything else is parsed as YAML) and refuses
names the notebook does not declare, so a typo is caught before a kernel starts.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from ..errors import UsageError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass
class Param:
    name: str
    default: object            # the literal value, or the source text when it is not a literal
    literal: bool              # whether ``default`` could be evaluated
    annotation: str | None = None


def read_notebook(path: str) -> dict:
    """The notebook as JSON (nbformat 4), with one clear error when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such notebook (check the path)") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not a readable .ipynb notebook ({type(e).__name__}: {e})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise UsageError(f"{path}: not a Jupyter notebook (no `cells` list)")
    return nb


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
    (from a YAML file or a grid) are kept as they are. ``option`` names the source in errors."""
    if values and decl is None:
        raise UsageError(f"{where} has no cell tagged `parameters`, so {option} has nothing to set "
                         "(in Jupyter: select the cell, open the property inspector, add the tag `parameters`)")
    out = {}
    for key, value in values.items():
        if key not in decl:
            from ..errors import suggest
            hint = suggest(key, list(decl)) or ("declared: " + ", ".join(decl) if decl else "it declares none")
            raise UsageError(f"{option} {key}: {where} has no parameter '{key}' ({hint})")
        out[key] = convert(value, decl[key], option) if isinstance(value, str) else value
    return out


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
        raise UsageError(f"{option} {p.name}={text}: expected {kind.__name__} like the default "
                         f"{p.name} = {p.default!r}") from None
    return _loose(text)


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
