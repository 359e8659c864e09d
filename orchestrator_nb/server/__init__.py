"""The jupyter_server extension: a REST API over the run store for the JupyterLab sidebar.

Enabled on install (``jupyter-config/jupyter_server_config.d/orchestrator_nb.json``). Routes,
all under ``<base_url>orc/api/`` and all requiring an authenticated user:

    GET  runs                 list runs (?status= &pipeline= &top_level=1 &limit= &offset=)
    POST runs                 start a run in a worker process: {"pipeline", "inputs", ...} -> {"run_id"}
    GET  runs/<run_id>        one run: steps with attempts, outputs, LLM calls, approvals, artifacts
    POST runs/<run_id>/resume continue a waiting, failed or cancelled run in a worker process
    POST runs/<run_id>/cancel stop a run (it ends `cancelled`)
    GET  approvals            approvals waiting for a decision (?run_id=)
    POST approvals            decide one: {"run_id", "step_id", "decision", "comment"}
    GET  pipelines            the pipelines POST runs can start, with their typed inputs
    GET  info                 version and the store path this server reads
    GET  stats                cost and latency per model/pipeline/day (?by= &since= &until= &pipeline= &model=)
    GET  openapi.json         the OpenAPI description of all of the above

Runs started here execute in worker processes the server owns (``workers``); when the server
stops, it cancels the runs they still run.

The store is ``OrcServer.db`` (config), else ``ORC_DB``, else ``.orc/orc.duckdb`` under the
server's root directory; see ``settings``. Store calls block for tens of milliseconds, so the
handlers run them on a small thread pool, never on the IO loop. This package is a front-end:
the core never imports it.
"""
from __future__ import annotations

API_PREFIX = "orc/api"


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "orchestrator_nb.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from jupyter_server.utils import url_path_join

    from ..version import __version__
    from ..store import Store
    from .routes import FALLBACK, ROUTES
    from .settings import OrcServer
    from .gate import StoreGate
    from .workers import Supervisor

    settings = OrcServer(parent=serverapp)
    path = settings.store_path(serverapp.root_dir)
    if settings.set_kernel_env:
        settings.export_to_kernels(path)
    web_app = serverapp.web_app
    store = Store(path)
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="orc-store")
    files = ThreadPoolExecutor(max_workers=2, thread_name_prefix="orc-files")  # work that needs no store
    gate = StoreGate(store, executor, threads=2, wait=settings.store_wait)
    supervisor = Supervisor(store, serverapp.root_dir, gate, max_runs=settings.max_runs, log=serverapp.log)
    web_app.settings.update({
        "orc_store": store,
        "orc_gate": gate,
        "orc_files": files,
        "orc_version": __version__,
        "orc_root_dir": serverapp.root_dir,
        "orc_supervisor": supervisor,
    })
    _stop_workers_with(serverapp, supervisor)
    if store.exists():  # runs a server killed before its workers took them over (see owners)
        executor.submit(_quietly, supervisor.put_back_orphans, serverapp.log)
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, pattern), handler) for pattern, handler in ROUTES + [FALLBACK]])
    serverapp.log.info("orchestrator-nb %s: runs sidebar API at %s reading %s", __version__, base, path)


def _stop_workers_with(serverapp, supervisor) -> None:
    """Cancel the runs still in workers when the server stops. A plain server extension gets no
    stop hook of its own, so this joins the server's extension cleanup (awaited on shutdown)."""
    cleanup = serverapp.cleanup_extensions

    async def cleanup_extensions():
        try:
            await supervisor.stop_all()
        finally:
            await cleanup()

    serverapp.cleanup_extensions = cleanup_extensions


def _quietly(fn, log) -> None:
    try:
        fn()
    except Exception as e:  # the store is busy or unreadable: the next listing tries again
        log.warning("orchestrator-nb: could not look for runs left pending: %s", e)


# the name jupyter_server looked for before 2.0
load_jupyter_server_extension = _load_jupyter_server_extension
