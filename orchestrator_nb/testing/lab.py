"""Browser tests against a real JupyterLab (or Jupyter Notebook 7: ``Notebook7``, same interface):
a server in a temp root dir, Debian ``chromium`` driven by Python Playwright (no browser
download), and a few notebook helpers.

    with Lab(root, env={"ORC_DB": ...}) as lab, Browser(profile_dir) as browser:
        nb = lab.open(browser, "demo.ipynb")
        nb.run_all()
        nb.page.get_by_role("button", name="Approve").click()
        nb.wait_idle()
        nb.screenshot("shot.png")

``write_notebook`` writes .ipynb files straight into the root (PUT /api/contents would need an
XSRF token). The server runs with no token on 127.0.0.1, the news toast and update check off,
and notebook windowing off (every cell is rendered, so selectors find them).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

SIDEBAR = "#orchestrator-nb-sidebar"   # the extension's runs panel
CHROMIUM = os.environ.get("ORC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook_json(cells, metadata: dict | None = None) -> dict:
    """``cells``: source strings (code cells) or dicts ``{"source", "cell_type", "tags"}``."""
    out = []
    for i, c in enumerate(cells):
        c = {"source": c} if isinstance(c, str) else dict(c)
        kind = c.get("cell_type", "code")
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {"tags": list(c.get("tags", ()))} if c.get("tags")
                else {}, "source": c["source"]}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    meta = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}
    meta.update(metadata or {})
    return {"cells": out, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def write_notebook(path, cells, metadata: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook_json(cells, metadata), indent=1))
    return path


def notebook_text(path) -> str:
    """Every output of a saved notebook as plain text (stream text and text/plain), in order."""
    nb = json.loads(Path(path).read_text())
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                t = "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
            elif "data" in o:
                t = o["data"].get("text/plain", "")
                t = "".join(t) if isinstance(t, list) else t
            elif o.get("output_type") == "error":
                t = f"{o['ename']}: {o['evalue']}"
            else:
                continue
            parts.append(t if t.endswith("\n") else t + "\n")
    return "".join(parts)


class Lab:
    """A JupyterLab server for one test (or one module)."""

    module = "jupyterlab"       # python -m <module>
    app_class = "LabApp"        # whose traits set the settings dir and expose window.jupyterapp
    home_page = "lab"

    def __init__(self, root, env: dict | None = None, port: int | None = None, settings: dict | None = None,
                 log=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.settings = {**LAB_SETTINGS, **(settings or {})}
        self.proc: subprocess.Popen | None = None
        self._home = Path(tempfile.mkdtemp(prefix="orc-lab-"))
        self.log_path = Path(log) if log else self._home / "lab.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str | None = None) -> str:
        return f"{self.base_url}/{(path or self.home_page).lstrip('/')}"

    def document_url(self, path: str) -> str:
        """The page that opens the notebook or file at ``path`` (relative to the root)."""
        return self.url(f"{self.home_page}/tree/{path}")

    def start(self, timeout: float = 90) -> "Lab":
        settings_dir = self._home / "settings"
        for name, value in self.settings.items():
            target = settings_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(value))
        app = self.app_class
        cmd = [sys.executable, "-m", self.module, "--allow-root", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", f"--ServerApp.root_dir={self.root}", f"--{app}.expose_app_in_browser=True",
               f"--{app}.user_settings_dir={settings_dir}", f"--{app}.workspaces_dir={self._home / 'ws'}",
               "--ServerApp.disable_check_xsrf=True"]
        env = dict(self.env, JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
                   JUPYTERLAB_WORKSPACES_DIR=str(self._home / "ws"))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{self.module} did not answer in {timeout:.0f} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def api(self, path: str):
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()      # the server shuts its kernels down
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def open(self, browser: "Browser", path: str, timeout: float = 60) -> "NotebookPage":
        page = browser.new_page()
        nb = NotebookPage(page, self, path)
        nb.open(timeout)
        return nb

    def open_sidebar(self, browser: "Browser", notebook: str | None = None, timeout: float = 90):
        """A page with JupyterLab (and ``notebook`` open, its kernel idle) and the Orchestrator
        sidebar shown."""
        if notebook:
            page = self.open(browser, notebook).page
        else:
            page = browser.new_page()
            page.goto(self.url("lab"))
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands"
                               ".hasCommand('orchestrator-nb:show-runs')", timeout=timeout * 1000)
        page.evaluate("""async () => {
            await window.jupyterapp.restored;
            await window.jupyterapp.commands.execute('orchestrator-nb:show-runs');
        }""")
        page.wait_for_selector(SIDEBAR, state="visible", timeout=timeout * 1000)
        return page

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Notebook7(Lab):
    """A Jupyter Notebook 7 server (`jupyter notebook`): one document per page, under /tree,
    /notebooks/<path>, /edit/<path>; the same plugins and ``window.jupyterapp`` as JupyterLab."""

    module = "notebook"
    app_class = "JupyterNotebookApp"
    home_page = "tree"

    def document_url(self, path: str) -> str:
        return self.url(f"{'notebooks' if path.endswith('.ipynb') else 'edit'}/{path}")


class Browser:
    """Headless Debian chromium through Playwright (``launch_persistent_context``)."""

    def __init__(self, profile_dir=None, viewport=(1280, 900), executable: str = CHROMIUM):
        self.profile_dir = Path(profile_dir or tempfile.mkdtemp(prefix="orc-chromium-"))
        self.viewport, self.executable = viewport, executable
        self._pw = self.context = None
        self.console: list[str] = []

    def start(self) -> "Browser":
        from playwright.sync_api import sync_playwright
        if not Path(self.executable).exists():
            raise RuntimeError(f"no chromium at {self.executable} (apt-get install chromium; never `playwright install`)")
        self._pw = sync_playwright().start()
        self.context = self._pw.chromium.launch_persistent_context(
            str(self.profile_dir), executable_path=self.executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": self.viewport[0], "height": self.viewport[1]})
        return self

    def new_page(self):
        page = self.context.new_page()
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        return page

    def stop(self) -> None:
        try:
            if self.context is not None:
                self.context.close()
        finally:
            if self._pw is not None:
                self._pw.stop()
            self.context = self._pw = None
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class NotebookPage:
    """One notebook open in JupyterLab (or on its own page in Notebook 7)."""

    def __init__(self, page, lab: Lab, path: str):
        self.page, self.lab, self.path = page, lab, path

    def open(self, timeout: float = 60) -> None:
        self.page.goto(self.lab.document_url(self.path), timeout=timeout * 1000)
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                    " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=timeout * 1000)
        self.wait_kernel(timeout)

    def _status_js(self) -> str:
        return ("() => { const w = window.jupyterapp.shell.currentWidget; const k = w && w.sessionContext"
                " && w.sessionContext.session && w.sessionContext.session.kernel; return k ? k.status : null; }")

    def kernel_status(self):
        return self.page.evaluate(self._status_js())

    def wait_kernel(self, timeout: float = 60) -> None:
        self.page.wait_for_function(self._status_js().replace("return k ? k.status : null;",
                                                              "return k && k.status === 'idle';"),
                                    timeout=timeout * 1000)

    def command(self, name: str, args: dict | None = None, wait: bool = True):
        """Run a JupyterLab command; ``wait=False`` returns at once (running cells may wait for clicks)."""
        if wait:
            return self.page.evaluate("([n, a]) => window.jupyterapp.commands.execute(n, a)", [name, args or {}])
        self.page.evaluate("([n, a]) => { window.jupyterapp.commands.execute(n, a); return true; }",
                           [name, args or {}])
        return None

    def run_all(self) -> None:
        """Like Run All in the menu: queues every cell and returns at once."""
        self.command("notebook:run-all-cells", wait=False)

    def wait_idle(self, timeout: float = 60, settle: float = 0.5) -> None:
        """Until no cell is queued or running ([*]) and the kernel is idle."""
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget; const k = w.sessionContext.session.kernel;"
            " const busy = [...document.querySelectorAll('.jp-InputArea-prompt')].some(e => e.textContent.includes('*'));"
            " return k && k.status === 'idle' && !busy; }", timeout=timeout * 1000)
        self.page.wait_for_timeout(settle * 1000)

    def cells(self):
        return self.page.locator(".jp-Notebook .jp-Cell")

    def output_text(self, index: int) -> str:
        return self.cells().nth(index).locator(".jp-OutputArea").inner_text()

    def save(self) -> None:
        self.command("docmanager:save")

    def screenshot_cell(self, index: int, path, max_height: int = 2400) -> Path:
        """One cell (input and outputs). The viewport grows so that the whole cell is on screen
        (JupyterLab scrolls inside its panel, so element shots of taller cells come out cut)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cell = self.cells().nth(index)
        size = self.page.viewport_size or {"width": 1280, "height": 900}
        height = cell.bounding_box()["height"] if cell.bounding_box() else 0
        if height + 200 > size["height"]:
            self.page.set_viewport_size({"width": size["width"], "height": int(min(max_height, height + 260))})
        cell.scroll_into_view_if_needed()
        self.page.wait_for_timeout(300)
        cell.screenshot(path=str(path))
        return path

    def screenshot(self, path, full_page: bool = True) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path
