"""``%%orc`` and ``%orc``: orchestrator-nb in IPython and Jupyter.

``%load_ext orchestrator_nb`` registers the magics and an input transformer (see ``awaiting``)
that lets ``%%orc`` cells await their run on the kernel's loop instead of blocking it. This
module imports only IPython and traitlets (already loaded); everything else is imported when a
magic runs, so loading the extension stays fast.

Every mistake in what the user typed (options, YAML, template names, pipeline names, run ids)
is shown as one ``UsageError`` line; only real bugs show a traceback.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Float, Unicode

from .awaiting import AWAITED

POLICIES = ("ask", "auto", "reject", "defer")


def parse_line(parser, line: str, ns: dict | None = None):
    """Shell-like splitting (quotes removed, as a user expects) -> the parser's namespace.

    The magics opt out of IPython's own ``$name``/``{expr}`` expansion, which pastes a variable's
    text into the line *before* it is split: a value holding a quote could add options
    (``-p topic="$topic"`` with topic ``x" --approval "auto`` skipped the review). Here the line
    is split first and ``$name``, ``${name}`` and ``{name}`` are then replaced inside each word by
    the variable's value: data, never options."""
    import shlex
    try:
        argv = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"{e} in: {line.strip()}") from None
    if ns is not None:
        argv = [expand(word, ns) for word in argv]
    return parser.parse_args(argv)


# IPython's forms, for a variable and its attributes (`{project.run_id}`): $$ and {{ }} are a
# literal $ and braces; a name that is not there (or `_private`) stays as written
_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z]\w*)*"
_VARIABLE = re.compile(rf"\$\$|\{{\{{|\}}\}}|\$\{{({_NAME})\}}|\$({_NAME})|\{{({_NAME})\}}")
_MISSING = object()


def expand(word: str, ns: dict) -> str:
    """``word`` with the notebook variables it names filled in (see parse_line)."""
    if "$" not in word and "{" not in word and "}" not in word:
        return word

    def one(m):
        text = m.group(0)
        if text in ("$$", "{{", "}}"):
            return text[0]
        first, *attrs = (m.group(1) or m.group(2) or m.group(3)).split(".")
        value = ns.get(first, _MISSING)
        for attr in attrs:
            if value is _MISSING:
                break
            value = getattr(value, attr, _MISSING)
        return text if value is _MISSING else str(value)
    return _VARIABLE.sub(one, word)


@contextlib.contextmanager
def usage_errors():
    """orchestrator-nb's own errors (bad input) -> IPython's one-line UsageError."""
    from ..errors import OrcError
    try:
        yield
    except OrcError as e:
        raise UsageError(str(e)) from None


def run_options(fn):
    """The options shared by ``%%orc`` and ``%orc run``."""
    for deco in reversed([
        argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                 help="an input value (repeatable); KEY=@path reads the value from a file"),
        argument("--out", metavar="VAR", help="variable for the RunResult (default: the pipeline's name; "
                                              "`_orc` for a cell holding one step)"),
        argument("--model", metavar="M", help="model for every step that names none, over routing: (provider:model or alias)"),
        argument("--approval", choices=POLICIES, help="approval steps: ask (buttons; headless: defer), auto, "
                                                      "reject or defer (default: $ORC_APPROVAL, else ask)"),
        argument("--no-cache", action="store_true", help="recompute every step and model call"),
        argument("--isolate", action="store_true", help="run code/python steps in a confined child process"),
        argument("--dry-run", action="store_true", help="check and show the plan (graph, models); run nothing"),
        argument("--background", action="store_true",
                 help="return at once; VAR holds a handle: `await VAR` gives the RunResult"),
    ]):
        fn = deco(fn)
    return fn


class RunPlan:
    """What to run, decided from the magic's arguments (before anything starts)."""

    def __init__(self, pipeline, inputs, var, args, *, scope=None, shape="pipeline", resume_ref=None, notes=()):
        self.pipeline, self.inputs, self.var, self.args = pipeline, inputs, var, args
        self.scope, self.shape, self.resume_ref = scope or {}, shape, resume_ref
        self.notes = list(notes)  # a dry run's "not checked without running" references


