"""A sweep file -> the list of parameter sets a batch runs.

```yaml
params: {model: "scripted:echo"}      # shared by every item (optional)
grid:                                  # cartesian product: every combination, in order
  topic: [tides, comets, volcanoes]
  audience: [children, experts]
items:                                 # explicit parameter sets, run after the grid's
  - {topic: eclipses, audience: pilots}
```

``grid`` may also be a list of such mappings (several products, one after the other). A file
that is only a list is a list of ``items``; a mapping without these keys is a ``grid``.
A scalar in a grid is one value. Later keys win: item > grid > params > ``-p`` on the command line.
"""
from __future__ import annotations

import itertools

from ..errors import UsageError

_KEYS = ("params", "grid", "items")


def load_grid(path: str) -> list[dict]:
    import yaml
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise UsageError(f"--grid {path}: no such file") from None
    except (OSError, yaml.YAMLError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"--grid {path}: cannot read it as YAML: {first}") from None
    return expand(data, path)


def expand(data, where: str = "grid") -> list[dict]:
    """The parameter sets of a sweep document (see the module doc)."""
    if data is None:
        raise UsageError(f"{where}: the file is empty (write `grid:` with lists of values, or `items:`)")
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a mapping with `grid:` and/or `items:` (got {type(data).__name__})")
    if not any(k in data for k in _KEYS):
        data = {"grid": data}
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}' next to grid/items "
                         "(put parameter lists under `grid:`, constants under `params:`)")
    shared = data.get("params") or {}
    if not isinstance(shared, dict):
        raise UsageError(f"{where}: params: expected a mapping of parameter names to values")
    out: list[dict] = []
    grids = data.get("grid")
    if grids is not None:
        for i, g in enumerate(grids if isinstance(grids, list) else [grids]):
            loc = f"grid[{i}]" if isinstance(grids, list) else "grid"
            out += [dict(shared, **combo) for combo in _product(g, f"{where}: {loc}")]
    items = data.get("items")
    if items is not None:
        if not isinstance(items, list):
            raise UsageError(f"{where}: items: expected a list of parameter mappings (- {{topic: x}})")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise UsageError(f"{where}: items[{i}]: expected a mapping of parameter names to values")
            _check_names(item, f"{where}: items[{i}]")
            out.append(dict(shared, **item))
    if not out:
        raise UsageError(f"{where}: the sweep has no items (a grid list is empty, or neither grid nor items is given)")
    return out


def _product(g, where: str) -> list[dict]:
    if not isinstance(g, dict) or not g:
        raise UsageError(f"{where}: expected a mapping of parameter names to lists of values")
    _check_names(g, where)
    names, lists = [], []
    for name, values in g.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise UsageError(f"{where}.{name}: an empty list gives no items (remove the key or add values)")
        names.append(name)
        lists.append(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*lists)]


def _check_names(d: dict, where: str) -> None:
    for k in d:
        if not isinstance(k, str) or not k.isidentifier():
            raise UsageError(f"{where}: '{k}' is not a parameter name (a Python identifier)")
