"""The fenced examples of README.md and docs/*.md, and how each one is checked.

The convention (written for authors in docs/contributing-docs.md):

- Every fenced block names its language. ``bash``/``sh``/``shell`` blocks are run; ``yaml`` blocks
  are validated and, when they are a whole pipeline, run. Other languages (python, text, sql,
  json, ...) are shown, not run.
- An HTML comment on the line before a block says how it is run when the default is not right:
    ``<!-- doctest: skip REASON -->``      not run here (installs, a server, a key): REASON is required
    ``<!-- doctest: file PATH -->``        a YAML file the reader creates: written to PATH before the
                                           page's later shell blocks run
    ``<!-- doctest: validate REASON -->``  a whole pipeline that is only validated (e.g. it names a
                                           vendor model and needs its key)
    ``<!-- doctest: run ARGS -->``         a whole pipeline run with these `orc run` arguments instead
                                           of the default ``--approval auto --model scripted:echo``
    ``<!-- doctest: given PYTHON -->``     a %%orc cell: notebook variables to define first
    ``<!-- doctest: server -->``           a shell block that talks to a Jupyter server: run with the
                                           page's other shell blocks while the test serves the fresh
                                           clone (its `TOKEN=`/`URL=` lines get the test server's);
                                           no request may go unanswered or get 401, 403, 404 or a 5xx
- A shell line whose comment says ``(exit N)`` must exit with N; ``$RUN`` stands for the run the
  example is about: the newest run waiting for approval, else the newest run (sub-runs aside).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SHELL = {"bash", "sh", "shell"}
YAML = {"yaml", "yml"}
SHOWN = {"python", "text", "sql", "json", "toml", "ini", "mermaid", "javascript", "typescript", "console"}
DIRECTIVES = ("skip", "file", "validate", "run", "given", "server")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[^`\s]*)[^`]*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doctest:\s*(?P<word>\w[\w-]*)\s*(?P<arg>.*?)\s*-->\s*$")
_EXIT = re.compile(r"^(?P<cmd>.*?)\s+#[^'\"]*\(exit (?P<code>\d+)\)[^'\"]*$")

# a pipeline's top-level keys and a step's action keys (read from the format's own definition)
from orchestrator_nb.spec.format import ACTION_KEYS, PIPELINE  # noqa: E402

PIPELINE_KEYS = set(PIPELINE.fields)


@dataclass
class Block:
    path: Path
    line: int                 # 1-based line of the opening fence
    lang: str
    text: str
    directive: str | None = None
    arg: str = ""
    data: object = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the directive written just before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        start, body = i, []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence) and lines[i].strip().strip(fence[0]) == ""):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1
        block = Block(path, start + 1, m["lang"].lower(), "\n".join(body) + "\n")
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        d = _DIRECTIVE.match(lines[j]) if j >= 0 else None
        if d:
            block.directive, block.arg = d["word"], d["arg"]
        out.append(block)
    return out


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks(p)]


def kind(block: Block) -> str:
    """What the test does with a block: skip, shown, shell, server, file, cell, pipeline, fragment.
    Raises ValueError (naming the block and the fix) for a block it cannot handle."""
    if block.directive is not None and block.directive not in DIRECTIVES:
        raise ValueError(f"{block.where}: unknown doctest directive '{block.directive}' (use one of {DIRECTIVES})")
    if block.directive == "skip":
        if not block.arg:
            raise ValueError(f"{block.where}: `doctest: skip` needs a reason")
        return "skip"
    if not block.lang:
        raise ValueError(f"{block.where}: a fenced block without a language (write ```bash, ```yaml, ```text...)")
    if block.directive == "server":
        if block.lang not in SHELL:
            raise ValueError(f"{block.where}: `doctest: server` is for shell blocks (this one is '{block.lang}')")
        return "server"
    if block.lang in SHOWN:
        return "shown"
    if block.lang in SHELL:
        return "shell"
    if block.lang not in YAML:
        raise ValueError(f"{block.where}: unknown block language '{block.lang}' (add it to SHOWN in {__file__})")
    if block.text.lstrip().startswith("%%orc"):
        return "cell"
    try:
        block.data = yaml.safe_load(block.text)
    except yaml.YAMLError as e:
        raise ValueError(f"{block.where}: not valid YAML: {e}") from None
    if block.directive == "file":
        if not block.arg:
            raise ValueError(f"{block.where}: `doctest: file` needs a path")
        return "file"
    if isinstance(block.data, dict) and "steps" in block.data and ("name" in block.data or "id" in block.data):
        if block.directive == "validate" and not block.arg:
            raise ValueError(f"{block.where}: `doctest: validate` needs a reason (why it is not run)")
        return "pipeline"
    if as_pipeline(block.data) is not None:
        return "fragment"
    raise ValueError(f"{block.where}: a YAML block that is neither a pipeline, a part of one nor marked "
                     "(add <!-- doctest: file PATH --> or <!-- doctest: skip REASON -->)")


def as_pipeline(data) -> dict | None:
    """A fragment completed into the smallest pipeline that holds it, or None."""
    filler = {"id": "doc_filler", "code": "output = 1"}
    if isinstance(data, dict) and data and set(data) <= PIPELINE_KEYS:
        return {"name": "doc-fragment", **data, "steps": data.get("steps") or [filler]}
    if isinstance(data, dict) and any(k in data for k in ACTION_KEYS):
        return {"name": "doc-fragment", "steps": [dict(data, id=data.get("id", "doc_step"))]}
    if isinstance(data, list) and data and all(isinstance(s, dict) and "id" in s for s in data):
        return {"name": "doc-fragment", "steps": data}
    return None


def shell_script(page_blocks: list[Block]) -> str:
    """The page's shell blocks (and the files its YAML blocks stand for), as one bash script."""
    out = ["set -euo pipefail", "__latest_run() { python - <<'__PY__'", _LATEST_RUN, "__PY__", "}"]
    if any(kind(b) == "server" for b in page_blocks):
        out.append(_CURL)
    own_run = False         # once the page sets RUN itself, $RUN is the page's
    for b in page_blocks:
        k = kind(b)
        if k == "file":
            out += [f"echo '@@ {b.where}' >&2", f"mkdir -p \"$(dirname '{b.arg}')\"",
                    f"cat > '{b.arg}' <<'__DOC_EOF__'", b.text.rstrip("\n"), "__DOC_EOF__"]
        elif k in ("shell", "server"):
            out.append(f"echo '@@ {b.where}' >&2")
            for ln in _joined(b.text):
                out.append(_server_line(ln, own_run) if k == "server" else _line(ln, own_run))
                own_run = own_run or bool(_SETS_RUN.search(ln))
    return "\n".join(out) + "\n"