@magics_class
class OrcMagics(Magics):
    """Settings (``%config OrcMagics.db = "runs.duckdb"``) and the ``%orc`` / ``%%orc`` magics."""

    db = Unicode(None, allow_none=True, help="store path (default: $ORC_DB or .orc/orc.duckdb)").tag(config=True)
    outdir = Unicode(".", help="where files written by runs go").tag(config=True)
    view_timeout = Float(3.0, help="seconds to wait for a widget frontend to show progress before "
                                   "treating the kernel as headless (papermill)").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.pipelines: dict[str, tuple] = {}     # name -> ("cell", body, file) | ("path", path)

    # helpers ---------------------------------------------------------------------------------
    def store(self):
        from ..store import Store
        return Store(self.db or None)

    @property
    def user_ns(self) -> dict:
        return self.shell.user_ns

    def _cell_file(self) -> str:
        return f"In[{getattr(self.shell, 'execution_count', '?')}]"

    def _outcome(self, coro):
        """Hand the caller a coroutine when it awaits us (the transformer), else run it here."""
        if AWAITED.get():
            return coro
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            from IPython.core.async_helpers import get_asyncio_loop
            return get_asyncio_loop().run_until_complete(coro)
        # a loop runs but this call cannot wait (inside a function, %autoawait off): go background
        print("orchestrator-nb: this call cannot wait for the run here, so it runs in the background and "
              "binds its variable when done (put %%orc / %orc run at the top level of a cell to wait)")
        asyncio.get_running_loop().create_task(coro)
        return None

    # %%orc -----------------------------------------------------------------------------------
    @magic_arguments(name="%orc")   # usage reads `%%orc ...`
    @argument("name", nargs="?", help="name of this pipeline: `%%orc run NAME` runs it again; also the default VAR")
    @run_options
    @cell_magic("orc")
    @no_var_expand  # variables are filled in after the line is split (parse_line)
    def orc_cell(self, line, cell):
        """Run the pipeline written in this cell.

        The cell holds YAML: a whole pipeline (with `steps:`), a list of steps, or one step (with
        an action key such as `prompt:`). Templates can use the notebook's variables by name:
        `prompt: Summarize {{ text }}`. The result (a RunResult: .status, .outputs,
        ["step_id"], .cost, .tokens, .run_id) is bound to VAR and displayed. Progress is live
        (widgets) in JupyterLab and plain text under papermill; approval steps show buttons,
        or follow --approval / $ORC_APPROVAL when no one can click (default there: defer).
        """
        args = parse_line(self.orc_cell.parser, line, self.user_ns)
        from .cell import default_var, pipeline_from_cell
        with usage_errors():
            pipeline, shape = pipeline_from_cell(cell, name=args.name, file=self._cell_file(),
                                                 names=list(self.user_ns))
            if args.name:
                self.pipelines[args.name] = ("cell", cell, args.name)
            elif shape == "pipeline":
                self.pipelines[pipeline.name] = ("cell", cell, None)
            plan = self._plan(pipeline, args, default_var(pipeline, shape, args.name), shape)
        return self._outcome(self._execute(plan))

    # %orc ------------------------------------------------------------------------------------
    @line_magic("orc")
    @no_var_expand  # as %%orc; `%orc sql` takes its query as written
    def orc_line(self, line):
        """orchestrator-nb commands. `%%orc?` documents the cell magic.

        %orc load PATH [--as NAME]          load a pipeline file (or a built-in name) as NAME
        %orc run NAME|PATH [-p KEY=VALUE]... [--out VAR] [--model M] [--approval P]
                 [--no-cache] [--isolate] [--dry-run] [--background]
                                            run a loaded pipeline, a %%orc NAME cell's, or a file
        %orc runs [--limit N] [--status S] [--pipeline P]
                                            recent runs (a table; keep it: `t = %orc runs`)
        %orc show RUN                       one run: steps, attempts, model calls, decisions
        %orc resume RUN [--approval P] [--out VAR] [--background]
                                            continue a failed, waiting or interrupted run
        %orc approve RUN STEP [--reject|--changes] [--comment TEXT] [--args JSON]
                                            decide a pending approval (a live run continues)
        %orc sql QUERY                      query the store (DuckDB SQL) as a table
        %orc models                         providers, whether a key is set, models
        %orc tools [NAME|PATH] [--no-mcp]   built-in tools and MCP servers' tools (with the pipeline's)
        %orc graph NAME|PATH                the pipeline's DAG
        %orc stats [--by model,pipeline,day] [--since DATE] [--pipeline P] [--model M]
                                            calls, tokens, cost, p50/p95 latency (a table and a chart)
        %orc budget                         cross-run budgets: limits, spent today, left

        RUN is a run id or a unique prefix of one. Settings: %config OrcMagics.db = "path".
        """
        words = line.strip().split(None, 1)
        if not words or words[0] in ("help", "-h", "--help"):
            print(self.orc_line.__doc__)
            return None
        cmd, rest = words[0], (words[1] if len(words) > 1 else "")
        handler = getattr(self, f"_cmd_{cmd}", None)
        if handler is None:
            from ..errors import suggest
            hint = suggest(cmd, SUBCOMMANDS) or "use " + ", ".join(SUBCOMMANDS)
            raise UsageError(f"unknown %orc command '{cmd}' ({hint})")
        if cmd == "sql":  # the query as one text, its variables filled in as IPython would
            return handler(expand(rest, self.user_ns))
        args = parse_line(parser(cmd), rest, self.user_ns)
        with usage_errors():
            return handler(args)

    def _cmd_load(self, args):
        from ..core.loader import load, resolve_path
        path = str(resolve_path(args.path))
        pipeline = load(path, names=list(self.user_ns))
        name = args.as_ or pipeline.name
        self.pipelines[name] = ("path", path)
        from .views import pipeline_view
        return pipeline_view(pipeline, title=f"loaded {pipeline.name} as {name!r} from {path}")

    def _cmd_run(self, args):
        from .cell import python_name
        pipeline = self._pipeline(args.target)
        plan = self._plan(pipeline, args, python_name(args.target if args.target in self.pipelines
                                                      else pipeline.name))
        return self._outcome(self._execute(plan))

    def _cmd_resume(self, args):
        from ..core.loader import load_text
        from ..store.queries import resume_state
        from .cell import kernel_scope, python_name
        run, _ = resume_state(self.store(), args.run)
        if run["status"] == "succeeded":
            raise UsageError(f"run {run['run_id']} already succeeded; nothing to resume")
        pipeline = load_text(run["spec_yaml"], file=f"<run {run['run_id']}>", names=None)
        plan = RunPlan(pipeline, None, args.out or python_name(pipeline.name), args,
                       scope=kernel_scope(pipeline, self.user_ns), resume_ref=run["run_id"])
        return self._outcome(self._execute(plan))

    def _cmd_runs(self, args):
        from .views import runs_table
        return runs_table(self.store(), args.limit, args.status, args.pipeline)

    def _cmd_show(self, args):
        from .views import run_view
        return run_view(self.store(), args.run)

    def _cmd_approve(self, args):
        from ..store.queries import decide
        from .approval import who
        decision = "reject" if args.reject else "changes" if args.changes else "approve"
        edited = None
        if args.args is not None:  # a tool call's edited arguments
            import json
            try:
                edited = json.loads(args.args)
            except ValueError as e:
                raise UsageError(f"--args is not valid JSON: {e}") from None
            if not isinstance(edited, dict) or decision != "approve":
                raise UsageError("--args takes a JSON object, and only with an approval (not --reject/--changes)")
        out = decide(self.store(), args.run, args.step, decision, args.comment, who(), "interactive", edited=edited)
        print(f"{out['decision']}: run {out['run_id']} step {out['step_id']} (round {out['round']}). "
              f"A live run continues by itself; a stored one with %orc resume {out['run_id']}")

    def _cmd_stats(self, args):
        from ..api.when import parse_when
        from ..store.stats import DIMENSIONS
        from .statsview import stats_view
        by = tuple(p.strip() for p in args.by.split(",") if p.strip())
        if not by or any(b not in DIMENSIONS for b in by):
            raise UsageError(f"--by {args.by!r}: use model, pipeline and/or day, comma-separated")
        return stats_view(self.store(), by, parse_when(args.since) if args.since else None,
                          parse_when(args.until, "--until") if args.until else None, args.pipeline, args.model)

    def _cmd_budget(self, args):
        from .statsview import budget_view
        return budget_view(self.store())

    def _cmd_sql(self, query):
        from .tables import Table
        if not query.strip():
            raise UsageError("%orc sql needs a query, e.g. %orc sql SELECT run_id, status FROM runs")
        from ..store.queries import sql
        try:
            with usage_errors():
                cols, rows = sql(self.store(), query)
        except UsageError:
            raise
        except Exception as e:  # DuckDB parser/binder errors are the user's SQL, not our bug
            import duckdb
            if isinstance(e, duckdb.Error):
                raise UsageError(f"SQL: {str(e).splitlines()[0]}") from None
            raise
        return Table(cols, rows, empty="(no rows)")

    def _cmd_models(self, args):
        from .views import models_table
        return models_table()

    def _cmd_tools(self, args):
        """Lists in a thread of its own (MCP servers start and stop there): the kernel's loop stays free."""
        import threading

        from ..tools.listing import list_tools
        from .views import tools_view
        pipeline = self._pipeline(args.target) if args.target else None
        out: dict = {}

        def work():
            try:
                out["listing"] = asyncio.run(list_tools(pipeline, servers=not args.no_mcp))
            except BaseException as e:  # shown in the cell, as one line
                out["error"] = e
        t = threading.Thread(target=work, name="orc-tools")
        t.start()
        t.join()
        if "error" in out:
            raise out["error"]
        return tools_view(out["listing"])

    def _cmd_graph(self, args):
        from .views import pipeline_view
        pipeline = self._pipeline(args.target)
        return pipeline_view(pipeline, title=f"{pipeline.name}: {len(pipeline.steps)} steps", graph_only=True)

    # running ---------------------------------------------------------------------------------
    def _pipeline(self, target: str):
        """A pipeline by registered name (a %%orc NAME cell, %orc load), file path or built-in."""
        names = list(self.user_ns)
        entry = self.pipelines.get(target)
        if entry is not None:
            if entry[0] == "cell":
                from .cell import pipeline_from_cell
                return pipeline_from_cell(entry[1], name=entry[2], file=f"<{target}>", names=names)[0]
            from ..core.loader import load
            return load(entry[1], names=names)
        from ..errors import SpecError
        from ..core.loader import load
        try:
            return load(target, names=names)
        except SpecError as e:
            if e.message.startswith("no pipeline file"):
                known = ", ".join(sorted(self.pipelines)) or "none yet"
                raise UsageError(f"no pipeline '{target}' (loaded here: {known}; or give a YAML path or a "
                                 "built-in name such as 'project')") from None
            raise

    def _plan(self, pipeline, args, default_var: str, shape: str = "pipeline") -> RunPlan:
        from ..api.params import parse_params
        from ..api.runner import coerce_inputs, prepare_pipeline as prepare
        from .cell import kernel_scope
        var = args.out or default_var
        if not var.isidentifier():
            raise UsageError(f"--out {var!r} is not a Python variable name")
        if args.model:
            from ..providers.routing import check_override
            check_override(pipeline, args.model)
        pipeline.model_override = args.model or None  # this run's choice only
        inputs = coerce_inputs(pipeline, parse_params(args.param, ()))
        notes = []
        if args.dry_run:  # check python: references without importing them; nothing runs
            from ..api.validate import validate_pipeline
            notes = validate_pipeline(pipeline)
        else:
            prepare(pipeline, bool(getattr(args, "isolate", False)))
        return RunPlan(pipeline, inputs, var, args, scope=kernel_scope(pipeline, self.user_ns), shape=shape,
                       notes=notes)

    async def _execute(self, plan: RunPlan):
        args = plan.args
        if args.dry_run:
            from .views import dry_run_view
            return dry_run_view(plan.pipeline, plan.inputs, plan.notes)
        from .launch import NotebookRun, RunHandle
        approval = args.approval or os.environ.get("ORC_APPROVAL") or "ask"
        run = NotebookRun(self.shell, store=self.store(), pipeline=plan.pipeline, inputs=plan.inputs,
                          resume_ref=plan.resume_ref, approval=approval, use_cache=not args.no_cache,
                          outdir=self.outdir, scope=plan.scope, view_timeout=self.view_timeout,
                          run_id=plan.resume_ref, isolate=bool(getattr(args, "isolate", False)))
        run.background = bool(args.background)
        run.start()
        if args.background:
            handle = RunHandle(run, plan.var)
            self.user_ns[plan.var] = handle
            return handle
        with usage_errors():
            result = await run.wait()
        self.user_ns[plan.var] = result
        return result


