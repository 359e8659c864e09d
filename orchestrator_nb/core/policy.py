"""RetryPolicy and Check: the two small policies a step carries."""
from __future__ import annotations

import random
import time

from ..errors import ProviderError, SpecError
from ..spec.format import CHECK, RETRY, Check as CHECK_VALUE, Retry as RETRY_VALUE
from ..spec.templates import Template, compile_field, field_templates
from .callables import callable_ref

# Words usable in `retry_on`; anything else is matched against the exception's class names.
RETRY_WORDS = ("any", "error", "timeout", "provider", "rate_limit", "server", "connection", "check")


class RetryPolicy:
    """How often and how patiently something is tried again: a step, a model call, the store.

    attempts: total tries (1 = no retry). backoff: none | fixed | linear | exponential, or a list
    of delays in seconds. delay: base delay. max_delay: cap. jitter: +- fraction of each delay.
    retry_on: which failures to retry ("any" by default; e.g. [timeout, rate_limit, ValueError]).
    The keys and their limits are the format's (``spec.format.RETRY``).
    """

    __slots__ = ("attempts", "backoff", "delay", "max_delay", "jitter", "retry_on")
    FIELDS = __slots__

    def __init__(self, attempts: int = 1, backoff="exponential", delay: float = 1.0,
                 max_delay: float = 60.0, jitter: float = 0.0, retry_on=("any",)):
        given = RETRY.check({"attempts": attempts, "backoff": backoff, "delay": delay, "max_delay": max_delay,
                             "jitter": jitter, "retry_on": retry_on}, (), python=True)
        backoff = given["backoff"]
        if isinstance(backoff, list):
            backoff = tuple(float(d) for d in backoff)
        retry_on = given["retry_on"]
        self.attempts, self.backoff, self.delay = attempts, backoff, float(delay)
        self.max_delay, self.jitter = float(max_delay), float(jitter)
        self.retry_on = (retry_on,) if isinstance(retry_on, str) else tuple(retry_on)

    @classmethod
    def coerce(cls, value) -> "RetryPolicy":
        if value is None:
            return NO_RETRY
        if isinstance(value, RetryPolicy):
            return value
        value = RETRY_VALUE.check(value, (), python=True)
        if isinstance(value, int):
            return cls(attempts=value)
        return cls(**{k: v for k, v in value.items() if v is not None})

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt`` (2 = the first retry)."""
        n = attempt - 1
        if isinstance(self.backoff, tuple):
            base = self.backoff[min(n, len(self.backoff)) - 1] if self.backoff else 0.0
        elif self.backoff == "none":
            base = 0.0
        elif self.backoff == "fixed":
            base = self.delay
        elif self.backoff == "linear":
            base = self.delay * n
        else:
            base = self.delay * (2 ** min(n - 1, 64))
        base = min(base, self.max_delay)
        if self.jitter and base:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(base, 0.0)

    def waits(self, deadline: float | None = None):
        """The delays before each retry, in order, until the attempts run out or waiting longer
        would pass ``deadline`` (a ``time.monotonic()`` value)."""
        for attempt in range(2, self.attempts + 1):
            delay = self.delay_before(attempt)
            if deadline is not None and time.monotonic() + delay > deadline:
                return
            yield delay

    def retries(self, exc: BaseException) -> bool:
        """Whether this failure is worth another try under the policy."""
        if isinstance(exc, ProviderError) and not exc.retryable:
            return False
        if isinstance(exc, SpecError):
            return False
        names = {c.__name__ for c in type(exc).__mro__}
        for word in self.retry_on:
            if word in ("any", "error") or word in names:
                return True
            if word == "timeout" and isinstance(exc, TimeoutError):
                return True
            if isinstance(exc, ProviderError) and word in ("provider", exc.reason):
                return True
        return False

    def to_dict(self) -> dict:
        return {"attempts": self.attempts, "backoff": list(self.backoff) if isinstance(self.backoff, tuple)
                else self.backoff, "delay": self.delay, "max_delay": self.max_delay,
                "jitter": self.jitter, "retry_on": list(self.retry_on)}

    def __repr__(self) -> str:
        return f"RetryPolicy({self.to_dict()})"


NO_RETRY = RetryPolicy()


class Check:
    """A quality gate run on a step's output. When it fails, the step runs again with the failure
    fed back (prompt steps see it as a message; code/python steps get ``feedback``).

    expr: an expression over ``output`` (and the usual scope) that must be truthy.
    python: ``module:function`` or a callable ``f(output, **params) -> bool | str | None``; a string
    is the failure reason, True/None pass. params: keyword arguments for ``python`` (templates,
    rendered in the step's scope, e.g. ``{requirements: "{{ inputs.requirements }}"}``). judge: a question put to a model about the output; it must
    answer PASS or FAIL with reasons. max_attempts: total tries of the step. retry_temperature: a
    prompt step's sampling temperature for the tries after a failure (a small model at a low
    temperature otherwise tends to write its rejected answer again, word for word). retry_fresh:
    those tries see the failure but not the rejected answer (a small model copies what it sees).
    """

    __slots__ = ("expr", "python", "judge", "model", "task", "max_attempts", "message", "params",
                 "retry_temperature", "retry_fresh")
    FIELDS = __slots__

    def __init__(self, expr=None, python=None, judge=None, model=None, task=None,
                 max_attempts: int = 3, message: str | None = None, params: dict | None = None,
                 retry_temperature: float | None = None, retry_fresh: bool = False):
        if expr is None and python is None and judge is None:
            raise SpecError("a check needs `expr`, `python` or `judge`")
        CHECK.check({"expr": expr if not isinstance(expr, Template) else expr.source, "python": python,
                     "judge": judge if not isinstance(judge, Template) else judge.source, "model": model,
                     "task": task, "max_attempts": max_attempts, "message": message, "params": params,
                     "retry_temperature": retry_temperature, "retry_fresh": retry_fresh}, (),
                    python=True)
        if params and python is None:
            raise SpecError("check `params` are passed to a `python` check; add `python: module:function`",
                            loc=("params",))
        if expr is not None and not isinstance(expr, Template):
            try:
                expr = Template(str(expr), expression=True)
            except SpecError as e:
                raise e.within("expr") from None
        if judge is not None and not isinstance(judge, Template):
            try:
                judge = Template(str(judge))
            except SpecError as e:
                raise e.within("judge") from None
        self.expr, self.python, self.judge, self.model, self.task = expr, python, judge, model, task
        self.max_attempts, self.message = max_attempts, message
        self.retry_temperature, self.retry_fresh = retry_temperature, bool(retry_fresh)
        self.params = compile_field(dict(params)) if params else {}

    @classmethod
    def coerce(cls, value) -> "Check | None":
        if value is None or isinstance(value, Check):
            return value
        value = CHECK_VALUE.check(value, (), python=True)
        if isinstance(value, str):
            return cls(expr=value)
        if callable(value):
            return cls(python=value)
        return cls(**{k: v for k, v in value.items() if v is not None})

    def templates(self):
        return [t for t in (self.expr, self.judge) if t is not None] + list(field_templates(self.params))

    @property
    def name(self) -> str:
        """How errors name this check: the function, the expression, or 'judge'."""
        if self.python is not None:
            ref = self.python if isinstance(self.python, str) else callable_ref(self.python)
            return ref.rpartition(":")[2].rpartition(".")[2] or ref
        if self.expr is not None:
            return f"`{self.expr.source}`"
        return "judge"

    def to_dict(self) -> dict:
        out = {}
        if self.expr is not None:
            out["expr"] = self.expr.source
        if self.python is not None:
            out["python"] = self.python if isinstance(self.python, str) else callable_ref(self.python)
        if self.judge is not None:
            out["judge"] = self.judge.source
        for k in ("model", "task", "message", "retry_temperature"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.params:
            out["params"] = _sources(self.params)
        if self.retry_fresh:
            out["retry_fresh"] = True
        out["max_attempts"] = self.max_attempts
        return out


def _sources(value):
    """Compiled params -> what YAML would hold."""
    if isinstance(value, Template):
        return value.source
    if isinstance(value, dict):
        return {k: _sources(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sources(v) for v in value]
    return value
