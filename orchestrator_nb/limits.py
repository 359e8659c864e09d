"""Resource limits on everything a pipeline's text controls, each raised with one variable.

A pipeline written by someone else must not be able to hang or exhaust the machine that loads
or renders it, so YAML documents, templates and REST bodies are bounded. Every limit has a
default, an environment variable that raises (or lowers) it, and a one-line message that says
both. Values are read when a check needs them, so ``os.environ[...] = ...`` in a notebook
takes effect at once; checks on hot paths compare against ``floor`` first (a value no setting
may go below) and read the variable only past it, because reading the environment costs ~2 µs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import OrcError, UsageError


@dataclass(frozen=True)
class Limit:
    env: str
    default: float
    floor: float
    what: str       # "a pipeline file may hold at most {n} bytes" reads from these words
    unit: str

    def value(self) -> float:
        raw = os.environ.get(self.env)
        if raw is None or raw.strip() == "":
            return self.default
        try:
            n = float(raw)
        except ValueError:
            raise UsageError(f"{self.env} must be a number, got {raw!r}") from None
        if n != n or n <= 0:
            raise UsageError(f"{self.env} must be a positive number, got {raw!r}")
        return max(n, self.floor)

    def exceeded_by(self, amount: float) -> bool:
        """Whether ``amount`` is over the limit (the environment is read only past the floor)."""
        return amount > self.floor and amount > self.value()

    def message(self, amount=None, what: str | None = None) -> str:
        """'<what> of <amount> <unit> is over the limit of <n> (set ENV to raise it)'."""
        what = what or self.what
        tail = f"over the limit of {_number(self.value())} {self.unit} (set {self.env} to raise it)"
        if amount is None:
            return f"{what} is {tail}"
        return f"{what} of {_number(amount)} {self.unit} is {tail}"


def _number(n) -> str:
    if isinstance(n, float) and n != int(n):
        return f"{n:.3g}"
    n = int(n)
    if abs(n) < 10 ** 15:
        return f"{n:,}"
    return f"about 10^{len(str(abs(n))) - 1}" if abs(n).bit_length() < 12_000 else "a huge number"


LIMITS = {
    # pipeline files (spec/yamlio.py)
    "yaml_bytes": Limit("ORC_MAX_YAML_BYTES", 5_000_000, 1_000, "a pipeline file", "bytes"),
    "yaml_depth": Limit("ORC_MAX_YAML_DEPTH", 100, 10, "YAML nesting", "levels"),
    "yaml_aliases": Limit("ORC_MAX_YAML_ALIASES", 1_000, 10, "YAML aliases (*name)", "uses"),
    "yaml_expansion": Limit("ORC_MAX_YAML_EXPANSION", 100_000, 1_000, "what YAML aliases repeat", "values"),
    # files named on the command line: `-p key=@file`, `orc approve --edit/--input @file` (textfile.py)
    "input_file_bytes": Limit("ORC_MAX_INPUT_FILE_BYTES", 50_000_000, 1_000, "an input file", "bytes"),
    # templates (spec/sandbox.py)
    "template_seconds": Limit("ORC_TEMPLATE_MAX_SECONDS", 1.0, 0.05, "rendering time", "s"),
    "template_chars": Limit("ORC_TEMPLATE_MAX_CHARS", 10_000_000, 10_000, "text", "characters"),
    "template_range": Limit("ORC_TEMPLATE_MAX_RANGE", 100_000, 100, "a list", "items"),
    "template_digits": Limit("ORC_TEMPLATE_MAX_DIGITS", 4_300, 100, "a number", "digits"),
    # the store (store/journal.py): one record of a run (a step's output, mostly)
    "record_bytes": Limit("ORC_MAX_RECORD_BYTES", 100_000_000, 10_000, "a stored record", "bytes"),
    # the REST API (server/body.py)
    "api_body_bytes": Limit("ORC_API_MAX_BODY_BYTES", 5_000_000, 1_000, "a request body", "bytes"),
    "api_json_depth": Limit("ORC_API_MAX_JSON_DEPTH", 32, 4, "JSON nesting", "levels"),
    "api_comment_chars": Limit("ORC_API_MAX_COMMENT_CHARS", 10_000, 100, "a comment", "characters"),
    # a model's answer (providers/wire.py): bytes after decompression; seconds for one attempt
    "response_bytes": Limit("ORC_MAX_RESPONSE_BYTES", 32_000_000, 10_000, "a model's answer", "bytes"),
    "model_seconds": Limit("ORC_MODEL_TIMEOUT", 600, 0.1, "one model call", "s"),
}


class LimitExceeded(OrcError):
    """Untrusted text asked for more than a limit allows. One line: what, the limit, the variable."""

    exit_code = 2
    single_line = True

    def __init__(self, name: str, amount=None, what: str | None = None, where: str | None = None):
        self.name, self.amount, self.what, self.limit = name, amount, what, LIMITS[name]
        text = self.limit.message(amount, what)
        super().__init__(f"{where}: {text}" if where else text)

    def at(self, where: str) -> "LimitExceeded":
        """The same refusal, saying where (``template '...'``)."""
        return LimitExceeded(self.name, self.amount, self.what, where)


def limit(name: str) -> Limit:
    return LIMITS[name]


def check(name: str, amount, what: str | None = None) -> None:
    """Raise LimitExceeded when ``amount`` is over the named limit."""
    if LIMITS[name].exceeded_by(amount):
        raise LimitExceeded(name, amount, what)
