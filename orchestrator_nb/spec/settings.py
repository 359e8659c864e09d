"""The settings file: ``settings.yaml`` next to the store (``.orc/settings.yaml``), or the file
``ORC_SETTINGS`` names. Its keys are defined in ``spec.format.SETTINGS``; a mistake is one line
``file:line: budgets.daily_usd: expected a number``. Read again only when the file changes.

    budgets:
      daily_usd: 5.0                 # every run, per UTC day
      pipeline_daily_usd: 1.0        # each pipeline
      pipelines: {project: 2.0}      # this one may spend more
    telemetry:
      endpoint: http://localhost:4318
      capture_content: false
"""
from __future__ import annotations

import os

from ..envvars import env
from ..errors import SpecError
from .format import SETTINGS

FILE_NAME = "settings.yaml"

_cache: dict[str, tuple] = {}


def settings_path(store_path=None) -> str | None:
    """``ORC_SETTINGS``, else ``settings.yaml`` in the store's folder (None without a store)."""
    named = env("ORC_SETTINGS")
    if named:
        return os.path.abspath(os.path.expanduser(named))
    if store_path is None:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(str(store_path))), FILE_NAME)


def load_settings(store_path=None) -> dict:
    """The checked settings ({} when there is no file)."""
    path = settings_path(store_path)
    if path is None:
        return {}
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        if env("ORC_SETTINGS"):
            raise SpecError("the settings file does not exist", file=path,
                            hint="fix ORC_SETTINGS or create the file") from None
        return {}
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    from .yamlio import load_yaml
    with open(path, encoding="utf-8") as f:
        data, lines = load_yaml(f.read(), file=path)
    try:
        checked = SETTINGS.check(data or {}, ())
    except SpecError as e:
        raise SpecError(e.message, loc=e.loc, file=path, line=lines.near(e.loc), hint=e.hint) from None
    _cache[path] = (mtime, checked)
    return checked