SUBCOMMANDS = ("load", "run", "runs", "show", "resume", "approve", "sql", "models", "tools", "graph", "stats",
               "budget", "help")


def parser(cmd: str):
    """The argument parser of one ``%orc`` subcommand (errors raise UsageError)."""
    from IPython.core.magic_arguments import MagicArgumentParser
    p = MagicArgumentParser(prog=f"%orc {cmd}")
    if cmd == "load":
        p.add_argument("path")
        p.add_argument("--as", dest="as_", metavar="NAME")
    elif cmd == "run":
        p.add_argument("target", metavar="NAME|PATH")
        p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
        p.add_argument("--out", metavar="VAR")
        p.add_argument("--model", metavar="M")
        p.add_argument("--approval", choices=POLICIES)
        p.add_argument("--no-cache", action="store_true")
        p.add_argument("--isolate", action="store_true")
        p.add_argument("--dry-run", action="store_true")
        p.add_argument("--background", action="store_true")
    elif cmd == "runs":
        p.add_argument("--limit", "-n", type=int, default=20)
        p.add_argument("--status")
        p.add_argument("--pipeline")
    elif cmd == "show":
        p.add_argument("run")
    elif cmd == "resume":
        p.add_argument("run")
        p.add_argument("--approval", choices=POLICIES)
        p.add_argument("--out", metavar="VAR")
        p.add_argument("--no-cache", action="store_true")
        p.add_argument("--background", action="store_true")
        p.set_defaults(dry_run=False)
    elif cmd == "approve":
        p.add_argument("run")
        p.add_argument("step")
        g = p.add_mutually_exclusive_group()
        g.add_argument("--reject", action="store_true")
        g.add_argument("--changes", action="store_true")
        p.add_argument("--comment", "-m")
        p.add_argument("--args", metavar="JSON", help="a tool call's edited arguments")
    elif cmd == "graph":
        p.add_argument("target", metavar="NAME|PATH")
    elif cmd == "tools":
        p.add_argument("target", nargs="?", metavar="NAME|PATH")
        p.add_argument("--no-mcp", action="store_true")
    elif cmd == "stats":
        p.add_argument("--by", default="model,pipeline,day")
        p.add_argument("--since")
        p.add_argument("--until")
        p.add_argument("--pipeline")
        p.add_argument("--model")
    return p


def load_ipython_extension(ipython) -> None:
    from .awaiting import install
    magics = OrcMagics(ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    install(ipython)


def unload_ipython_extension(ipython) -> None:
    from .awaiting import uninstall
    uninstall(ipython)
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("orc", None)
    old = manager.registry.pop("OrcMagics", None)
    if old is not None and old in ipython.configurables:
        ipython.configurables.remove(old)
