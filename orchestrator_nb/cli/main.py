"""`orc`: the command line. Parses arguments, calls the core, prints, maps outcomes to exit codes.

Exit codes: 0 succeeded, 1 failed, 2 invalid input, 3 waiting for approval, 4 budget exceeded,
130 interrupted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from ..api.params import parse_params
from ..errors import EXIT_CODES as EXIT, OrcError, UsageError, one_line



class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own format, minus the usage dump)
        print(f"{self.prog}: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


class _Subcommands(argparse._SubParsersAction):
    """Builds the parser of the command being run only (``only``; None builds them all): the
    others are named, for `--help` and "invalid choice", but their arguments are not set up
    (building every command's parser cost each `orc` call ~40 ms)."""
    only: str | None = None

    def add_parser(self, name, **kwargs):
        if self.only is None or name == self.only:
            return super().add_parser(name, **kwargs)
        self.name_only(name, kwargs.get("help"))
        return _Unbuilt()

    def name_only(self, name: str, help: str | None = None) -> None:
        self._name_parser_map[name] = None
        if help is not None:
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), help))


class _Unbuilt:
    """Stands in for a command's parser that is not built: takes any set-up call, does nothing."""
    def __getattr__(self, _name):
        return lambda *args, **kwargs: self


def _command_word(argv) -> str | None:
    """The command named on the command line (its first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word
        if word in ("-h", "--help", "--version"):
            return None
    return None


def build_parser(argv=None) -> argparse.ArgumentParser:
    """``argv``: build only the parser of the command it names (None: all of them)."""
    p = _Parser(prog="orc", description="Run multi-step AI pipelines, recorded in DuckDB.")
    p.add_argument("--version", action="version", version=_version())
    p.register("action", "parsers", _Subcommands)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.only = _command_word(argv) if argv is not None else None

    def db(sp):
        sp.add_argument("--db", help="store path (default: $ORC_DB or .orc/orc.duckdb)")

    sp = sub.add_parser("validate", help="load and check a pipeline; nothing runs")
    sp.add_argument("file", help="YAML path or built-in pipeline name")

    sp = sub.add_parser("run", help="run a pipeline")
    sp.add_argument("file", help="YAML path or built-in pipeline name (e.g. project)")
    sp.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                    help="input value; KEY=@path reads it from a file (repeatable)")
    sp.add_argument("-f", "--params-file", action="append", default=[], metavar="FILE", help="YAML file of inputs")
    sp.add_argument("--approval", choices=["auto", "reject", "defer", "fail"],
                    help="what approval steps do with nobody to click (default: $ORC_APPROVAL or defer)")
    sp.add_argument("--outdir", default=".", help="where written files go (default: working directory)")
    sp.add_argument("--model", help="model for every step that names none, over `routing:` and defaults "
                                    "(provider:model or an alias)")
    sp.add_argument("--no-cache", action="store_true", help="recompute everything (results are still cached)")
    sp.add_argument("--dry-run", action="store_true",
                    help="check inputs, references and model choices, show the plan and the estimated cost "
                         "range; run (and import) nothing")
    sp.add_argument("--isolate", action="store_true",
                    help="run every code/python step in a confined child process (for pipelines you do not trust)")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress, only the summary")
    sp.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    db(sp)

    sp = sub.add_parser("resume", help="continue a failed, waiting or crashed run")
    sp.add_argument("run_id")
    sp.add_argument("--approval", choices=["auto", "reject", "defer", "fail"])
    sp.add_argument("--isolate", action="store_true", default=None,
                    help="isolate code/python steps (a run started with --isolate always is)")
    sp.add_argument("--quiet", "-q", action="store_true")
    sp.add_argument("--json", action="store_true")
    db(sp)

    sp = sub.add_parser("runs", help="list runs")
    sp.add_argument("--limit", "-n", type=_at_least_1, default=20, help="how many runs (default 20)")
    sp.add_argument("--status", choices=["pending", "running", "succeeded", "failed", "waiting", "cancelled",
                                         "budget_exceeded"])
    sp.add_argument("--pipeline")
    sp.add_argument("--all", action="store_true", help="include sub-pipeline runs")
    sp.add_argument("--json", action="store_true")
    db(sp)

    sp = sub.add_parser("show", help="one run: steps, attempts, model calls, decisions, artifacts")
    sp.add_argument("run_id")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--events", action="store_true", help="list every event")
    db(sp)

    sp = sub.add_parser("approve", help="decide a pending approval")
    sp.add_argument("run_id")
    sp.add_argument("step_id")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--reject", action="store_true", help="reject (the run fails at this step)")
    g.add_argument("--changes", action="store_true", help="request changes (needs --comment)")
    sp.add_argument("--comment", "-m", help="a note for the record; for --changes, what to change")
    sp.add_argument("--edit", metavar="FILE", help="approve with edits: your version of the output under review "
                                                   "(JSON if it parses, else text; - reads stdin)")
    sp.add_argument("--input", metavar="JSON", help="the gate's form values as a JSON object (@FILE reads a file)")
    sp.add_argument("--args", metavar="JSON", help="a tool call's edited arguments, as a JSON object (like --edit, "
                                                  "inline)")
    sp.add_argument("--by", help="who decides (default: $USER)")
    db(sp)

    sp = sub.add_parser("cancel", help="stop a running run, or cancel a waiting one (it ends `cancelled`)")
    sp.add_argument("run_id")
    sp.add_argument("--by", help="who cancels, for the record (default: $USER)")
    sp.add_argument("--json", action="store_true")
    db(sp)

    sp = sub.add_parser("sql", help="query the store with DuckDB SQL")
    sp.add_argument("query")
    sp.add_argument("--json", action="store_true")
    db(sp)

    sub.add_parser("schema", help="print the JSON Schema of the pipeline format")

    sp = sub.add_parser("models", help="list providers, whether a key is set, base URLs and models")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("cache", help="export, import or clear recorded model calls and tool results (JSONL cassettes)")
    csub = sp.add_subparsers(dest="cache_command", metavar="ACTION", parser_class=_Parser)
    cp = csub.add_parser("export", help="write recordings as JSONL")
    cp.add_argument("file", help="output path, or - for stdout")
    cp.add_argument("--pipeline", help="only recordings made by this pipeline")
    db(cp)
    cp = csub.add_parser("import", help="load recordings from JSONL")
    cp.add_argument("file")
    db(cp)
    cp = csub.add_parser("clear", help="delete cached results")
    cp.add_argument("--what", choices=["llm", "tool", "step", "all"], default="all")
    db(cp)

    from . import extra
    extra.add_commands(sub, COMMANDS)
    return p


def _at_least_1(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return n


def _version() -> str:
    from ..version import __version__
    return f"orchestrator-nb {__version__}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args) or 0
    except OrcError as e:
        print(f"orc: error: {one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("orc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if os.environ.get("ORC_DEBUG"):
            raise
        from ..providers.base import redact
        print(redact(f"orc: internal error: {type(e).__name__}: {e} (set ORC_DEBUG=1 for the traceback)"),
              file=sys.stderr)
        return 1


# commands ---------------------------------------------------------------------------------------
def cmd_validate(args) -> int:
    from ..api.validate import validate_pipeline
    from ..core.loader import load
    p = load(args.file)
    for note in validate_pipeline(p):  # finds python: modules without importing them
        print(f"note: {note}", file=sys.stderr)
    kinds = {}
    for s in p.steps.values():
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
    print(f"ok: {p.name} — {len(p.steps)} steps ({summary})")
    return 0


def _subscribers(args):
    if getattr(args, "quiet", False):
        return []
    from ..report.console import ConsoleProgress
    return [ConsoleProgress()]


def _finish(result, args) -> int:
    from ..report.console import summary_table
    if getattr(args, "json", False):
        from ..core.serialize import dumps
        print(dumps({"run_id": result.run_id, "pipeline": result.pipeline, "status": result.status,
                     "error": result.error, "cost_usd": result.cost, "tokens": result.tokens,
                     "outputs": result.outputs}))
    else:
        _print_outputs(result)
        print(summary_table(result))
        if result.status == "waiting":
            for run_id, sid in _pending(result, getattr(args, "db", None)):
                print(f"waiting for approval: orc approve {run_id} {sid}  (then: orc resume {result.run_id})")
    return EXIT.get(result.status, 1)


def _pending(result, db) -> list[tuple[str, str]]:
    """(run, step) of each approval the run waits for, its sub-pipelines' included."""
    from ..store import Store
    from ..store.queries import pending_approvals
    try:
        rows = pending_approvals(Store(db))
    except OrcError:
        rows = []
    found = [(r["run_id"], r["step_id"]) for r in rows
             if result.run_id in (r["run_id"], r.get("parent_run_id"))]
    return found or [(result.run_id, s["id"]) for s in result.steps if s["status"] == "waiting"]


