"""Values checked against JSON Schemas (with the `jsonschema` library): a model's structured
output, the values a reviewer types into an approval's form, a reviewer's edit of an output.

``problem(value, schema)`` gives the first problem as one line (``$.path: message``), fed back
to the model when it re-asks, or None. Validators are built once per schema."""
from __future__ import annotations

import json
from functools import lru_cache


@lru_cache(maxsize=256)
def _validator(schema_text: str):
    from jsonschema import validators  # imported on first use: it costs ~0.1 s
    schema = json.loads(schema_text)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_problem(schema: dict) -> str | None:
    """What is wrong with a schema itself, or None."""
    from jsonschema.exceptions import SchemaError
    try:
        _validator(json.dumps(schema, sort_keys=True, default=str))
    except SchemaError as e:
        return _one_line(e.message)
    return None


def problem(value, schema: dict) -> str | None:
    from jsonschema.exceptions import SchemaError, best_match
    try:
        validator = _validator(json.dumps(schema, sort_keys=True, default=str))
    except SchemaError as e:
        return f"the output schema itself is invalid: {_one_line(e.message)}"
    error = best_match(validator.iter_errors(value))
    if error is None:
        return None
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{path}: {_one_line(error.message)}"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def output_schema(step) -> dict | None:
    """The JSON Schema of what ``step`` gives (a reviewer's edit of its output must fit it), or None
    for any JSON: a prompt step's text (no `output:`, text, markdown), its `output: {schema}` or its
    pydantic model's schema."""
    spec = step.output
    if isinstance(spec, dict):
        return spec.get("schema")
    if spec in (None, "text", "markdown"):
        return {"type": "string"} if step.kind == "prompt" else None
    if spec == "json":
        return None
    from .callables import resolve_callable
    cls = resolve_callable(spec) if isinstance(spec, str) else spec
    schema = getattr(cls, "model_json_schema", None)
    return schema() if callable(schema) else None
