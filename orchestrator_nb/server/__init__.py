"""The jupyter_server extension: a REST API over the run store for the JupyterLab sidebar.

Enabled on install (``jupyter-config/jupyter_server_config.d/orchestrator_nb.json``). Routes,
all under ``<base_url>orc/api/`` and all requiring an authenticated user:

    GET  runs                 list runs (?status= &pipeline= &top_level=1 &limit= &offset=)
    GET  runs/<run_id>        one run: steps with attempts, outputs, LLM calls, approvals, artifacts
    GET  approvals            approvals waiting for a decision (?run_id=)
    POST approvals            decide one: {"run_id", "step_id", "decision", "comment"}
    GET  info                 version and the store path this server reads
    GET  stats                cost and latency per model/pipeline/day (?by= &since= &until= &pipeline= &model=)

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
    from .handlers import ROUTES
    from .settings import OrcServer

    settings = OrcServer(parent=serverapp)
    path = settings.store_path(serverapp.root_dir)
    if settings.set_kernel_env:
        settings.export_to_kernels(path)
    web_app = serverapp.web_app
    web_app.settings.update({
        "orc_store": Store(path),
        "orc_executor": ThreadPoolExecutor(max_workers=2, thread_name_prefix="orc-store"),
        "orc_version": __version__,
        "orc_root_dir": serverapp.root_dir,
    })
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, pattern), handler) for pattern, handler in ROUTES])
    serverapp.log.info("orchestrator-nb %s: runs sidebar API at %s reading %s", __version__, base, path)


# the name jupyter_server looked for before 2.0
load_jupyter_server_extension = _load_jupyter_server_extension
