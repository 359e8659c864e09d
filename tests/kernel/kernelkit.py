"""Helpers for the kernel tests (a module of its own: see tests/batch/batchkit.py)."""
from __future__ import annotations

from pathlib import Path


def store_rows(tmp_path: Path, sql: str, params=()):
    from orchestrator_nb.store import Store
    with Store(tmp_path / ".orc" / "orc.duckdb").connect() as con:
        return con.execute(sql, list(params)).fetchall()
