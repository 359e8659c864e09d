"""Check a pipeline the way `orc validate` and dry runs do: every reference and model choice,
with nothing imported or run.

``prepare_pipeline`` (before a real run) imports ``python:`` modules, which runs their code;
this walk finds them statically instead (``spec.refs``), so checking a pipeline someone else
wrote is safe.
"""
from __future__ import annotations

from ..core.stepdef import OUTPUT_FORMATS
from ..errors import SpecError
from ..providers.routing import check_model
from ..spec.refs import check_ref, search_dirs
from ..tools.toolbox import check_pipeline as check_tools


def validate_pipeline(pipeline, *, dirs=None) -> list[str]:
    """Check every ``module:name`` reference and model of ``pipeline`` and its sub-pipelines.

    Returns notes for references only running could check; raises SpecError, at file:line, for
    the first reference or model that does not exist."""
    notes: list[str] = []
    dirs = search_dirs(pipeline) if dirs is None else dirs
    for i, (sid, s) in enumerate(pipeline.steps.items()):
        refs = []
        if s.kind == "python" and isinstance(s.action, str):
            refs.append((("python",), s.action))
        if s.check is not None and isinstance(s.check.python, str):
            refs.append((("check", "python"), s.check.python))
        if isinstance(s.output, str) and s.output not in OUTPUT_FORMATS:
            refs.append((("output",), s.output))
        for field, ref in refs:
            try:
                note = check_ref(ref, dirs)
            except SpecError as e:
                raise _located(pipeline, e, ("steps", i) + field) from None
            if note:
                notes.append(f"steps.{sid}.{'.'.join(field)}: {note}")
        try:
            if s.kind == "prompt" or (s.check is not None and s.check.judge is not None):
                check_model(pipeline, s)
            if s.kind == "pipeline" and isinstance(s.action, str):  # given by path in Python
                from ..core.loader import load
                s.action = load(s.action)
        except SpecError as e:
            raise _located(pipeline, e, ("steps", i, "model" if s.model else s.kind)) from None
        if s.kind == "pipeline":
            notes += validate_pipeline(s.action, dirs=dirs)
    check_tools(pipeline, static_dirs=dirs)
    return notes


def _located(pipeline, e: SpecError, loc: tuple) -> SpecError:
    if e.file:
        return e
    lines = getattr(pipeline, "lines", None)
    line = lines.near(loc) if lines else None
    return SpecError(e.message, loc=loc + e.loc, file=pipeline.source_file, line=line, hint=e.hint)
