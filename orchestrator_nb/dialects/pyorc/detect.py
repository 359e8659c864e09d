"""Is this parsed YAML a py-orc pipeline? Decided by shape, never by file name.

A native pipeline has `name` and `steps` whose steps carry one of our action keys (prompt,
python, code, sql, approval, write, pipeline). A py-orc pipeline has keys no native file has:
a top-level `id`, `parameters`, `outputs` or `tasks`, or steps with `action`, `tool`,
`parameters`, `dependencies`/`depends_on`, `condition`/`if`, jumps, `max_retries`, or nested
`steps`. A file that mixes both is native (and the native loader says what is wrong with it).
"""
from __future__ import annotations

TOP_KEYS = frozenset({"id", "parameters", "outputs", "tasks"})
STEP_KEYS = frozenset({"action", "tool", "parameters", "dependencies", "depends_on", "condition", "if",
                       "on_false", "on_success", "on_failure", "max_retries", "steps", "while", "produces",
                       "location", "goto"})
NATIVE_ACTIONS = frozenset({"prompt", "python", "code", "sql", "approval", "write", "pipeline"})


def is_pyorc(data) -> bool:
    if not isinstance(data, dict):
        return False
    steps = data.get("steps", data.get("tasks"))
    if "steps" not in data and "tasks" not in data:
        # no steps at all: py-orc's if it has py-orc's own top-level keys (the translator then says what is missing)
        return "id" in data or (isinstance(data.get("pipeline"), dict) and "steps" in data["pipeline"])
    if not isinstance(steps, list) or not steps:
        return False
    dicts = [s for s in steps if isinstance(s, dict)]
    if any(NATIVE_ACTIONS & set(s) for s in dicts):
        return False
    if TOP_KEYS & set(data):
        return True
    return any(STEP_KEYS & set(s) for s in dicts)
