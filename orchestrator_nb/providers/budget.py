"""Spending refused before the call: a model call whose worst case would cross a budget is not made.

The worst case of a call is its input tokens (``providers.tokens``) plus its maximum output (the
request's ``max_tokens``, else what the provider sends by default, else ``ASSUMED_MAX_OUTPUT``),
priced by ``providers.prices``. It is checked against
- the run's ``budget:`` (``max_cost_usd``, ``max_tokens``), and that of every run above it (a
  sub-pipeline spends its parent's budget too);
- the cross-run budgets of a ``Ledger`` (daily, per pipeline, per notebook: built by
  ``api.budgets`` from the store when the run starts).
Calls in flight hold a reservation of their worst case until they end, so parallel steps cannot
together overshoot what each alone would fit. A refused call raises ``BudgetExceeded``: the run
ends ``budget_exceeded`` (exit 4) saying what the call would have cost.

Counting is cheap first: a byte-count bound that never falls below the real token count. When four
times that bound's worst case fits every budget, the call goes (reserving the bound); otherwise the
input is counted as exactly as can be had (the vendor's endpoint, else the offline tokenizer, else
the estimate), so calls near a limit are judged and reserved by their real size.
"""
from __future__ import annotations

import asyncio
import os
import weakref

from ..errors import BudgetExceeded, ProviderError
from . import prices, tokens

ASSUMED_MAX_OUTPUT = 4096   # output tokens assumed when neither the step nor the provider sets a maximum
SHORTCUT = 4                # the byte bound is used (and reserved) when 4x its worst case still fits

_reserved: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # run context -> [usd, tokens]


class Limit:
    """One cross-run budget: ``cap`` dollars, ``spent`` of them in the store when the run started."""

    __slots__ = ("name", "cap", "spent", "source")

    def __init__(self, name: str, cap: float, spent: float, source: str):
        self.name, self.cap, self.spent, self.source = name, float(cap), float(spent), source

    def __repr__(self) -> str:
        return f"<Limit {self.name} ${self.spent:.4f}/${self.cap} ({self.source})>"


class Ledger:
    """The cross-run budgets of one run and its sub-runs: what the store said at the start, plus
    what this run has spent and holds in flight since."""

    def __init__(self, limits: list[Limit]):
        self.limits = list(limits)
        self.spent = 0.0
        self.reserved = 0.0

    def over(self, worst: float) -> tuple[Limit, float] | None:
        """The first limit that ``worst`` more dollars would cross, with what is left of it."""
        for lim in self.limits:
            left = lim.cap - lim.spent - self.spent - self.reserved
            if worst > left + 1e-12:
                return lim, left
        return None


class Ticket:
    __slots__ = ("chain", "ledger", "usd", "tokens", "estimate")

    def __init__(self, chain, ledger, usd, tokens_):
        self.chain, self.ledger, self.usd, self.tokens, self.estimate = chain, ledger, usd, tokens_, usd


def _chain(ctx) -> list:
    """The run and every run above it that has a budget."""
    out = []
    while ctx is not None:
        if getattr(ctx.pipeline, "budget", None):
            out.append(ctx)
        ctx = ctx.parent
    return out


def applies(ctx, ledger) -> bool:
    return bool((ledger is not None and ledger.limits) or _chain(ctx))


def max_output(provider, req) -> tuple[int, bool]:
    """(the most output tokens this call can bill, whether that number is assumed)."""
    if req.max_tokens:
        return int(req.max_tokens), False
    default = getattr(provider, "default_max_tokens", None)
    if default:
        return int(default), False
    return int(os.environ.get("ORC_ASSUMED_MAX_OUTPUT") or ASSUMED_MAX_OUTPUT), True


