"""The executor: scheduling, conditions, fan-out, retries, timeouts, checks, budget, cancellation."""
from __future__ import annotations

import asyncio
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.core.approvals import Decision
from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.store import Store
from orchestrator_nb.store.queries import run_detail


def run(p, **kw):
    kw.setdefault("db", False)
    return asyncio.run(run_pipeline(p, kw.pop("inputs", None), **kw))


def test_independent_steps_run_in_parallel():
    async def nap():
        await asyncio.sleep(0.3)
        return "ok"
    p = orc.Pipeline("par", [orc.step(f"s{i}", python=nap) for i in range(4)] +
                     [orc.step("join", code="output = len(steps)", needs=[f"s{i}" for i in range(4)])])
    t = time.perf_counter()
    r = run(p)
    took = time.perf_counter() - t
    assert r.status == "succeeded" and r["join"] >= 4
    assert took < 0.9, f"4 naps of 0.3 s took {took:.2f} s: not parallel"


def test_fan_out_respects_max_parallel_and_keeps_order():
    live = {"now": 0, "max": 0}

    async def work(x):
        live["now"] += 1
        live["max"] = max(live["max"], live["now"])
        await asyncio.sleep(0.02)
        live["now"] -= 1
        return x * 10

    p = orc.Pipeline("fan", [orc.step("items", code="output = list(range(9))"),
                             orc.step("each", for_each="{{ steps.items.output }}", max_parallel=3,
                                      python=work, params={"x": "{{ item }}"})])
    r = run(p)
    assert r["each"] == [i * 10 for i in range(9)]
    assert live["max"] == 3


def test_conditions_skip_and_skips_propagate_unless_a_step_decides_for_itself():
    p = orc.load("""
name: cond
inputs: {mode: {type: string, default: fast}}
steps:
  - id: fast
    when: "{{ inputs.mode == 'fast' }}"
    code: output = "fast path"
  - id: slow
    when: inputs.mode == 'slow'
    code: output = "slow path"
  - id: after_slow
    code: output = steps["slow"] + "!"
  - id: join
    needs: [fast, slow]
    when: "true"
    code: output = steps["fast"] or steps["slow"]
""")
    r = run(p)
    status = {s["id"]: s["status"] for s in r.steps}
    assert status == {"fast": "succeeded", "slow": "skipped", "after_slow": "skipped", "join": "succeeded"}
    assert r["join"] == "fast path"
    reasons = {s["id"]: s["reason"] for s in r.steps}
    assert reasons["slow"] == "condition is false"
    assert reasons["after_slow"] == "upstream step 'slow' was skipped"


def test_retry_succeeds_on_second_attempt_and_records_each_attempt():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("try again")
        return "fine"

    p = orc.Pipeline("retry", [orc.step("f", python=flaky, retry={"attempts": 3, "backoff": "fixed", "delay": 0.01})])
    r = run(p, db=None)
    assert r.status == "succeeded" and r["f"] == "fine" and len(calls) == 2
    rows = [(s["attempt"], s["status"]) for s in run_detail(Store(), r.run_id)["steps"]]
    assert rows == [(1, "failed"), (2, "succeeded")]


def test_retry_on_filters_which_errors_are_retried():
    calls = []

    def broken():
        calls.append(1)
        raise ValueError("a bug, not a hiccup")

    p = orc.Pipeline("r", [orc.step("b", python=broken, retry={"attempts": 3, "delay": 0, "retry_on": ["ConnectionError"]})])
    r = run(p)
    assert r.status == "failed" and len(calls) == 1
    assert "ValueError: a bug, not a hiccup" in r.error


def test_timeout_fails_the_attempt():
    async def slow():
        await asyncio.sleep(5)
    p = orc.Pipeline("t", [orc.step("s", python=slow, timeout=0.1)])
    t = time.perf_counter()
    r = run(p)
    assert time.perf_counter() - t < 2
    assert r.status == "failed" and "timed out after 0.1 s" in r.error


