"""Real kernels through jupyter_client, and a scripted stand-in for a widget frontend.

``KernelSession`` starts a kernel (ipykernel 7 from this venv, or ipykernel 6 from a small
side venv), runs cells without waiting for them (like "Run All"), records every IOPub
message, keeps the state of every widget model, and sends what JupyterLab would send:
``_view_count`` updates for displayed widgets, button clicks, text box values.
"""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = """
- match: "reviewer requested changes"
  delay: 0.2
- match: "Outline"
  reply: "1. Moon pulls water\\n2. Two bulges\\n3. Spring and neap tides"
  delay: 0.3
- match: "Draft"
  reply: "# Tides\\n\\nThe **Moon** pulls the oceans."
- match: "Slow"
  reply: "never"
  delay: 60
"""


class KernelSession:
    def __init__(self, python: str | None, cwd: Path, env: dict, frontend: bool = True):
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpec

        self.cwd, self.frontend = cwd, frontend
        self.km = KernelManager()
        spec_python = python or sys.executable
        self.km._kernel_spec = KernelSpec(argv=[spec_python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                          display_name="test", language="python", env={})
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.messages: list[dict] = []
        self.models: dict[str, dict] = {}      # comm_id -> widget state
        self.displayed: set[str] = set()
        self.replies: dict[str, dict] = {}

    # messages (all socket use stays on the test's thread: zmq sockets are not thread-safe) --
    def poll(self, wait: float = 0.02) -> None:
        """Take in every waiting IOPub and shell message; act as a frontend would."""
        try:
            self._iopub(self.kc.get_iopub_msg(timeout=wait))
        except queue.Empty:
            pass
        while True:
            try:
                self._iopub(self.kc.get_iopub_msg(timeout=0))
            except queue.Empty:
                break
        while True:
            try:
                msg = self.kc.get_shell_msg(timeout=0)
            except queue.Empty:
                break
            self.replies[msg["parent_header"].get("msg_id")] = msg
        if self.frontend:
            self.view_tick()

    def _iopub(self, msg: dict) -> None:
        self.messages.append(msg)
        t, c = msg["msg_type"], msg["content"]
        if t == "comm_open":
            self.models[c["comm_id"]] = dict(c["data"].get("state", {}))
        elif t == "comm_msg" and c["data"].get("method") in ("update", "echo_update"):
            self.models.setdefault(c["comm_id"], {}).update(c["data"].get("state", {}))
        elif t in ("display_data", "update_display_data"):
            view = c["data"].get("application/vnd.jupyter.widget-view+json")
            if view and self.frontend:
                self._render(view["model_id"])

    def _render(self, model_id: str) -> None:
        """What a frontend does for a displayed widget: one view per model in the tree."""
        seen, todo = set(), [model_id]
        while todo:
            mid = todo.pop()
            if mid in seen:
                continue
            seen.add(mid)
            self.displayed.add(mid)
            state = self.models.get(mid, {})
            for child in state.get("children", []) or []:
                todo.append(child.replace("IPY_MODEL_", ""))

    def send_comm(self, comm_id: str, data: dict) -> None:
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(msg)

    def view_tick(self) -> None:
        """Report views for displayed widgets that track them (``_view_count`` = 0)."""
        for mid in list(self.displayed):
            if self.models.get(mid, {}).get("_view_count") == 0:
                self.models[mid]["_view_count"] = 1
                self.send_comm(mid, {"method": "update", "state": {"_view_count": 1}, "buffer_paths": []})

    # cells ---------------------------------------------------------------------------------
    def execute(self, code: str) -> str:
        return self.kc.execute(code, stop_on_error=True)

    def reply(self, msg_id: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if msg_id in self.replies:
                self.poll(0)
                return self.replies[msg_id]["content"]
            self.poll()
        raise TimeoutError(f"no reply to {msg_id} in {timeout}s; outputs: {self.text(msg_id)[-2000:]}")

    def done(self, msg_id: str) -> bool:
        self.poll(0)
        return msg_id in self.replies

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll()

    def run(self, code: str, timeout: float = 30) -> str:
        """Execute and wait; fail on an error; return the text output."""
        mid = self.execute(code)
        content = self.reply(mid, timeout)
        assert content["status"] == "ok", f"{content.get('ename')}: {content.get('evalue')}\n{self.text(mid)}"
        return self.text(mid)

    def outputs(self, msg_id: str) -> list[dict]:
        return [m for m in self.messages if m["parent_header"].get("msg_id") == msg_id]

    def text(self, msg_id: str) -> str:
        out = []
        for m in self.outputs(msg_id):
            c = m["content"]
            if m["msg_type"] == "stream":
                out.append(c["text"])
            elif m["msg_type"] in ("execute_result", "display_data", "update_display_data"):
                out.append(c["data"].get("text/plain", ""))
            elif m["msg_type"] == "error":
                out.append("\n".join(c["traceback"]))
        return "".join(out)

    def find(self, model: str, timeout: float = 20, exclude=(), **state) -> str:
        """Wait for a widget model (e.g. ButtonModel with description="Approve") not yet disabled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for cid, st in list(self.models.items()):
                if cid in exclude:
                    continue
                if st.get("_model_name") == model and not st.get("disabled") and all(
                        st.get(k) == v for k, v in state.items()):
                    return cid
            self.poll()
        raise TimeoutError(f"no {model} {state} appeared")

    def click(self, comm_id: str) -> None:
        self.send_comm(comm_id, {"method": "custom", "content": {"event": "click"}})

    def type_into(self, comm_id: str, value: str) -> None:
        self.models[comm_id]["value"] = value
        self.send_comm(comm_id, {"method": "update", "state": {"value": value}, "buffer_paths": []})

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


def kernel_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORC_")}
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    env.update(ORC_DB=str(tmp_path / ".orc" / "orc.duckdb"), ORC_SCRIPT=str(script), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@pytest.fixture(params=["ipykernel7", pytest.param("ipykernel6", marks=pytest.mark.slow)])
def kernel_python(request) -> str | None:
    """ipykernel 7 (this venv) and 6.x (a side venv): clicks must work on both."""
    return request.getfixturevalue("ipykernel6_python") if request.param == "ipykernel6" else None


@pytest.fixture
def kernel_factory(tmp_path, kernel_python):
    sessions = []

    def start(frontend: bool = True, **env):
        s = KernelSession(kernel_python, tmp_path, kernel_env(tmp_path, **env), frontend=frontend)
        sessions.append(s)
        s.run("%load_ext orchestrator_nb")
        return s

    yield start
    for s in sessions:
        s.close()


@pytest.fixture
def kernel(kernel_factory):
    return kernel_factory()


IPYKERNEL6 = "6.31.0"


@pytest.fixture(scope="session")
def ipykernel6_python(tmp_path_factory) -> str:
    """A side venv whose ipykernel is 6.x; everything else comes from this venv (a .pth file)."""
    # one side venv per main venv: its .pth points at this venv's site-packages (several worktrees,
    # each with its own venv, must not share one and test each other's code)
    import hashlib
    mine = hashlib.sha256(sys.prefix.encode()).hexdigest()[:10]
    root = Path(os.environ.get("ORC_TEST_IK6_VENV") or (tmp_path_factory.getbasetemp().parent / f"ik6-venv-{mine}"))
    python = root / "bin" / "python"
    marker = root / f"ipykernel-{IPYKERNEL6}.ok"
    if not marker.exists():
        if shutil.which("uv"):
            subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(root)], check=True)
            subprocess.run(["uv", "pip", "install", "-q", "--python", str(python), "--no-deps",
                            f"ipykernel=={IPYKERNEL6}"], check=True)
        else:
            subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", f"ipykernel=={IPYKERNEL6}"],
                           check=True)
        site = next((root / "lib").glob("python*/site-packages"))
        ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
        (site / "zz_orc_shared.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
        marker.write_text("ok")
    version = subprocess.run([str(python), "-c", "import ipykernel; print(ipykernel.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == IPYKERNEL6, version
    return str(python)