# every request of a server block reports its HTTP status on stderr (the test fails on 000 or 5xx)
_CURL = "curl() { command curl -w '%{stderr}@@ HTTP %{http_code} %{method} %{url_effective}\\n' \"$@\"; }"
_SERVER_VARS = re.compile(r"^(TOKEN|URL)=")


def _server_line(line: str, own_run: bool = False) -> str:
    """A server block's line: the reader's `TOKEN=...`/`URL=...` give way to the test server's."""
    if _SERVER_VARS.match(line):
        return ": set by the test: " + _quote(line.split("=", 1)[0])
    return _line(line, own_run)


_LATEST_RUN = """import orchestrator_nb as orc
runs = orc.runs(limit=1, status="waiting", top_level=True) or orc.runs(limit=1, top_level=True)
print(runs[0]["run_id"] if runs else "no-run-yet")"""


def _joined(text: str) -> list[str]:
    """Lines, with backslash continuations kept together (heredocs are left as they are)."""
    out, cur = [], ""
    for ln in text.splitlines():
        cur = cur + "\n" + ln if cur else ln
        if not ln.endswith("\\"):
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


_SETS_RUN = re.compile(r"(^|[\s;(])RUN=")


def _line(line: str, own_run: bool = False) -> str:
    if ("$RUN" in line or "${RUN}" in line) and not own_run:
        line = "RUN=$(__latest_run); " + line
    m = _EXIT.match(line) if "\n" not in line else None
    if m and int(m["code"]) != 0:
        code = m["code"]
        return (f"set +e; {m['cmd']}; __rc=$?; set -e; "
                f"[ \"$__rc\" -eq {code} ] || {{ echo \"expected exit {code}, got $__rc: {_quote(m['cmd'])}\" >&2; exit 1; }}")
    return line


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
