"""The `docs` suite: the examples of README.md and docs/*.md run as a reader runs them.

Each page's shell blocks run in order, as one bash script, in a fresh `git clone` of the working
tree with no API key in the environment; afterwards `git status --porcelain` must be empty (every
example writes under an ignored folder: `out/` or the store's `.orc/`). Every complete pipeline of
the docs runs with `orc run` (offline: `--model scripted:echo --approval auto` unless its
directive says otherwise).
"""
from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
import contextlib
from contextlib import contextmanager
from pathlib import Path

import pytest

from docblocks import REPO, all_blocks, blocks, kind, pages, shell_script

pytestmark = pytest.mark.docs

def _kind(block) -> str:
    try:
        return kind(block)
    except ValueError:
        return "bad"      # reported by test_doc_examples.py


SHELL_PAGES = [p for p in pages() if any(_kind(b) in ("shell", "server") for b in blocks(p))]
PIPELINES = [b for b in all_blocks() if _kind(b) == "pipeline" and b.directive != "validate"]


def no_key_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("ORC_") or k.endswith(("_API_KEY", "_API_TOKEN")) or k.startswith("AZURE_OPENAI"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def _git(*args, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fresh_clone(dest: Path) -> Path:
    """`git clone` of this repository, with the working tree's uncommitted changes committed on top
    (so the test sees the docs as they are now; in CI the tree is clean and this is a plain clone)."""
    _git("clone", "-q", str(REPO), str(dest), cwd=REPO.parent)
    changed = _git("status", "--porcelain", "--untracked-files=all", "-z", cwd=REPO).split("\0")
    for entry in filter(None, changed):
        status, path = entry[:2], entry[3:]
        src, dst = REPO / path, dest / path
        if "D" in status or not src.exists():
            dst.unlink(missing_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    if _git("status", "--porcelain", cwd=dest).strip():
        _git("add", "-A", cwd=dest)
        _git("-c", "user.name=docs-test", "-c", "user.email=docs@test", "commit", "-q", "-m", "working tree",
             cwd=dest)
    return dest


@contextmanager
def jupyter_server(root: Path, env: dict):
    """A Jupyter server on a free port serving ``root``, with a token and XSRF checks on (as a user
    runs it); yields the environment a page's server blocks run in (TOKEN and URL set)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    log = open(root.parent / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
                             f"--IdentityProvider.token={token}"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"jupyter server exited:\n{(root.parent / 'server.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "jupyter server did not answer in 90 s"
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield dict(env, TOKEN=token, URL=url)
    finally:
        proc.terminate()       # the server cancels its workers' runs on the way out
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


_HTTP = re.compile(r"^@@ HTTP (\d{3}) (.*)$", re.M)


@pytest.mark.parametrize("page", SHELL_PAGES, ids=[p.name for p in SHELL_PAGES])
def test_shell_examples_run_in_a_fresh_clone_and_leave_it_clean(page, tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    page_blocks = blocks(page)
    script = shell_script(page_blocks)
    with contextlib.ExitStack() as stack:
        env = no_key_env()
        if any(kind(b) == "server" for b in page_blocks):
            env = stack.enter_context(jupyter_server(clone, env))
        proc = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True,
                              timeout=1200)
    answered = _HTTP.findall(proc.stderr)
    # a 400/409 may be the point of an example; no answer, a refused login, a wrong path or a crash is not
    broken = [f"{code} {what}" for code, what in answered if code in ("000", "401", "403", "404") or code[0] == "5"]
    assert not broken, f"{page.name}: requests that failed:\n" + "\n".join(broken)
    if proc.returncode != 0:
        where = [ln for ln in proc.stderr.splitlines() if ln.startswith("@@ ")]
        pytest.fail(f"{where[-1][3:] if where else page.name}: a shell example failed (exit {proc.returncode})\n"
                    f"--- stdout (end)\n{proc.stdout[-4000:]}\n--- stderr (end)\n{proc.stderr[-4000:]}")
    written = {b.arg for b in page_blocks if kind(b) == "file"}      # files the reader makes by hand
    stray = [ln for ln in _git("status", "--porcelain", "--untracked-files=all", cwd=clone).splitlines()
             if ln[3:] not in written]
    assert not stray, f"{page.name}: running its examples left files in the checkout:\n" + "\n".join(stray)


@pytest.mark.parametrize("block", PIPELINES, ids=[b.where for b in PIPELINES])
def test_pipeline_example_runs(block, tmp_path):
    path = tmp_path / "example.yaml"
    path.write_text(block.text)
    args = shlex.split(block.arg) if block.directive == "run" else ["--approval", "auto", "--model", "scripted:echo"]
    proc = subprocess.run(["orc", "run", str(path), "-q", "--db", str(tmp_path / "orc.duckdb"),
                           "--outdir", str(tmp_path / "out"), *args],
                          cwd=tmp_path, env=no_key_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{block.where}: orc run failed (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}"
