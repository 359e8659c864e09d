"""Find a ``module:function`` reference without running anything.

``orc validate``, ``orc run --dry-run`` and ``%%orc --dry-run`` promise that nothing runs, yet a
``python: mod:fn`` step names code that importing would execute (a package's ``__init__``, a
module's top level). So the module is *found* the way ``import`` would find it
(``sys.meta_path`` finders, each dotted part in its parent's folder) without loading it, its
source is parsed with ``ast``, and the name is looked for among the module's top-level
definitions. Where that cannot tell (a compiled module, ``from x import *``, a module
``__getattr__``), the answer is a note saying so, never an import. ``api.validate`` applies this
to every reference of a pipeline.
"""
from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import sys

from ..errors import SpecError, suggest

NOT_CHECKED = "not checked without running"
_HINT = "is it installed, next to the pipeline file, or in the working directory?"


def search_dirs(pipeline) -> list[str]:
    """Where ``python:`` modules are found besides sys.path (as the runner adds them): the
    pipeline file's folder, then the working directory."""
    dirs = [os.getcwd()]
    source = getattr(pipeline, "source_file", None)
    if source and not source.startswith("<"):
        dirs.insert(0, os.path.dirname(os.path.abspath(source)))
    return dirs


def find_spec(name: str, dirs=()):
    """The ModuleSpec ``import name`` would use, found without executing any package's __init__."""
    parts = name.split(".")
    spec = _find_top(parts[0], dirs)
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return None
        full = ".".join(parts[:i + 1])
        spec = _find_in(full, list(spec.submodule_search_locations))
    return spec


def _find_top(name: str, dirs):
    path = list(sys.path) + [d for d in dirs if d not in sys.path]
    for finder in sys.meta_path:
        if finder is importlib.machinery.PathFinder:
            spec = finder.find_spec(name, path)
        else:
            find = getattr(finder, "find_spec", None)
            try:
                spec = find(name, None) if find else None
            except Exception:  # a finder that cannot answer statically: not ours to break on
                spec = None
        if spec is not None:
            return spec
    return None


def _find_in(full: str, locations: list[str]):
    spec = importlib.machinery.PathFinder.find_spec(full, locations)
    if spec is None:
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is importlib.machinery.PathFinder or find is None:
                continue
            try:
                spec = find(full, locations)
            except Exception:
                spec = None
            if spec is not None:
                break
    return spec


def check_ref(ref: str, dirs=()) -> str | None:
    """``'pkg.mod:name'`` -> None when the name is defined, a note when that cannot be known
    without running the module; SpecError when the module or the name does not exist."""
    module, _, attr = ref.partition(":")
    first = attr.split(".")[0]
    loaded = sys.modules.get(module)
    if loaded is not None:  # already imported (by the user): look, but never call __getattr__
        if first in vars(loaded):
            return None
        if "__getattr__" in vars(loaded):
            return f"'{ref}': the module makes names on demand; {NOT_CHECKED}"
        raise SpecError(f"module '{module}' has no '{first}'", hint=suggest(first, _public(vars(loaded))))
    try:
        spec = find_spec(module, dirs)
    except (ImportError, ValueError) as e:
        raise SpecError(f"cannot find module '{module}': {e}", hint=_HINT) from None
    if spec is None:
        raise SpecError(f"no module '{module}'", hint=_HINT)
    source = _source(spec)
    if source is None:
        if spec.origin in (None, "namespace") and spec.submodule_search_locations:
            if _find_in(f"{module}.{first}", list(spec.submodule_search_locations)) is not None:
                return f"'{ref}': a submodule, importable only at run time; {NOT_CHECKED}"
            raise SpecError(f"namespace package '{module}' has no '{first}'")
        return f"'{ref}': {module} is a compiled or built-in module; {NOT_CHECKED}"
    try:
        tree = ast.parse(source, filename=spec.origin or module)
    except SyntaxError as e:
        raise SpecError(f"module '{module}' has a syntax error (line {e.lineno}): {e.msg}",
                        hint=f"fix {spec.origin}") from None
    except (ValueError, RecursionError, MemoryError) as e:
        return f"'{ref}': {module} could not be parsed ({type(e).__name__}); {NOT_CHECKED}"
    names, dynamic = _top_level(tree.body)
    if first not in names:
        if dynamic:
            return f"'{ref}': {module} defines names at run time; {NOT_CHECKED}"
        if spec.submodule_search_locations and _find_in(f"{module}.{first}",
                                                        list(spec.submodule_search_locations)) is not None:
            return f"'{ref}': a submodule, importable only at run time; {NOT_CHECKED}"
        raise SpecError(f"module '{module}' has no '{first}'",
                        hint=suggest(first, _public(names)) or f"defined there: {_listing(names)}")
    rest = attr.split(".")[1:]
    if rest:
        return _check_member(ref, names[first], rest[0])
    return None


def _source(spec) -> str | None:
    """Source text of a module, read from its file (or zip); None for compiled or built-in ones."""
    loader = spec.loader
    if isinstance(loader, importlib.machinery.SourceFileLoader) or (
            spec.origin and spec.origin.endswith(".py") and os.path.isfile(spec.origin)):
        with open(spec.origin, "rb") as fh:
            return importlib.util.decode_source(fh.read())
    get_source = getattr(loader, "get_source", None)
    if get_source is not None and not isinstance(
            loader, (importlib.machinery.ExtensionFileLoader, importlib.machinery.SourcelessFileLoader)) \
            and loader not in (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter):
        try:
            return get_source(spec.name)
        except Exception:
            return None
    return None


_DYNAMIC_CALLS = {"globals", "exec", "setattr", "vars", "locals"}


def _top_level(body) -> tuple[dict, bool]:
    """Names a module body binds (name -> defining node) and whether it may bind others at run time."""
    names: dict = {}
    dynamic = False
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
            if node.name == "__getattr__":
                dynamic = True
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        names[n.id] = node
                    elif isinstance(n, ast.Subscript) and isinstance(n.value, ast.Call) \
                            and getattr(n.value.func, "id", None) in _DYNAMIC_CALLS:
                        dynamic = True  # globals()["x"] = ...
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    dynamic = True
                else:
                    names[alias.asname or alias.name.split(".")[0]] = node
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id in _DYNAMIC_CALLS:
            dynamic = True
        else:  # if/try/with/for/while/match blocks at top level bind names too
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner:
                    blocks = [h.body for h in inner] if field in ("handlers", "cases") else [inner]
                    for block in blocks:
                        more, dyn = _top_level(block)
                        names.update(more)
                        dynamic = dynamic or dyn
        if isinstance(node, (ast.Assign, ast.Expr)):  # (x := ...) at top level
            for n in ast.walk(node):
                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                    names[n.target.id] = node
    return names, dynamic


def _check_member(ref: str, node, member: str) -> str | None:
    """``Class.method``: look in the class body; inherited or generated members are not checked."""
    if not isinstance(node, ast.ClassDef):
        return f"'{ref}': {NOT_CHECKED}"
    members, dynamic = _top_level(node.body)
    if member in members:
        return None
    if node.bases or node.keywords or node.decorator_list or dynamic:
        return f"'{ref}': {member} may be inherited; {NOT_CHECKED}"
    raise SpecError(f"class '{node.name}' has no '{member}'", hint=suggest(member, _public(members)))


def _public(names) -> list[str]:
    return [n for n in names if not str(n).startswith("_")]


def _listing(names) -> str:
    public = sorted(_public(names))
    return ", ".join(public[:8]) + (" …" if len(public) > 8 else "") if public else "nothing public"
