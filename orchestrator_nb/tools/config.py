"""Where MCP servers are declared: the pipeline's ``mcp:`` section, and the user's config file.

The user file (``$ORC_MCP_CONFIG``, else ``$XDG_CONFIG_HOME/orchestrator-nb/mcp.yaml``, else
``~/.config/orchestrator-nb/mcp.yaml``) declares servers every pipeline may use, in the same shape
as the pipeline's section, under ``servers:`` (or ``mcpServers:``, the JSON other MCP clients
write, which is YAML too). A pipeline's own declaration of a name wins over the user's.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import SpecError
from ..spec.format import MCP_SERVER


def user_config_path() -> Path:
    explicit = os.environ.get("ORC_MCP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "orchestrator-nb" / "mcp.yaml"


def user_servers() -> dict[str, dict]:
    """The servers of the user's config file ({} when there is none); a bad file is a SpecError."""
    path = user_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise SpecError(f"cannot read the MCP config {path}: {e.strerror}") from None
    from ..spec.yamlio import load_yaml
    data = load_yaml(text, str(path))[0] or {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping with `servers:`")
    servers = data.get("servers", data.get("mcpServers", data))
    if not isinstance(servers, dict):
        raise SpecError(f"{path}: `servers` must map names to servers")
    out = {}
    for name, server in servers.items():
        try:
            checked = MCP_SERVER.check(server, ("servers", name))
        except SpecError as e:
            raise SpecError(e.message, loc=e.loc, file=str(path), hint=e.hint) from None
        if (checked.get("command") is None) == (checked.get("url") is None):
            raise SpecError("an MCP server needs `command` (stdio) or `url` (HTTP)", loc=("servers", name),
                            file=str(path))
        out[str(name)] = {k: v for k, v in checked.items() if v is not None}
    return out


def declared_servers(pipeline=None) -> dict[str, dict]:
    """Every server a pipeline may name: the user's, overridden by the pipeline's."""
    servers = user_servers()
    if pipeline is not None:
        servers.update({k: {x: y for x, y in v.items() if y is not None} for k, v in (pipeline.mcp or {}).items()})
    return servers
