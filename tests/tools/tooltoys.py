"""Python functions the tool tests hand to models. Each call appends a line to $TOOLTOYS_LOG (when
set), so a test can count real executions (a cached replay appends nothing)."""
from __future__ import annotations

import json
import os


def _log(name: str, **arguments) -> None:
    path = os.environ.get("TOOLTOYS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": name, "arguments": arguments}) + "\n")


def add(a: int, b: int = 0) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number (default 0)
    """
    _log("add", a=a, b=b)
    return a + b


def shout(text: str, times: int = 1) -> str:
    """Upper-case a text.

    :param text: what to shout
    :param times: how many times to repeat it
    """
    _log("shout", text=text, times=times)
    return " ".join([text.upper()] * times)


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    _log("divide", a=a, b=b)
    return a / b


def leak(name: str) -> str:
    """Return an environment variable (a careless tool)."""
    return f"the value is {os.environ.get(name)}"
