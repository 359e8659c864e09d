"""RetryPolicy and Check: the two small policies a step carries."""
from __future__ import annotations

import random

from ..errors import ProviderError, SpecError
from ..spec.templates import Template

BACKOFFS = ("none", "fixed", "linear", "exponential")
# Words usable in `retry_on`; anything else is matched against the exception's class names.
RETRY_WORDS = ("any", "error", "timeout", "provider", "rate_limit", "server", "connection", "check")


class RetryPolicy:
    """How often and how patiently a step is tried again.

    attempts: total tries (1 = no retry). backoff: none | fixed | linear | exponential, or a list
    of delays in seconds. delay: base delay. max_delay: cap. jitter: +- fraction of each delay.
    retry_on: which failures to retry ("any" by default; e.g. [timeout, rate_limit, ValueError]).
    """

    __slots__ = ("attempts", "backoff", "delay", "max_delay", "jitter", "retry_on")
    FIELDS = __slots__

    def __init__(self, attempts: int = 1, backoff="exponential", delay: float = 1.0,
                 max_delay: float = 60.0, jitter: float = 0.0, retry_on=("any",)):
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise SpecError("must be an integer >= 1", loc=("attempts",))
        if isinstance(backoff, (list, tuple)):
            if not all(isinstance(d, (int, float)) and d >= 0 for d in backoff):
                raise SpecError("a list of delays must hold numbers >= 0", loc=("backoff",))
            backoff = tuple(float(d) for d in backoff)
        elif backoff not in BACKOFFS:
            raise SpecError(f"unknown backoff '{backoff}'", loc=("backoff",),
                            hint="use " + ", ".join(BACKOFFS) + " or a list of seconds")
        for name, value in (("delay", delay), ("max_delay", max_delay), ("jitter", jitter)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise SpecError("must be a number >= 0", loc=(name,))
        if isinstance(retry_on, str):
            retry_on = (retry_on,)
        self.attempts, self.backoff, self.delay = attempts, backoff, float(delay)
        self.max_delay, self.jitter, self.retry_on = float(max_delay), float(jitter), tuple(retry_on)

    @classmethod
    def coerce(cls, value) -> "RetryPolicy":
        if value is None:
            return NO_RETRY
        if isinstance(value, RetryPolicy):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(attempts=value)
        if isinstance(value, dict):
            unknown = set(value) - set(cls.FIELDS)
            if unknown:
                raise SpecError(f"unknown key '{sorted(unknown)[0]}'", hint="retry takes " + ", ".join(cls.FIELDS))
            return cls(**value)
        raise SpecError("must be an attempt count or a mapping", hint="e.g. retry: {attempts: 3}")

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
            base = self.delay * (2 ** (n - 1))
        base = min(base, self.max_delay)
        if self.jitter and base:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(base, 0.0)

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
    python: ``module:function`` or a callable ``f(output) -> bool | str | None``; a string is the
    failure reason, True/None pass. judge: a question put to a model about the output; it must
    answer PASS or FAIL with reasons. max_attempts: total tries of the step.
    """

    __slots__ = ("expr", "python", "judge", "model", "task", "max_attempts", "message")
    FIELDS = __slots__

    def __init__(self, expr=None, python=None, judge=None, model=None, task=None,
                 max_attempts: int = 3, message: str | None = None):
        if expr is None and python is None and judge is None:
            raise SpecError("a check needs `expr`, `python` or `judge`")
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
            raise SpecError("must be an integer >= 1", loc=("max_attempts",))
        if expr is not None and not isinstance(expr, Template):
            try:
                expr = Template(str(expr), expression=True)
            except SpecError as e:
                raise e.within("expr") from None
        if python is not None and not callable(python) and (not isinstance(python, str) or ":" not in python):
            raise SpecError("must be 'module:function' or a callable", loc=("python",))
        if judge is not None and not isinstance(judge, Template):
            try:
                judge = Template(str(judge))
            except SpecError as e:
                raise e.within("judge") from None
        self.expr, self.python, self.judge, self.model, self.task = expr, python, judge, model, task
        self.max_attempts, self.message = max_attempts, message

    @classmethod
    def coerce(cls, value) -> "Check | None":
        if value is None or isinstance(value, Check):
            return value
        if isinstance(value, str):
            return cls(expr=value)
        if callable(value):
            return cls(python=value)
        if isinstance(value, dict):
            unknown = set(value) - set(cls.FIELDS)
            if unknown:
                raise SpecError(f"unknown key '{sorted(unknown)[0]}'", hint="check takes " + ", ".join(cls.FIELDS))
            return cls(**value)
        raise SpecError("must be an expression or a mapping", hint='e.g. check: {expr: "len(output) > 40"}')

    def templates(self):
        return [t for t in (self.expr, self.judge) if t is not None]

    def to_dict(self) -> dict:
        out = {}
        if self.expr is not None:
            out["expr"] = self.expr.source
        if self.python is not None:
            out["python"] = self.python if isinstance(self.python, str) else callable_ref(self.python)
        if self.judge is not None:
            out["judge"] = self.judge.source
        for k in ("model", "task", "message"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        out["max_attempts"] = self.max_attempts
        return out


def callable_ref(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
