"""The docs site stays whole: the README is a short front door, every page is in the site's
navigation, and the pipelines page names every key of the format."""
from __future__ import annotations

import re

import pytest
import yaml

from docblocks import REPO

DOCS = REPO / "docs"


def test_readme_is_a_short_front_door_linking_the_docs():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert len(links) >= 8
    missing = [link for link in links if not (REPO / link).exists()]
    assert not missing, f"README links to missing files: {missing}"


def _nav_files(nav) -> list[str]:
    out = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        out += _nav_files(value) if isinstance(value, list) else [value]
    return out


def test_every_docs_page_is_in_the_site_navigation():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text().replace("!!python/name:", ""))
    listed = set(_nav_files(config["nav"]))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages - listed == set(), "pages missing from mkdocs.yml nav"
    assert listed - pages == set(), "nav entries without a page"


def _sections() -> dict:
    """The sections of the format definition (pipeline, step, retry, check, write, defaults,
    budget, inputs), read from spec/format.py so this test follows the format."""
    from orchestrator_nb.spec import format
    found = {record.name: record for record in format.SECTIONS}
    assert len(found) >= 8, f"expected the format's sections in spec/format.py, found {sorted(found)}"
    return found


@pytest.mark.parametrize("name", sorted(_sections()))
def test_the_pipelines_page_documents_every_key(name):
    record = _sections()[name]
    page = (DOCS / "pipelines.md").read_text()
    rows = set(re.findall(r"^\|\s*`([A-Za-z_]+)`", page, re.M))      # keys given a row of a table
    missing = [key for key in record.fields if key not in rows]
    assert not missing, f"docs/pipelines.md has no table row for these {name} keys: {missing}"


def test_the_environment_page_names_every_variable_the_code_reads():
    code = "\n".join(p.read_text() for p in (REPO / "orchestrator_nb").rglob("*.py"))
    names = set(re.findall(r"\bORC_[A-Z0-9_]*[A-Z0-9]\b", code))
    assert {"ORC_DB", "ORC_STORE_TIMEOUT", "ORC_DOTENV", "ORC_MODE"} <= names
    page = (DOCS / "environment.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in page)
    assert not missing, f"docs/environment.md does not describe {missing}"


def test_what_the_install_and_the_examples_create_is_ignored_by_git():
    """The README's install (a venv, the extension's build) and every example's output leave
    `git status` clean: these are the only places they write in the checkout."""
    import subprocess
    paths = [".venv/bin/python", "orchestrator_nb/labextension/package.json", "extension/node_modules/x/y.js",
             "extension/lib/index.js", "extension/.yarn/cache/x", "extension/tsconfig.tsbuildinfo",
             ".orc/orc.duckdb", ".orc/notebooks/a.ipynb", "out/tour/x/report.md", "notebooks/out/tides.md",
             "notebooks/.orc/orc.duckdb", "site/index.html", "examples/__pycache__/tour_steps.cpython-311.pyc"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO, capture_output=True, text=True)
    ignored = set(proc.stdout.split())
    assert ignored == set(paths), f"not ignored: {sorted(set(paths) - ignored)}"
