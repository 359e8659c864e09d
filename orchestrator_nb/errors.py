"""One error tree. Every message says what was wrong, where, and how to fix it.

Front-ends (CLI, magics, server) print ``str(err)``: a single line, never a traceback.
"""
from __future__ import annotations

import re

# C0/C1 controls, DEL and the Unicode line/paragraph separators: anything that could break a line
# or hide text when a message echoes what a user (or an attacker) wrote.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with control characters and line breaks written as escapes (``\\n``, ``\\x00``)."""
    text = str(text)
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group()) or (
        f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"), text)


MAX_LINE = 2_000  # characters of a failure's message that are kept (a 10 MB message is not stored thrice)


def clip(text, limit: int = 40) -> str:
    """``text`` as a message quotes it: at most ``limit`` characters (a 20,000-character id is not echoed)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def redact(text: str) -> str:
    """``text`` without the values of API keys. The lowest layer cannot read keys itself:
    ``credentials`` installs its redaction here when it is imported (the package imports it)."""
    return _redact(text) if _redact is not None else text


_redact = None


# how a run's status becomes a process exit code (`orc run`, `orc resume`, `orc notebook`)
EXIT_CODES = {"succeeded": 0, "failed": 1, "waiting": 3, "budget_exceeded": 4, "cancelled": 130}


class OrcError(Exception):
    """Base of every error orchestrator-nb raises on purpose.

    Errors about bad input (``single_line = True``) print as one line whatever they quote:
    control characters and newlines in a key, a value or a file name come out escaped.
    """

    exit_code = 1
    single_line = False

    def __str__(self) -> str:
        text = super().__str__()
        return redact(one_line(text) if self.single_line else text)  # it may quote a key (`-p k=sk-...`)


class SpecError(OrcError, ValueError):
    """The pipeline (YAML, dict or Python API) is invalid. Raised before anything runs.

    ``loc`` is the path of the bad field, e.g. ``("steps", 2, "needs")``; a loader that knows
    the file fills in ``file`` and ``line`` with ``at_source``.
    """

    exit_code = 2
    single_line = True

    def __init__(self, message: str, *, loc: tuple = (), file: str | None = None,
                 line: int | None = None, hint: str | None = None):
        self.message, self.loc, self.file, self.line, self.hint = message, tuple(loc), file, line, hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        path = ""
        parts = self.loc if len(self.loc) <= 8 else self.loc[:4] + ("…",) + self.loc[-3:]
        for part in parts:
            path += f"[{part}]" if isinstance(part, int) else (
                part if part == "…" else f".{part}" if path else str(part))
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{path + ': ' if path else ''}{self.message}{hint}"

    def within(self, *prefix) -> "SpecError":
        """The same error, located under ``prefix`` (used when a nested part is validated)."""
        return SpecError(self.message, loc=tuple(prefix) + self.loc, file=self.file,
                         line=self.line, hint=self.hint)

    def at_source(self, file: str | None, line: int | None, line_offset: int = 0) -> "SpecError":
        if self.file is not None:
            return self
        return SpecError(self.message, loc=self.loc, file=file,
                         line=(line + line_offset) if line else None, hint=self.hint)


class UsageError(OrcError, ValueError):
    """Bad command-line / magic arguments or inputs (exit code 2)."""

    exit_code = 2
    single_line = True


class StepFailed(OrcError):
    """A step failed after its retries and checks."""

    def __init__(self, step_id: str, message: str):
        self.step_id = step_id
        super().__init__(f"step '{step_id}': {message}")


class CheckFailed(OrcError):
    """A quality gate (`check`) did not pass; the step is re-run with this feedback."""


class ApprovalRejected(OrcError):
    """A reviewer (or the `reject` policy) rejected an approval step."""


class BudgetExceeded(OrcError):
    exit_code = 4


class ProviderError(OrcError):
    """A model call failed. ``retryable`` says whether trying again (or the next model) can help.

    ``reason`` is a short machine word recorded in ``llm_calls.error``: rate_limit, server, timeout,
    connection, auth, missing_key, context_overflow, bad_request, invalid_output, replay_miss,
    no_tools (the model cannot call the step's tools).
    """

    FALLBACK_REASONS = frozenset(
        {"rate_limit", "server", "timeout", "connection", "missing_key", "context_overflow", "no_tools"})

    def __init__(self, message: str, *, reason: str = "error", retryable: bool = False,
                 retry_after: float | None = None, status: int | None = None):
        self.reason, self.retryable, self.retry_after, self.status = reason, retryable, retry_after, status
        super().__init__(message)

    @property
    def falls_back(self) -> bool:
        """Whether the next model of a fallback chain should be tried."""
        return self.reason in self.FALLBACK_REASONS


class StoreError(OrcError):
    """The DuckDB store could not be read or written (after waiting for other processes)."""


class RunNotFound(OrcError, LookupError):
    exit_code = 2
    single_line = True


def suggest(word: str, options) -> str | None:
    """'did you mean ...?' for a close match among ``options``, or None."""
    import difflib
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def describe(exc: BaseException) -> str:
    """One line about a failure: our errors as they are, others as 'Type: first line'."""
    if isinstance(exc, StepFailed):
        text = str(exc)
        return text.split(": ", 1)[1] if ": " in text else text
    if isinstance(exc, OrcError):
        return str(exc)
    if isinstance(exc, SystemExit):
        return f"the step called sys.exit({exc.code!r}) (a step cannot end the process: raise an exception to fail it)"
    try:
        text = str(exc)
    except Exception:  # an exception whose own message fails
        text = "(its message could not be read)"
    # one line (DuckDB appends a caret diagram), of bounded size; a step's own error may quote a key
    text = redact(clip(text.strip().split("\n", 1)[0], MAX_LINE)).encode("utf-8", "replace").decode()  # (lone surrogates)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
