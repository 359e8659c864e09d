"""Every route of the REST API under ``<base_url>orc/api/`` (the OpenAPI document lists the same)."""
from __future__ import annotations

from .control import CancelHandler, OpenApiHandler, PipelinesHandler, ResumeHandler, RunsControlHandler
from .handlers import ApprovalsHandler, InfoHandler, NotFoundHandler, RunHandler, StatsHandler

RUN_ID = r"(?P<run_id>[^/]+)"  # any id is looked up (and a wrong one gets a JSON 404, not a page)

ROUTES = [
    (r"runs", RunsControlHandler),
    (rf"runs/{RUN_ID}", RunHandler),
    (rf"runs/{RUN_ID}/resume", ResumeHandler),
    (rf"runs/{RUN_ID}/cancel", CancelHandler),
    (r"approvals", ApprovalsHandler),
    (r"pipelines", PipelinesHandler),
    (r"info", InfoHandler),
    (r"stats", StatsHandler),
    (r"openapi\.json", OpenApiHandler),
]
FALLBACK = (r".*", NotFoundHandler)  # registered last: anything else under the API