def _print_outputs(result, limit: int = 2000) -> None:
    """The outputs of the final steps (those no other step uses), so a run shows what it made."""
    used = {d for deps in result.graph.values() for d in deps}
    for sid in result.graph:
        if sid in used or sid not in result.outputs or result.outputs[sid] is None:
            continue
        value = result.outputs[sid]
        if not isinstance(value, str):
            from ..core.serialize import to_jsonable
            value = json.dumps(to_jsonable(value), ensure_ascii=False, indent=2)
        value = value if len(value) <= limit else value[:limit] + " …"
        print(f"── {sid} ──\n{value.strip()}\n")


def cmd_run(args) -> int:
    from ..api.runner import run_pipeline
    from ..core.loader import load
    pipeline = load(args.file)
    if args.model:
        from ..providers.routing import check_override
        check_override(pipeline, args.model)
        pipeline.model_override = args.model
    params = parse_params(args.param, args.params_file)
    if args.dry_run:
        return _dry_run(pipeline, params, as_json=args.json)
    from ..providers.routing import offline_note
    note = offline_note(pipeline)
    if note:
        print(note, file=sys.stderr)
    result = asyncio.run(run_pipeline(pipeline, params, db=args.db, outdir=args.outdir, approval=args.approval,
                                      subscribers=_subscribers(args), source="cli", use_cache=not args.no_cache,
                                      isolate=args.isolate))
    return _finish(result, args)


