"""`orc models`: what providers exist and whether each is ready to use (never showing keys)."""
from __future__ import annotations


def provider_table() -> list[dict]:
    from .registry import provider_class, provider_names
    rows = []
    for name in provider_names():
        try:
            cls = provider_class(name)
        except Exception as e:  # a broken plugin is listed, not fatal
            rows.append({"provider": name, "key_env": None, "key_present": False, "base_url": None,
                         "models": [], "ready": False, "note": f"cannot load: {type(e).__name__}"})
            continue
        rows.append({"provider": name, "key_env": cls.key_env,
                     "key_present": bool(cls.env_key()) if cls.key_env else None,
                     "base_url": cls.env_base_url(), "models": list(cls.models), "ready": cls.configured(),
                     "note": getattr(cls, "note", "") or ""})
    return rows
