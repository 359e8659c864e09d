"""Which store the server reads, as traitlets config (``c.OrcServer.db`` or ``--OrcServer.db=PATH``)."""
from __future__ import annotations

import os

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Configurable


class OrcServer(Configurable):
    """orchestrator-nb settings for the Jupyter server."""

    db = Unicode(
        "",
        config=True,
        help="The run store (DuckDB file) the sidebar reads and approvals write. Default: ORC_DB, "
             "else .orc/orc.duckdb under the server's root directory. A relative path is relative "
             "to the root directory.",
    )
    set_kernel_env = Bool(
        True,
        config=True,
        help="Set ORC_DB (absolute) in the server's environment so kernels it starts record their runs "
             "in the same store, whatever folder their notebook is in.",
    )

    max_runs = Int(
        4,
        config=True,
        help="How many runs started or resumed through the REST API may execute at once (one worker "
             "process each); more requests get 429 until one ends.",
    )

    store_wait = Float(
        5.0,
        config=True,
        help="Seconds a REST request waits for the store while another process holds it (a long `orc sql`) "
             "before it gets 503; the sidebar tries again at its next poll.",
    )

    def store_path(self, root_dir: str) -> str:
        root = os.path.expanduser(root_dir or os.getcwd())
        if self.db:
            path = os.path.expanduser(self.db)
            return os.path.abspath(path if os.path.isabs(path) else os.path.join(root, path))
        env = os.environ.get("ORC_DB")
        if env:
            return os.path.abspath(os.path.expanduser(env))
        return os.path.abspath(os.path.join(root, ".orc", "orc.duckdb"))

    @staticmethod
    def export_to_kernels(path: str) -> None:
        os.environ["ORC_DB"] = path