def test_check_failure_is_fed_back_and_the_step_runs_again():
    seen = []

    def draft(feedback=None):
        seen.append(feedback)
        return "short" if feedback is None else "a much longer and better answer"

    p = orc.Pipeline("chk", [orc.step("d", python=draft,
                                      check={"expr": "len(output) > 10", "message": "too short, write more"})])
    r = run(p)
    assert r["d"] == "a much longer and better answer"
    assert seen == [None, "too short, write more"]
    assert next(s for s in r.steps if s["id"] == "d")["attempts"] == 2


def test_check_gives_up_after_max_attempts():
    p = orc.Pipeline("chk", [orc.step("d", code="output = 'no'", check={"expr": "output == 'yes'", "max_attempts": 2})])
    r = run(p)
    assert r.status == "failed" and "check `output == 'yes'` failed 2 time(s)" in r.error


def test_a_python_check_gets_its_params_rendered_and_is_named_when_it_gives_up():
    seen = []

    def mentions(output, words, limit):
        seen.append((words, limit))
        return None if any(w in output for w in words) else f"name one of {', '.join(words)}"

    p = orc.Pipeline("chk", [
        orc.step("topic", python=lambda: ["lunch", "vote"]),
        orc.step("d", code="output = 'no idea'", needs=["topic"],
                 check={"python": mentions, "params": {"words": "{{ steps.topic.output }}", "limit": 3},
                        "max_attempts": 2})])
    r = run(p)
    assert seen == [(["lunch", "vote"], 3)] * 2
    assert r.status == "failed" and "check mentions failed 2 time(s), last: name one of lunch, vote" in r.error
    with pytest.raises(orc.SpecError, match="passed to a `python` check"):
        orc.step("e", code="output = 1", check={"expr": "output", "params": {"a": 1}})


def test_a_failure_stops_new_work_but_lets_running_steps_finish():
    finished = []

    async def slow():
        await asyncio.sleep(0.2)
        finished.append("slow")

    p = orc.Pipeline("stop", [orc.step("slow", python=slow), orc.step("bad", code="raise RuntimeError('boom')"),
                              orc.step("later", code="output = 1", needs=["bad"]),
                              orc.step("after_slow", code="output = 2", needs=["slow"])])
    r = run(p)
    assert r.status == "failed" and "RuntimeError: boom" in r.error
    status = {s["id"]: s["status"] for s in r.steps}
    assert finished == ["slow"] and status["slow"] == "succeeded"
    assert status["later"] == "pending" and status["after_slow"] == "pending"


def test_on_error_continue_skips_dependents_and_the_run_goes_on():
    p = orc.Pipeline("cont", [orc.step("bad", code="raise RuntimeError('x')", on_error="continue"),
                              orc.step("dep", code="output = 1", needs=["bad"]),
                              orc.step("other", code="output = 2")])
    r = run(p)
    status = {s["id"]: s["status"] for s in r.steps}
    assert r.status == "succeeded" and status == {"bad": "failed", "dep": "skipped", "other": "succeeded"}


def test_budget_stops_the_run_cleanly(scripted):
    scripted([{"reply": "word " * 400}])
    p = orc.load("""
name: budget
models: {m: scripted:pricey}
prices: {"scripted:pricey": {input: 1000, output: 1000}}
budget: {max_cost_usd: 0.05}
defaults: {model: m, max_tokens: 10}   # the worst case of `a` fits; its (unbounded) answer does not
steps:
  - id: a
    prompt: first
  - id: b
    prompt: "second {{ steps.a.output }}"
""")
    r = run(p, db=None)
    assert r.status == "budget_exceeded"
    assert "budget exceeded" in r.error and r.cost > 0.05
    assert len(scripted.calls) == 1
    assert Store().exists() and run_detail(Store(), r.run_id)["run"]["status"] == "budget_exceeded"


def test_cancellation_records_a_cancelled_run():
    async def forever():
        await asyncio.sleep(30)

    p = orc.Pipeline("cancel", [orc.step("wait", python=forever)])

    async def main():
        task = asyncio.ensure_future(run_pipeline(p, db=None))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    runs = orc.runs()
    assert runs[0]["status"] == "cancelled"
    steps = run_detail(Store(), runs[0]["run_id"])["steps"]
    assert [(s["step_id"], s["status"]) for s in steps] == [("wait", "cancelled")]


