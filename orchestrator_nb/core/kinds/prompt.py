"""`prompt:` steps (and LLM judges of `check: {judge: ...}`): messages in, model answer out.
With `tools:`, the model may call tools first (``toolloop``)."""
from __future__ import annotations

import json

from .toolloop import run_tool_loop


def ask_messages(prompt: str, feedback=None, fresh: bool = False, attempt: int = 1) -> list[dict]:
    """The user's turn, then the turns that tell the model why it is asked again. ``fresh`` (a
    check's ``retry_fresh``): one turn, the failure first and the task after it, without the
    rejected answer (a small model copies what it is shown, and most what it read last); it names
    the try, so each fresh retry is a new request (a seeded offline model answers a repeated one
    the same way)."""
    ask = {"role": "user", "content": prompt}
    if feedback is None:
        return [ask]
    if fresh and feedback.kind == "check":
        return [{"role": "user", "content": f"Try {attempt}. An earlier answer to this did not pass a quality "
                                            f"check:\n{feedback.message}\nAnswer again, avoiding that.\n\n{prompt}"}]
    previous = feedback.previous
    if not isinstance(previous, str):
        previous = json.dumps(previous, ensure_ascii=False, default=str)
    if feedback.kind == "review":
        again = (f"A reviewer requested changes:\n{feedback.message}\n\n"
                 "Revise your previous answer accordingly. Reply with the full revised answer only.")
    else:
        again = (f"Your previous answer did not pass a quality check:\n{feedback.message}\n\n"
                 "Answer again, fixing this. Reply with the full corrected answer only.")
    return [ask, {"role": "assistant", "content": previous or ""}, {"role": "user", "content": again}]


async def warm_models(ctx) -> None:
    """Before the step's time starts: its models' SDKs imported (see ``StepContext.warm_models``)."""
    await ctx.warm_models()


async def run_prompt(prompt, params, ctx):
    step = ctx.step
    system = ctx.render(step.system) if step.system is not None else ctx.pipeline.defaults.get("system")
    fresh = step.check is not None and step.check.retry_fresh
    messages = ask_messages(str(prompt), ctx.feedback, fresh, ctx.attempt)
    if step.tools:
        return await run_tool_loop(ctx, messages, system, step.output)
    result = await ctx.complete(messages, system=system, output=step.output)
    return result.value


async def judge(ctx, check, output) -> str | None:
    """Ask a model whether ``output`` is good enough. None = PASS, else the reasons."""
    local = dict(ctx.scope)
    local["output"] = output
    question = check.judge.render(local)
    shown = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, indent=2, default=str)
    prompt = (f"{question}\n\n--- output to review ---\n{shown}\n--- end ---\n\n"
              "Reply with PASS or FAIL on the first line, then one short paragraph of reasons.")
    index = ctx.scope.get("index")
    result = await ctx.complete([{"role": "user", "content": prompt}], output="text", model=check.model,
                                task=check.task or "review", purpose="judge",
                                item=index if isinstance(index, int) else -1, attempt=0)
    text = str(result.value).strip()
    first = text.splitlines()[0].strip().upper() if text else ""
    if first.startswith("PASS") or first.startswith("**PASS"):
        return None
    reasons = text.split("\n", 1)[1].strip() if "\n" in text else text
    return reasons or "the judge said FAIL"
