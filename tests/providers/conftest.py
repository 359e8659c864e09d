"""Fixtures for the provider tests."""
from __future__ import annotations

import pytest

from provkit import Collector


@pytest.fixture
def collector():
    return Collector()