def _dry_run(pipeline, params, as_json: bool = False) -> int:
    """The plan and what it may cost, checked without running or importing any of the pipeline's code."""
    from ..api.estimate import estimate_lines, estimate_pipeline
    from ..api.runner import coerce_inputs
    from ..api.validate import validate_pipeline
    from ..providers.routing import resolve_chain
    inputs = coerce_inputs(pipeline, params)
    notes = validate_pipeline(pipeline)
    if as_json:
        from ..core.serialize import dumps
        steps = [{"id": sid, "kind": s.kind, "needs": sorted(s.deps),
                  "models": resolve_chain(pipeline, s.model, s.task) if s.kind == "prompt" else [],
                  "target": s.action if s.kind == "python" and isinstance(s.action, str) else None}
                 for sid, s in pipeline.steps.items()]
        print(dumps({"dry_run": True, "pipeline": pipeline.name, "inputs": inputs, "steps": steps,
                     "estimate": estimate_pipeline(pipeline, inputs), "notes": list(notes)}))
        return 0
    print(f"dry run: {pipeline.name} — {len(pipeline.steps)} steps, checked; nothing ran")
    if inputs:
        shown = json.dumps(inputs, ensure_ascii=False, default=str)
        print("inputs: " + (shown if len(shown) < 300 else shown[:297] + "..."))
    rows = []
    for sid, s in pipeline.steps.items():
        chain = " → ".join(resolve_chain(pipeline, s.model, s.task)) if s.kind == "prompt" else ""
        target = s.action if s.kind == "python" and isinstance(s.action, str) else ""
        rows.append((sid, s.kind, ", ".join(sorted(s.deps)), chain or target))
    print(_table(("step", "kind", "needs", "model chain / target"), rows))
    print("\n".join(estimate_lines(estimate_pipeline(pipeline, inputs))))
    for note in notes:
        print(f"note: {note}")
    return 0