async def admit(ctx, ledger, provider, model_id: str, req, step_id: str):
    """Check the call against every budget; reserve its worst case. Returns a ticket for
    ``settle`` (None when no budget applies), or raises BudgetExceeded."""
    chain = _chain(ctx)
    if not chain and (ledger is None or not ledger.limits):
        return None
    overrides = ctx.pipeline.prices
    if prices.needs_data(model_id, overrides):
        await prices.ready()
    out_max, assumed = max_output(provider, req)
    n_in, how = tokens.upper_bound(req), "bound"
    worst = prices.cost_usd(model_id, n_in, out_max, overrides)
    # far from every limit, the cheap bound will do; near one, reservations must be exact
    if _problem(chain, ledger, worst * SHORTCUT, (n_in + out_max) * SHORTCUT) is not None:
        n_in, how = await _count(ctx, provider, model_id, req, step_id)
        worst = prices.cost_usd(model_id, n_in, out_max, overrides)
        problem = _problem(chain, ledger, worst, n_in + out_max)
        if problem is not None:
            raise BudgetExceeded(_refusal(model_id, step_id, worst, n_in, how, out_max, assumed, problem))
    for c in chain:
        r = _reserved.setdefault(c, [0.0, 0])
        r[0] += worst
        r[1] += n_in + out_max
    if ledger is not None:
        ledger.reserved += worst
    return Ticket(chain, ledger, worst, n_in + out_max)


def settle(ticket, cost_usd: float) -> None:
    """The call ended (answered or not): release its reservation, count what it cost."""
    if ticket is None:
        return
    for c in ticket.chain:
        r = _reserved.get(c)
        if r is not None:
            r[0] -= ticket.usd
            r[1] -= ticket.tokens
    ticket.chain = ()
    if ticket.ledger is not None:
        ticket.ledger.reserved -= ticket.usd
        ticket.ledger.spent += cost_usd
        ticket.ledger = None


def _problem(chain, ledger, worst: float, worst_tokens: int):
    """What ``worst`` more dollars (``worst_tokens`` more tokens) would cross, or None."""
    for c in chain:
        budget = c.pipeline.budget
        held = _reserved.get(c, (0.0, 0))
        cap = budget.get("max_cost_usd")
        if cap is not None and c.cost_usd + held[0] + worst > cap + 1e-12:
            whose = "the run's" if c.parent is None else f"run {c.run_id}'s"
            return ("usd", f"{whose} ${cap:g} budget", cap - c.cost_usd - held[0], c.cost_usd)
        cap = budget.get("max_tokens")
        used = c.tokens_in + c.tokens_out
        if cap is not None and used + held[1] + worst_tokens > cap:
            whose = "the run's" if c.parent is None else f"run {c.run_id}'s"
            return ("tokens", f"{whose} {cap}-token budget", cap - used - held[1], used)
    if ledger is not None:
        hit = ledger.over(worst)
        if hit is not None:
            lim, left = hit
            return ("usd", f"the {lim.name} budget of ${lim.cap:g} ({lim.source})", left,
                    lim.spent + ledger.spent)
    return None


async def _count(ctx, provider, model_id: str, req, step_id: str) -> tuple[int, str]:
    """Input tokens as exactly as can be had: the vendor's endpoint, else offline."""
    counter = getattr(provider, "count_tokens", None)
    if counter is not None and tokens.vendor_counting():
        try:
            return int(await counter(req)), "counted by the vendor's endpoint"
        except (ProviderError, ValueError, TypeError) as e:
            ctx.log(f"{model_id}: token count failed ({getattr(e, 'reason', type(e).__name__)}); "
                    "estimating instead", "warning", step_id)
    if tokens.instant(model_id):
        n, how = tokens.local_count(model_id, req)
    else:
        n, how = await asyncio.to_thread(tokens.local_count, model_id, req)
    return n, ("counted by the model's tokenizer" if how == "tokenizer" else "estimated")


def _refusal(model_id, step_id, worst, n_in, how, out_max, assumed, problem) -> str:
    unit, what, left, spent = problem
    cap_text = (f"${max(left, 0):.4f} left, ${spent:.4f} spent" if unit == "usd"
                else f"{max(left, 0)} tokens left, {spent} used")
    out = f"up to {out_max} output tokens" + (" (assumed: set max_tokens)" if assumed else "")
    return (f"budget: step '{step_id}' was not sent to {model_id}: it could cost up to ${worst:.4f} "
            f"({n_in} input tokens, {how}, + {out}), over {what} ({cap_text})")
