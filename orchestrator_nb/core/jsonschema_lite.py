"""A small JSON Schema checker for model output: the keywords structured output uses.

Supported: type, properties, required, additionalProperties (bool or schema), items, minItems,
maxItems, enum, const, minLength, maxLength, pattern, minimum, maximum, anyOf, oneOf, allOf,
$ref to #/$defs/... Returns the first problem as ``path: message``, or None.
"""
from __future__ import annotations

import re

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def problem(value, schema: dict, root: dict | None = None, path: str = "$") -> str | None:
    root = root if root is not None else schema
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref.startswith("#/"):
            target = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return problem(value, target, root, path)
        return None
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_TYPES.get(x, lambda v: True)(value) for x in types):
            return f"{path}: expected {' or '.join(types)}, got {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: must be one of {schema['enum']}"
    if "const" in schema and value != schema["const"]:
        return f"{path}: must be {schema['const']!r}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return f"{path}: missing required property '{key}'"
        for key, sub in props.items():
            if key in value:
                p = problem(value[key], sub, root, f"{path}.{key}")
                if p:
                    return p
        extra = schema.get("additionalProperties", True)
        for key in value:
            if key not in props:
                if extra is False:
                    return f"{path}: unexpected property '{key}'"
                if isinstance(extra, dict):
                    p = problem(value[key], extra, root, f"{path}.{key}")
                    if p:
                        return p
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"{path}: needs at least {schema['minItems']} items, has {len(value)}"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{path}: allows at most {schema['maxItems']} items, has {len(value)}"
        items = schema.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(value):
                p = problem(v, items, root, f"{path}[{i}]")
                if p:
                    return p
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{path}: shorter than {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path}: longer than {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{path}: does not match /{schema['pattern']}/"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{path}: below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{path}: above the maximum {schema['maximum']}"
    for sub in schema.get("allOf", []):
        p = problem(value, sub, root, path)
        if p:
            return p
    for key in ("anyOf", "oneOf"):
        if key in schema:
            probs = [problem(value, sub, root, path) for sub in schema[key]]
            if all(probs):
                return probs[0]
    return None
