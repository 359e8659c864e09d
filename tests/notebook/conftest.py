"""A real IPython ``InteractiveShell`` with the extension loaded, fresh for every test."""
from __future__ import annotations

import pytest


class Shell:
    """Runs cells the way a user does and returns what they would see."""

    def __init__(self, shell, capsys):
        self.shell, self.capsys = shell, capsys

    @property
    def ns(self) -> dict:
        return self.shell.user_ns

    def cell(self, source: str):
        """Run one cell; -> (value, stdout, stderr). Fails the test on an unexpected error."""
        self.capsys.readouterr()
        result = self.shell.run_cell(source, store_history=True)
        out, err = self.capsys.readouterr()
        if result.error_before_exec or result.error_in_exec:
            raise AssertionError(f"cell failed: {result.error_before_exec or result.error_in_exec!r}\n{out}\n{err}")
        return result.result, out, err

    def error(self, source: str) -> str:
        """Run a cell that must fail with exactly one UsageError line; -> that line."""
        self.capsys.readouterr()
        self.last_count = self.shell.execution_count
        result = self.shell.run_cell(source, store_history=True)
        out, err = self.capsys.readouterr()
        assert not result.success, f"expected an error from {source!r}, got {result.result!r}\n{out}"
        lines = [ln for ln in (out + err).splitlines() if ln.strip()]
        assert "Traceback" not in out + err, out + err
        assert len(lines) == 1 and lines[0].startswith("UsageError: "), lines
        return lines[0][len("UsageError: "):]


@pytest.fixture(scope="session")
def _interactive_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    return InteractiveShell.instance(config=config)


@pytest.fixture
def ip(_interactive_shell, capsys, monkeypatch):
    shell = _interactive_shell
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "orchestrator_nb")
    yield Shell(shell, capsys)
    shell.run_line_magic("unload_ext", "orchestrator_nb")
    shell.config.pop("OrcMagics", None)      # %config settings must not leak into the next test