def cmd_resume(args) -> int:
    from ..api.runner import resume_run
    result = asyncio.run(resume_run(args.run_id, db=args.db, approval=args.approval,
                                    subscribers=_subscribers(args), isolate=args.isolate))
    return _finish(result, args)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


CELL = 200  # characters of a value a table shows (`--json` gives them whole)


def _table(header, rows) -> str:
    rows = [tuple(_cell(v) for v in r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows])


def _cell(value) -> str:
    """A value as one table cell: one line, at most CELL characters (one 40 MB input used to widen
    every row of `orc sql` to 40 MB)."""
    text = "" if value is None else one_line(str(value))
    return text if len(text) <= CELL else text[:CELL - 1] + "…"


def cmd_runs(args) -> int:
    from ..store import Store
    from ..store.queries import list_runs
    store = Store(args.db)
    rows = list_runs(store, limit=args.limit, status=args.status, pipeline=args.pipeline,
                     top_level=not args.all) if store.exists() else []
    if args.json:
        from ..core.serialize import dumps
        print(dumps(rows))
        return 0
    if not rows:
        print("no runs yet (orc run PIPELINE.yaml)")
        return 0
    table = []
    for r in rows:
        took = (r["ended_at"] - r["started_at"]).total_seconds() if r["ended_at"] and r["started_at"] else None
        table.append((r["run_id"], r["pipeline"], r["status"], _when(r["started_at"]),
                      f"{took:.1f}s" if took is not None else "", f"${r['cost_usd'] or 0:.4f}", r["source"]))
    print(_table(("run", "pipeline", "status", "started (UTC)", "took", "cost", "source"), table))
    return 0


