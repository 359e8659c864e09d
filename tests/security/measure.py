"""Run a snippet in a fresh interpreter and report its time and peak memory (for limit tests).

``cpu`` (process time) is what the limits promise on an idle machine; ``seconds`` (wall time)
also counts waiting for a core on a busy one, so tests bound it loosely, as a hang guard."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PRELUDE = """
import json, time
t0, c0 = time.monotonic(), time.process_time()
result = {{}}
try:
{body}
except BaseException as e:
    result["error"] = f"{{type(e).__name__}}: {{e}}"
result["seconds"] = time.monotonic() - t0
result["cpu"] = time.process_time() - c0
# VmHWM: this process image's peak (ru_maxrss would include the forking test process's)
with open("/proc/self/status") as fh:
    result["peak_mb"] = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")) / 1024
print("MEASURE " + json.dumps(result, default=str))
"""


def measure(body: str, cwd=None, env=None, timeout: float = 120) -> dict:
    """``body`` may set ``result[...]``; returns result plus ``seconds``, ``cpu`` (of the body) and ``peak_mb``."""
    code = PRELUDE.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    full_env = dict(os.environ, **(env or {}))
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True, text=True,
                       timeout=timeout)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("MEASURE ")), None)
    assert line is not None, (p.stdout, p.stderr)
    return json.loads(line[len("MEASURE "):])
