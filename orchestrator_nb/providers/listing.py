"""`orc models`: what providers exist and whether each is ready to use (never showing keys)."""
from __future__ import annotations


def provider_table() -> list[dict]:
    """One row per provider: name, key variable, whether it is set (never its value), base URL,
    well-known models, whether automatic routing may pick it, and a note."""
    from .registry import provider_class, provider_names
    rows = []
    for name in provider_names():
        try:
            cls = provider_class(name)
        except Exception as e:  # a broken plugin is listed, not fatal
            rows.append({"provider": name, "key_env": None, "key_present": False, "base_url": None,
                         "models": [], "ready": False, "note": f"cannot load: {type(e).__name__}"})
            continue
        try:
            ready = bool(cls.configured())
            base_url = cls.env_base_url()
            key_present = bool(cls.env_key()) if cls.key_env else None
        except Exception as e:
            ready, base_url, key_present = False, None, None
            note = f"misconfigured: {type(e).__name__}"
        else:
            note = str(getattr(cls, "note", "") or "").replace("<NAME>", name.upper())
        rows.append({"provider": name, "key_env": cls.key_env, "key_present": key_present,
                     "base_url": base_url, "models": list(cls.models), "ready": ready, "note": note})
    return rows