def cmd_show(args) -> int:
    from ..store import Store
    from ..store.queries import run_detail
    d = run_detail(Store(args.db), args.run_id)
    if args.json:
        from ..core.serialize import dumps
        print(dumps(d))
        return 0
    r = d["run"]
    print(f"run {r['run_id']} · {r['pipeline']} · {r['status']} · started {_when(r['started_at'])} UTC"
          f" · ${r['cost_usd'] or 0:.4f} · {(r['tokens_in'] or 0) + (r['tokens_out'] or 0)} tokens")
    if r.get("error"):
        print(f"error: {r['error']}")
    if r.get("inputs"):
        shown = json.dumps(r["inputs"], ensure_ascii=False)
        print("inputs: " + (shown if len(shown) < 300 else shown[:297] + "..."))
    print()
    rows = []
    for s in d["steps"]:
        took = (s["ended_at"] - s["started_at"]).total_seconds() if s["ended_at"] and s["started_at"] else None
        item = "" if s["item_index"] < 0 else str(s["item_index"])
        note = s["error"] or ("cached" if s["cached"] else "")
        rows.append((s["step_id"], item, s["attempt"], s["status"], s["model"] or "",
                     f"{took * 1000:.0f}ms" if took is not None else "", note[:70]))
    print(_table(("step", "item", "try", "status", "model", "took", "note"), rows))
    if d.get("llm_calls"):
        print("\nmodel calls:")
        print(_table(("step", "provider:model", "tokens in/out", "cost", "latency", "cached", "error"),
                     [(c["step_id"], f"{c['provider']}:{c['model']}", f"{c['tokens_in']}/{c['tokens_out']}",
                       f"${c['cost_usd'] or 0:.5f}", f"{c['latency_ms'] or 0:.0f}ms", "yes" if c["cached"] else "",
                       (c["error"] or "")[:60]) for c in d["llm_calls"]]))
    if d.get("tool_calls"):
        print("\ntool calls:")
        print(_table(("step", "item", "try", "turn", "tool", "arguments", "result", "took", "decision"),
                     [(c["step_id"], "" if c["item_index"] < 0 else c["item_index"], c["attempt"], c["turn"], c["tool"],
                       _brief(c["arguments"], 40), "error: " + _brief(c["error"], 36) if c["error"] else
                       _brief(c["result"], 40), "cached" if c["cached"] else f"{c['duration_ms'] or 0:.0f}ms",
                       c["decision"] or "") for c in d["tool_calls"]]))
    _print_pending(d.get("pending") or [])
    if d["approvals"]:
        print("\ndecisions:")
        print(_table(("step", "round", "decision", "by", "mode", "comment"),
                     [(a["step_id"], a["round"], a["decision"], a["decided_by"], a["mode"], a["comment"])
                      for a in d["approvals"]]))
    if d["artifacts"]:
        print("\nartifacts:")
        print(_table(("step", "path", "bytes", "sha256"),
                     [(a["step_id"], a["rel_path"] or a["path"], a["bytes"], a["sha256"][:16]) for a in d["artifacts"]]))
    if d["children"]:
        print("\nsub-runs: " + ", ".join(f"{c['run_id']} ({c['pipeline']}, {c['status']})" for c in d["children"]))
    events = d["events"] if args.events else [e for e in d["events"] if e["level"] in ("warning", "error")][-10:]
    if events:
        print("\nevents:" if args.events else "\nwarnings and errors:")
        for e in events:
            print(f"  {_when(e['ts'])} {e['level']:<7} {e['step_id'] or '-':<18} {e['message']}")
    return 0


