"""Run a snippet in a fresh interpreter and report its wall time and peak memory (for limit tests)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PRELUDE = """
import json, resource, time
t0 = time.monotonic()
result = {{}}
try:
{body}
except BaseException as e:
    result["error"] = f"{{type(e).__name__}}: {{e}}"
result["seconds"] = time.monotonic() - t0
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("MEASURE " + json.dumps(result, default=str))
"""


def measure(body: str, cwd=None, env=None, timeout: float = 120) -> dict:
    """``body`` may set ``result[...]``; returns result plus ``seconds`` (of the body) and ``peak_mb``."""
    code = PRELUDE.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    full_env = dict(os.environ, **(env or {}))
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True, text=True,
                       timeout=timeout)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("MEASURE ")), None)
    assert line is not None, (p.stdout, p.stderr)
    return json.loads(line[len("MEASURE "):])
