"""One try of one step (or of one for_each item / while iteration): numbered, timed, announced.

Every path through the executor starts and ends its tries here, so the bookkeeping (the step's
state, `step_started` / `step_finished` events, what the store records) is written once."""
from __future__ import annotations

import time


class Attempt:
    __slots__ = ("run", "sid", "item", "number", "started")

    def __init__(self, run, sid: str, item: int, number: int, **data):
        self.run, self.sid, self.item, self.number = run, sid, item, number
        self.started = time.time()
        st = run.states[sid]
        st.status, st.attempt, st.cached = "running", number, False
        run.emit("step_started", sid, item, number, **data)

    @classmethod
    def begun(cls, run, sid: str, item: int, number: int, started: float) -> "Attempt":
        """The Attempt of a try begun without one (the executor's inline path: its state is set and
        its `step_started` sent already)."""
        att = cls.__new__(cls)
        att.run, att.sid, att.item, att.number, att.started = run, sid, item, number, started
        return att

    def next(self, **data) -> "Attempt":
        """The try after this one (an approval's next round)."""
        return Attempt(self.run, self.sid, self.item, self.number + 1, **data)

    def end(self, status: str, output=None, error: str | None = None, final: bool = False) -> None:
        """``final``: this settles the whole step (not an item, not a try that will be retried)."""
        run, sid = self.run, self.sid
        st = run.states[sid]
        if self.item < 0:
            st.started = st.started or self.started
            st.ended = time.time()
            if final:
                st.status, st.output, st.error = status, output, error
        if run.bus.subscribers:
            run.emit("step_finished", sid, self.item, self.number, status=status, output=output, error=error,
                     started=self.started, cached=st.cached, model=st.model)