def test_sub_pipeline_runs_as_a_child_run(tmp_path):
    (tmp_path / "child.yaml").write_text("""
name: child
inputs: {n: {type: integer}}
steps:
  - id: double
    code: output = inputs["n"] * 2
""")
    (tmp_path / "parent.yaml").write_text("""
name: parent
steps:
  - id: sub
    pipeline: child.yaml
    params: {n: 21}
  - id: use
    code: output = steps["sub"]["double"]
""")
    r = run(orc.load(tmp_path / "parent.yaml"), db=None)
    assert r["use"] == 42
    children = run_detail(Store(), r.run_id)["children"]
    assert [c["pipeline"] for c in children] == ["child"] and children[0]["status"] == "succeeded"


def test_code_steps_see_their_scope_and_may_await():
    p = orc.load("""
name: code
inputs: {n: {type: integer, default: 2}}
steps:
  - id: a
    code: |
      import asyncio
      await asyncio.sleep(0)
      output = {"n": inputs["n"], "p": params["x"]}
    params: {x: "{{ inputs.n + 1 }}"}
  - id: b
    for_each: [1, 2]
    code: output = item + index + steps["a"]["p"]
""")
    r = run(p)
    assert r["a"] == {"n": 2, "p": 3} and r["b"] == [4, 6]


def test_sql_steps_bind_parameters_and_read_upstream_records():
    p = orc.load("""
name: sql
steps:
  - id: rows
    code: |
      output = [{"name": "a", "v": 1}, {"name": "b", "v": 5}]
  - id: big
    sql: SELECT name FROM steps_rows WHERE v > $min ORDER BY name
    params: {min: 2}
    needs: [rows]
  - id: injected
    sql: SELECT $text AS t
    params: {text: "x'); DROP TABLE steps_rows; --"}
""")
    r = run(p)
    assert r["big"] == [{"name": "b"}]
    assert r["injected"] == [{"t": "x'); DROP TABLE steps_rows; --"}]


def test_write_steps_record_artifacts_and_refuse_escapes(tmp_path):
    p = orc.load("""
name: w
inputs: {where: {type: string, default: ok.md}}
steps:
  - id: w
    write: {path: "out/{{ inputs.where }}", content: "# hi"}
""")
    r = run(p, db=None, outdir=str(tmp_path / "o"))
    assert r["w"]["path"] == "out/ok.md" and (tmp_path / "o" / "out" / "ok.md").read_text() == "# hi"
    art = run_detail(Store(), r.run_id)["artifacts"]
    assert art[0]["sha256"] == r["w"]["sha256"] and art[0]["media_type"] == "text/markdown"
    bad = run(p, inputs={"where": "../../escape.md"}, outdir=str(tmp_path / "o"))
    assert bad.status == "failed" and "escapes the output directory" in bad.error
    assert not (tmp_path / "escape.md").exists()


@pytest.mark.parametrize("policy,status", [("auto", "succeeded"), ("reject", "failed"), ("defer", "waiting"),
                                           ("fail", "failed")])
def test_headless_approval_policies(policy, status):
    p = orc.load("name: a\nsteps:\n  - id: draft\n    code: output = 'v1'\n  - id: review\n    approval: OK?\n"
                 "  - id: after\n    needs: [review]\n    code: output = 'done'\n")
    r = run(p, db=None, approval=policy)
    assert r.status == status
    if policy == "fail":
        assert "needs approval and the policy is 'fail'" in r.error
    if policy == "defer":
        pending = orc.approve(r.run_id, "review", "approve")
        assert pending["round"] == 1
        r2 = asyncio.run(orc.aresume(r.run_id))
        assert r2.status == "succeeded" and r2["after"] == "done"