def _brief(value, width: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _print_pending(pending: list[dict], limit: int = 4000) -> None:
    """Each approval waiting for a decision: the question, the content to review, the commands."""
    for a in pending:
        where = f"run {a['run_id']} " if a.get("parent_run_id") else ""
        print(f"\nwaiting for approval: {where}step {a['step_id']} (round {a['round']})")
        print(f"  {a['question']}")
        show = (a.get("show") or "").rstrip()
        if show:
            if len(show) > limit:
                show = show[:limit] + f"\n… ({len(show) - limit} more characters: orc show {a['run_id']} --json)"
            print("  ── to review ──")
            print("\n".join("  │ " + line for line in show.splitlines()))
        print(f"  approve:  {a['approve']}\n  changes:  {a['request_changes']}\n  reject:   {a['reject']}")
        print(f"  then:     {a['resume']}")


def cmd_cancel(args) -> int:
    from ..api.cancel import cancel_run
    from ..store import Store
    by = args.by or os.environ.get("USER") or os.environ.get("USERNAME") or "cli"
    out = cancel_run(Store(args.db), args.run_id, f"cli:{by}")
    if args.json:
        from ..core.serialize import dumps
        print(dumps(out))
    elif out["status"] == "cancelled":
        how = f" ({', '.join(out['signals'])} to its process)" if out["signals"] else ""
        print(f"cancelled: run {out['run_id']} (was {out['previous']}){how} in {out['seconds']:.1f} s")
    else:
        print(f"run {out['run_id']} ended {out['status']} before the cancel took effect")
    return 0 if out["status"] == "cancelled" else 1


def cmd_approve(args) -> int:
    from ..store import Store
    from ..store.queries import decide
    decision = "reject" if args.reject else "changes" if args.changes else "approve"
    by = args.by or os.environ.get("USER") or os.environ.get("USERNAME") or "cli"
    text = _read_value("--edit", args.edit, parse_json=False) if args.edit else None
    edited = _read_value("--edit", None, parse_json=True, text=text) if args.edit else None
    if args.args is not None:  # a tool call's arguments, inline
        try:
            edited = json.loads(args.args)
        except ValueError as e:
            raise UsageError(f"--args is not valid JSON: {e}") from None
    form = None
    if args.input:
        form = _read_value("--input", args.input[1:] if args.input.startswith("@") else None, parse_json=True,
                           text=None if args.input.startswith("@") else args.input)
        if not isinstance(form, dict):
            raise UsageError("--input: give the form's values as a JSON object, e.g. --input '{\"budget\": 5}'")
    if (edited is not None or form is not None) and decision != "approve":
        raise UsageError("--edit and --input go with approving (leave out --reject/--changes)")
    out = decide(Store(args.db), args.run_id, args.step_id, decision, args.comment, by, "cli",
                 edited=edited, input=form, tool_args=args.args is not None, edited_text=text)
    print(f"{out['decision']}: run {out['run_id']} step {out['step_id']} (round {out['round']}); "
          f"`orc resume {out['resume']}` continues a stored run (a live one continues by itself)")
    return 0


def _read_value(option: str, path: str | None, parse_json: bool, text: str | None = None):
    """A value given on the command line: a file's (or stdin's, for -) text, or ``text``; JSON
    when it parses as JSON."""
    from ..textfile import read_named, why
    if text is None:
        try:
            text = read_named(path)  # "-": standard input
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{option} {path}: cannot read it ({why(e)})") from None
    if parse_json:
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            if option == "--input":
                raise UsageError(f"{option}: not valid JSON (or nested too deeply)") from None
    return text


def cmd_sql(args) -> int:
    from ..store import Store
    from ..store.queries import sql
    try:
        cols, rows = sql(Store(args.db), args.query)
    except OrcError:
        raise
    except Exception as e:  # DuckDB's parser/binder errors are about the user's SQL: one line, exit 2
        import duckdb
        if isinstance(e, duckdb.Error):
            raise UsageError(f"SQL: {str(e).splitlines()[0]}") from None
        raise
    if args.json:
        from ..core.serialize import dumps
        print(dumps([dict(zip(cols, r)) for r in rows]))
    elif cols:
        print(_table(cols, rows))
    return 0


def cmd_schema(args) -> int:
    from ..spec.format import json_schema
    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_models(args) -> int:
    from ..providers.listing import provider_table
    rows = provider_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = []
    for r in rows:
        key = "not needed" if r["key_env"] is None else (f"{r['key_env']} set" if r["key_present"]
                                                         else f"{r['key_env']} missing")
        models = ", ".join(r["models"][:3]) + (" …" if len(r["models"]) > 3 else "")
        table.append((r["provider"], "yes" if r["ready"] else "no", key, r["base_url"] or "", models))
    print(_table(("provider", "ready", "key", "base URL", "models"), table))
    return 0


def cmd_cache(args) -> int:
    from ..store import Store
    from .cassettes import export_cassette, import_cassette
    store = Store(args.db)
    if args.cache_command == "export":
        n = export_cassette(store.cache, args.file, pipeline=args.pipeline)
        print(f"exported {n} recordings to {args.file}", file=sys.stderr)
    elif args.cache_command == "import":
        n = import_cassette(store.cache, args.file)
        print(f"imported {n} recordings from {args.file}")
    elif args.cache_command == "clear":
        n = store.cache.clear(None if args.what == "all" else args.what)
        print(f"deleted {n} cached results")
    else:
        raise UsageError("orc cache needs an action: export, import or clear")
    return 0


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "resume": cmd_resume, "runs": cmd_runs, "show": cmd_show,
            "approve": cmd_approve, "cancel": cmd_cancel, "sql": cmd_sql, "schema": cmd_schema, "models": cmd_models,
            "cache": cmd_cache}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
