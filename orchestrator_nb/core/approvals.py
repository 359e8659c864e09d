"""Who decides an approval. The executor asks an ``Approver``; front-ends supply their own
(the notebook's buttons); headless runs use a ``PolicyApprover``.

Policies: ``auto`` approves, ``reject`` rejects, ``defer`` stores the run as `waiting` (resume it
after `orc approve`), ``fail`` stops the run with a message saying how to decide; ``ask`` means a
person clicks, which headless becomes ``defer`` (nothing ever waits on a click that cannot come).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import OrcError

POLICIES = ("ask", "auto", "reject", "defer", "fail")
DECISIONS = ("approved", "rejected", "changes_requested")
MODES = ("interactive", "auto", "cli", "ui")


@dataclass
class ApprovalRequest:
    run_id: str
    step_id: str
    round: int
    question: str
    show: str
    revise: str | None = None
    policy: str | None = None
    input_schema: dict | None = None   # a form the reviewer fills in (JSON Schema), if the gate asks
    editable: bool = False             # the reviewer may edit the output under review (`revise`'s)
    tool: dict | None = None           # a tool call waiting for approval: {name, arguments, ref, call_id, turn}


@dataclass
class Decision:
    decision: str                 # approved | rejected | changes_requested
    comment: str | None = None
    decided_by: str | None = None
    mode: str = "auto"            # interactive | auto | cli | ui
    decided_at: float = field(default_factory=time.time)
    edited: Any = None            # the reviewer's version of the output under review (approve with edits),
                                  # or a tool call's edited arguments
    input: Any = None             # the values of the gate's form (`input: {schema}`)

    def as_dict(self) -> dict:
        return asdict(self)


class ApprovalNeeded(OrcError):
    """Policy `fail`: the run stops at an approval."""


class PolicyApprover:
    waits = False  # decides (or defers) at once: no "waiting for approval" to announce

    def __init__(self, policy: str = "defer"):
        if policy not in POLICIES:
            raise OrcError(f"unknown approval policy '{policy}' (use {', '.join(POLICIES)})")
        self.policy = policy

    async def decide(self, req: ApprovalRequest) -> Decision | None:
        policy = req.policy or self.policy
        if policy == "ask":
            policy = self.policy if self.policy != "ask" else "defer"
        if policy == "auto":
            return Decision("approved", decided_by="policy:auto", mode="auto")
        if policy == "reject":
            return Decision("rejected", comment="policy: reject", decided_by="policy:reject", mode="auto")
        if policy == "fail":
            raise ApprovalNeeded(f"step '{req.step_id}' needs approval and the policy is 'fail' "
                                 "(use --approval auto|defer, or run it in a notebook to click)")
        return None  # defer