def test_request_changes_regenerates_the_upstream_step_with_the_comment(scripted):
    scripted([{"match": "Reviewer|reviewer", "reply": "v2 with more detail"}, {"reply": "v1"}])

    class Reviewer:
        def __init__(self):
            self.seen = []

        async def decide(self, req):
            self.seen.append(req.show)
            if len(self.seen) == 1:
                return Decision("changes_requested", comment="add more detail", decided_by="me", mode="interactive")
            return Decision("approved", decided_by="me", mode="interactive")

    reviewer = Reviewer()
    p = orc.load("""
name: rc
steps:
  - id: plan
    prompt: Make a plan
    model: scripted:any
  - id: review
    approval: Is the plan right?
""")
    r = run(p, db=None, approver=reviewer)
    assert r.status == "succeeded"
    assert reviewer.seen == ["v1", "v2 with more detail"]
    assert "add more detail" in scripted.calls[-1]["prompt"]
    d = run_detail(Store(), r.run_id)
    assert [(a["round"], a["decision"], a["mode"]) for a in d["approvals"]] == \
        [(1, "changes_requested", "interactive"), (2, "approved", "interactive")]


def test_request_changes_on_a_for_each_step_asks_every_item_again_after_a_resume(scripted, tmp_path):
    scripted([{"match": "tides.*reviewer", "reply": "tides v2"}, {"match": "winds.*reviewer", "reply": "winds v2"},
              {"match": "tides", "reply": "tides v1"}, {"match": "winds", "reply": "winds v1"}])
    db = str(tmp_path / "s.duckdb")
    p = orc.load("""
name: each
steps:
  - id: notes
    for_each: [tides, winds]
    prompt: "Write about {{ item }}"
    model: scripted:any
  - id: review
    approval: Are the notes right?
    revise: notes
    show: "{{ steps.notes.output | join(' / ') }}"
""")
    first = run(p, db=db, approval="defer")
    assert first.status == "waiting"
    orc.approve(first.run_id, "review", "changes", comment="name the coast", db=db)
    second = asyncio.run(orc.aresume(first.run_id, db=db))
    assert second.status == "waiting"            # the revised notes are shown again
    assert orc.show(second.run_id, db=db)["pending"][0]["show"] == "tides v2 / winds v2"
    revised = [c["prompt"] for c in scripted.calls[2:]]
    assert len(revised) == 2
    for topic in ("tides", "winds"):             # each item sees its own first answer and the comment
        [prompt] = [r for r in revised if f"Write about {topic}" in r]
        assert f"{topic} v1" in prompt and "name the coast" in prompt
    orc.approve(first.run_id, "review", "approve", db=db)
    done = asyncio.run(orc.aresume(first.run_id, db=db))
    assert done.status == "succeeded" and done["notes"] == ["tides v2", "winds v2"]
    tries = orc.sql(f"SELECT item_index, attempt, status FROM steps WHERE run_id = '{first.run_id}' "
                    "AND step_id = 'notes' ORDER BY item_index, attempt", db=db)[1]
    assert [tuple(t) for t in tries] == [(-1, 1, "succeeded"), (-1, 2, "succeeded"), (0, 1, "succeeded"),
                                         (0, 2, "succeeded"), (1, 1, "succeeded"), (1, 2, "succeeded")]


def test_kernel_variables_are_usable_in_templates():
    p = orc.load("name: k\nsteps:\n  - id: a\n    code: output = params['x']\n    params: {x: '{{ topic }}'}\n",
                 names=["topic"])
    assert run(p, scope={"topic": "tides"})["a"] == "tides"


def test_a_step_may_be_named_like_a_dict_method():
    p = orc.load("name: m\nsteps:\n  - id: items\n    code: output = [1]\n  - id: get\n"
                 "    code: output = params['n']\n    params: {n: '{{ steps.items.output | length }}'}\n")
    assert run(p)["get"] == 1


def test_a_retry_that_repeats_a_request_asks_the_model_again(scripted):
    # the model copies its rejected answer once; the identical retry must not come from the cache
    scripted([{"match": "did not pass", "reply": ["short", "a long enough answer now"]}, {"reply": "short"}])
    p = orc.load("""
name: again
steps:
  - id: a
    prompt: Say something
    model: scripted:m
    check: {expr: "len(output) > 10", max_attempts: 4}
""")
    r = run(p, db=None)
    assert r.status == "succeeded" and r["a"] == "a long enough answer now"
    assert len(scripted.calls) == 3
    again = run(p, db=None)  # a re-run is answered from the cache, in the same order
    assert again["a"] == "a long enough answer now" and len(scripted.calls) == 3
