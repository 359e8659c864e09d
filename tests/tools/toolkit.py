"""Helpers for the tool tests (imported as `toolkit`)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MCP_DEMO = [sys.executable, "-m", "orchestrator_nb.testing.mcp_demo"]


def rows(sql: str, params=()) -> list[dict]:
    from orchestrator_nb.store import Store
    with Store().connect() as con:
        cur = con.execute(sql, list(params))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def tool_calls(run_id: str | None = None) -> list[dict]:
    where = "WHERE run_id = ?" if run_id else ""
    out = rows(f"SELECT * FROM tool_calls {where} ORDER BY min(created_at) OVER (PARTITION BY run_id, step_id, "
               "item_index, attempt, turn), run_id, step_id, item_index, attempt, turn, position",
               [run_id] if run_id else [])
    for r in out:
        r["arguments"] = json.loads(r["arguments"]) if r["arguments"] else None
        r["result"] = json.loads(r["result"]) if r["result"] else None
    return out


def logged(path: Path) -> list[dict]:
    """Lines a tool wrote to its execution log (TOOLTOYS_LOG, MCP_DEMO_LOG)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def with_toys(tmp_path: Path) -> None:
    """tooltoys.py next to the pipelines (a CLI run in a subprocess imports it from there)."""
    shutil.copy(HERE / "tooltoys.py", tmp_path / "tooltoys.py")


def demo_children() -> list[int]:
    """Pids of running stdio mcp_demo processes that are children of this process (not the tests' own
    HTTP server)."""
    me = str(os.getpid())
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes().rsplit(b")", 1)[1].split()
            cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if stat[1].decode() == me and b"mcp_demo" in cmd and b"--http" not in cmd and stat[0] != b"Z":
            found.append(int(entry.name))
    return found


def orc(*args, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`orc ...` in a subprocess (the CLI as a user runs it)."""
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "orchestrator_nb.cli.main", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout)


class HttpMcp:
    """The demo MCP server over streamable HTTP, in a child process on a free port of 127.0.0.1."""

    def __init__(self, tmp_path: Path, env: dict | None = None):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = tmp_path / f"mcp-http-{self.port}.log"
        self._err = open(self.log, "w")
        self.proc = subprocess.Popen(MCP_DEMO + ["--http", str(self.port)], stdout=self._err,
                                     stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the HTTP MCP server exited: {self.log.read_text()[-2000:]}")
                time.sleep(0.1)
        raise RuntimeError("the HTTP MCP server did not listen within 90 s")

    def requests(self) -> str:
        self._err.flush()
        return self.log.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._err.close()


def stdio_demo_processes() -> list[int]:
    """Pids of any running stdio mcp_demo process (what `command:` servers start), whoever the parent."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry.name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if any(b"mcp_demo" in c for c in cmd) and b"--http" not in cmd and state != b"Z":
            found.append(int(entry.name))
    return found


def connections_to(port: int) -> int:
    """How many TCP connections this process holds to 127.0.0.1:port (Linux /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            remote, state, inode = parts[2], parts[3], parts[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == port and state == "01":  # ESTABLISHED
                n += 1
    return n
