"""The architecture, checked: the layer contracts in pyproject.toml (import-linter) and no import
cycles between modules at all (imports inside functions included: grimp sees them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_layer_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")  # import-linter's command, next to python
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("orchestrator_nb", cache_dir=None)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    advanced = True
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles(graph):
    assert _cycles(graph) == []


def test_every_folder_is_a_package(graph):
    """A folder without __init__.py is a namespace package, which import analysis skips silently."""
    pkg = ROOT / "orchestrator_nb"
    missing = [str(d.relative_to(ROOT)) for d in pkg.rglob("*") if d.is_dir() and any(d.glob("*.py"))
               and not (d / "__init__.py").exists()]
    assert missing == []


def test_no_kind_imports_the_executor(graph):
    kinds = [m for m in graph.modules if m.startswith("orchestrator_nb.core.kinds")]
    for m in kinds:
        for target in ("orchestrator_nb.core.executor", "orchestrator_nb.core.runner"):
            assert not graph.chain_exists(importer=m, imported=target), (m, target)


def test_core_imports_no_front_end(graph):
    for m in graph.modules:
        if m.startswith(("orchestrator_nb.core", "orchestrator_nb.spec")):
            for front in ("orchestrator_nb.cli", "orchestrator_nb.notebook", "orchestrator_nb.server",
                          "orchestrator_nb.batch", "orchestrator_nb.store", "orchestrator_nb.providers"):
                assert not graph.find_shortest_chain(importer=m, imported=front), (m, front)
