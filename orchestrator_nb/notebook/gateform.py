"""The form of an approval gate with `input: {schema}`: one widget per field of the JSON Schema,
read back as the value the reviewer submits (checked against the schema before it is sent).

Fields of an object schema get a widget by type: an `enum` a dropdown, `boolean` a checkbox,
`integer`/`number` a number box, `string` a text box (a text area when long), anything else
(arrays, nested objects) a JSON text area. A schema that is not an object is one field.
"""
from __future__ import annotations

import json

from ..core.schemas import problem

LONG_TEXT = 200  # a string field allowed more characters than this gets a text area


class FieldError(ValueError):
    """A field whose text is not a value of its type (not valid JSON, say)."""


def _kind(spec: dict) -> str:
    if "enum" in spec:
        return "enum"
    kind = spec.get("type")
    return kind if kind in ("boolean", "integer", "number", "string") else "json"


def _widget(name: str, spec: dict, required: bool):
    import ipywidgets as w

    label = (spec.get("title") or name) + (" *" if required else "")
    style, layout = {"description_width": "initial"}, w.Layout(width="98%")
    kind, default = _kind(spec), spec.get("default")
    if kind == "enum":
        options = list(spec["enum"])
        box = w.Dropdown(options=[(str(o), o) for o in options], description=label, style=style, layout=layout,
                         value=default if default in options else (options[0] if required and options else None))
    elif kind == "boolean":
        box = w.Checkbox(description=label, value=bool(default), indent=False)
    elif kind in ("integer", "number"):
        # a text box, so an empty optional field stays empty (IntText would say 0)
        box = w.Text(description=label, value="" if default is None else str(default), style=style, layout=layout,
                     placeholder=kind)
    elif kind == "string" and (spec.get("maxLength") or 0) <= LONG_TEXT and spec.get("maxLength") is not None:
        box = w.Text(description=label, value=default or "", style=style, layout=layout)
    elif kind == "string":
        box = w.Textarea(description=label, value=default or "", style=style, layout=layout)
    else:
        box = w.Textarea(description=label, style=style, layout=layout, placeholder="JSON",
                         value="" if default is None else json.dumps(default))
    if spec.get("description"):
        box.tooltip = spec["description"]
    return box


def _read(name: str, spec: dict, box):
    """The field's value, or ``None`` when an optional field is left empty."""
    kind, raw = _kind(spec), box.value
    if kind in ("enum", "boolean"):
        return raw
    if kind == "string":
        return raw if raw != "" else None
    if isinstance(raw, str) and raw.strip() == "":
        return None
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        return json.loads(raw)
    except ValueError:
        raise FieldError(f"{name}: not {'an integer' if kind == 'integer' else 'a number' if kind == 'number' else 'JSON'}")


class GateForm:
    """Widgets for ``schema``; ``value()`` is what the reviewer filled in, checked against it."""

    def __init__(self, schema: dict):
        import ipywidgets as w

        self.schema = schema
        self.whole = schema.get("type") != "object" or not isinstance(schema.get("properties"), dict)
        if self.whole:
            self.fields = {"value": (schema, _widget("value", schema, True))}
        else:
            required = set(schema.get("required") or ())
            specs = {name: spec if isinstance(spec, dict) else {} for name, spec in schema["properties"].items()}
            self.fields = {name: (spec, _widget(name, spec, name in required)) for name, spec in specs.items()}
        self.widget = w.VBox([box for _, box in self.fields.values()])
        self.widget.add_class("orc-gate-form")

    def value(self):
        """The submitted value; raises ``FieldError`` naming the field when it does not fit."""
        if self.whole:
            spec, box = self.fields["value"]
            value = _read("value", spec, box)
        else:
            value = {}
            for name, (spec, box) in self.fields.items():
                v = _read(name, spec, box)
                if v is not None:
                    value[name] = v
        wrong = problem(value, self.schema)
        if wrong:
            raise FieldError(wrong)
        return value

    def disable(self) -> None:
        for _, box in self.fields.values():
            box.disabled = True
