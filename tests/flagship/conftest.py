"""Fixtures for the flagship tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from flagkit import REQUIREMENTS


@pytest.fixture
def requirements(tmp_path) -> Path:
    path = tmp_path / "requirements.md"
    path.write_text(REQUIREMENTS, encoding="utf-8")
    return path
