"""The store's write-ahead journal.

A running pipeline never waits for DuckDB: each record is one JSON line appended to a journal
file of its own (``<run>.<host>.<pid>.<n>.jsonl``), a few microseconds, durable the moment
``write`` returns (a ``kill -9`` loses nothing already written). Whoever next opens the store
(any process: the CLI, the Jupyter server, the kernel when its run ends) merges new lines into
DuckDB in one transaction together with the file's new offset, so each line lands exactly once.
A journal that ends with an ``eof`` line and is fully merged is deleted.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import json
import os
import threading
import time

from ..core.events import Event
from ..core.serialize import dumps, to_jsonable
from ..errors import StoreError
from ..limits import limit
from .procs import HOST, SLACK, pid_alive, started  # (HOST, pid_alive: named here too, as before)

_seq = itertools.count(1)
_made: set[str] = set()  # journal folders known to exist


class JournalWriter:
    """Appends records to this process's journal file.

    Inside an event loop records are gathered and written together, within a couple of
    milliseconds, so a burst of parallel steps gets going before any formatting or writing (which
    then happens while they wait); a step's end is formatted as it comes in, so what waits for it
    later is only the write. What resume relies on cannot wait for a loop that a step holds:
    ``durable()`` is called before a step that runs on the loop thread (sync python, code, SQL...)
    starts, so every step that finished before it is on disk first (a ``kill -9`` during a step
    never loses the steps before it), and ``urgent`` records (model calls, decisions, the run's
    end) go out at the next loop iteration. Outside a loop each record
    is written at once."""

    LATER = 0.002  # seconds a record that resume does not rely on may wait

    def __init__(self, directory: str, run_id: str):
        if _abandoned:
            finish_abandoned()
        if directory not in _made:
            os.makedirs(directory, exist_ok=True)
            _made.add(directory)
        self.path = os.path.join(directory, f"{run_id}.{HOST}.{os.getpid()}.{next(_seq)}.jsonl")
        self.failed: StoreError | None = None  # the write that failed: the run stops at its next record
        try:
            try:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            except FileNotFoundError:  # the folder was removed since: make it again
                os.makedirs(directory, exist_ok=True)
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            raise _cannot("create", self.path, e) from None
        self._lock = threading.Lock()
        self._pending: list = []
        self._must = 0  # pending records a resume relies on (see durable)
        self._soon = self._later = None  # loops with a flush scheduled (next iteration / timer)

    def write(self, record: dict, urgent: bool = False, must: bool = False) -> None:
        self.write_line((_json_line, record), urgent, must)

    def write_line(self, line, urgent: bool = False, must: bool = False) -> None:
        """``line``: text, or (function, argument) giving the text when flushed. ``must``: on disk
        before the next step starts; ``urgent``: at the next loop iteration (implies must)."""
        with self._lock:
            if self.fd is None:
                return
            if self.failed is not None:  # records can no longer be kept: the run must not go on
                raise self.failed
            self._pending.append(line)
            if must or urgent:
                self._must += 1
            scheduled = self._soon if urgent else (self._soon or self._later)
            if scheduled is not None and not scheduled.is_closed():
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop in this thread: write now
                self._flush_locked()
                return
            if urgent:
                self._soon = loop
            else:
                self._later = loop
        if urgent:
            loop.call_soon(self._flush_soon)
        else:
            loop.call_later(self.LATER, self._flush_later)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    # a scheduled flush stays scheduled when records go out earlier (before a step): each step
    # would otherwise schedule, and later run, a timer of its own
    def _flush_soon(self) -> None:
        with self._lock:
            self._soon = None
            self._flush_quietly()

    def _flush_later(self) -> None:
        with self._lock:
            self._later = None
            self._flush_quietly()

    def _flush_quietly(self) -> None:
        """A flush in a loop callback: a failure is kept (``failed``) and raised by the run's next
        record, in the run, rather than printed by the event loop."""
        try:
            self._flush_locked()
        except StoreError:
            pass

    def durable(self) -> None:
        """Write pending records a resume relies on, now (before a step starts)."""
        if self._must:
            self.flush()

    def _flush_locked(self) -> None:
        self._must = 0
        if self._pending and self.fd is not None:
            if self.failed is not None:
                raise self.failed
            pending, self._pending = self._pending, []
            # (a lone surrogate, which UTF-8 cannot hold, becomes '?': one bad character must not lose records)
            data = "".join(p if isinstance(p, str) else p[0](p[1]) for p in pending).encode("utf-8", "replace")
            try:
                done = os.write(self.fd, data)
                while done < len(data):  # a disk filling up writes part: go on (its error is raised)
                    done += os.write(self.fd, data[done:])
            except OSError as e:
                self.failed = _cannot("write", self.path, e)
                raise self.failed from None

    def close(self) -> None:
        """Write what is pending and the end mark; raises if that fails (not again when a write
        failed before: that error was raised already)."""
        with self._lock:
            if self.fd is None:
                return
            try:
                if self.failed is None:
                    self._pending.append('{"t":"eof"}\n')
                    self._flush_locked()
            finally:
                os.close(self.fd)
                self.fd = None
                if self.failed is not None:  # its run's end is written once the disk takes it
                    _abandoned[self.path] = str(self.failed)


# Journals whose writing failed (a full disk), by path: their runs' end is still to be written. A
# process that lives on (a kernel, a server) would otherwise leave such a run `running` until it
# exits; so the next run it starts, and every merge it does, tries again.
_abandoned: dict[str, str] = {}


def finish_abandoned() -> None:
    """Write the end (failed, with why) of the runs whose journal could not be written, if it can be now."""
    for path, why in list(_abandoned.items()):
        run_id = os.path.basename(path).split(".", 1)[0]
        # (a leading newline: an earlier try that wrote part of its line leaves a line of its own, skipped)
        data = ("\n" + dumps({"t": "run", "run_id": run_id, "status": "failed", "ended_at": time.time(),
                              "error": why, "abandoned": True}) + '\n{"t":"eof"}\n').encode("utf-8", "replace")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:  # merged and removed meanwhile: nothing to finish
            _abandoned.pop(path, None)
            continue
        except OSError:
            continue
        try:
            done = 0
            while done < len(data):
                done += os.write(fd, data[done:])
        except OSError:
            continue  # still full: the next run or merge tries again
        finally:
            os.close(fd)
        _abandoned.pop(path, None)


def _cannot(doing: str, path: str, e: OSError) -> StoreError:
    """One line for a journal that cannot be written: which file, why, and what to do."""
    why = e.strerror or str(e)
    return StoreError(f"cannot {doing} the run's journal {path}: {why} ({storage_fix(why)}); "
                      "the run stopped, and what it recorded before stays")


def storage_fix(problem: str) -> str:
    """What to do when the store's files cannot be written, from the system's words for why."""
    if "No space left" in problem or "quota" in problem.lower():
        return "free some disk space, or put the store on another disk with --db or ORC_DB"
    if "Permission denied" in problem or "Operation not permitted" in problem or "Read-only" in problem:
        return "make the store's files and folders writable, or put the store elsewhere with --db or ORC_DB"
    return "put the store elsewhere with --db or ORC_DB"


def _json_line(record: dict) -> str:
    return _fitted(record) + "\n"


# A record is at most ORC_MAX_RECORD_BYTES (readers skip longer lines: a planted file must not
# exhaust a reader's memory). A value that would make it longer is stored as a note.
def _fitted(record: dict) -> str:
    """A record's JSON, its largest values replaced by notes until it is within the limit."""
    text = dumps(record)
    while _over(text):
        sizes = {k: len(dumps(v)) for k, v in record.items() if k != "t"}
        big = max(sizes, key=sizes.__getitem__)
        record = {**record, big: _note(_utf8_size(dumps(record[big])))}
        text = dumps(record)
    return text


def _capped(text: str) -> str:
    """A value's JSON as a record holds it: the value, or a note when it is over the limit."""
    size = _over(text)
    return dumps(_note(size)) if size else text


def _over(text: str) -> int:
    """The UTF-8 size of ``text`` when it is over the limit, else 0."""
    n = len(text)
    if n * 4 <= _RECORD.floor or n * 4 <= _RECORD.value():  # (a character takes at most 4 bytes)
        return 0
    size = _utf8_size(text)
    return size if _RECORD.exceeded_by(size) else 0


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _note(size: int) -> str:
    return f"<not stored: {_RECORD.message(size, 'a value')}>"


def _run_line(record: dict) -> str:
    """A run's first record, formatted when flushed (while the first steps run): the pipeline's
    text (for a pipeline built in Python, made now) and hash. That text, often large and the same
    run after run, is JSON-encoded once per text."""
    pipeline = record.pop("spec", None)
    spec = None
    if pipeline is not None:
        spec, record["spec_hash"] = pipeline.spec_text(), pipeline.spec_hash()
    text = _fitted(record)
    return text + "\n" if spec is None else f'{text[:-1]},"spec_yaml":{_encoded(spec)}}}\n'


@functools.lru_cache(maxsize=32)
def _encoded(text: str) -> str:
    return dumps(text)


# Step records, the hot path (two per step), are formatted directly: ids are validated identifiers,
# run ids hex, times integer microseconds (a float's repr costs 3x more); only output, error and
# model need JSON encoding.
def _started(args) -> str:
    run_id, step_id, item, attempt, ts = args
    return (f'{{"t":"step","run_id":"{run_id}","step_id":"{step_id}","item_index":{item},"attempt":{attempt},'
            f'"status":"running","started_us":{int(ts * 1e6)}}}\n')


def _ended(args) -> str:
    """The common end of a step (no error, model or cache; a plain or no output), shorter."""
    run_id, step_id, item, attempt, status, started, ended, out = args
    return (f'{{"t":"step","run_id":"{run_id}","step_id":"{step_id}","item_index":{item},"attempt":{attempt},'
            f'"status":"{status}","started_us":{int(started * 1e6)},"ended_us":{int(ended * 1e6)},'
            f'"output":{"null" if out is None else str(out) if type(out) is int and -_BIG < out < _BIG else _capped(dumps(out))}}}\n')


_BIG = 10 ** 18  # ints below this in size are written as they are (str() of a huge one fails: dumps notes it)


_FINISHED = ('{"t":"step","run_id":"%s","step_id":"%s","item_index":%d,"attempt":%d,"status":"%s",'
             '"started_us":%d,"ended_us":%d,"output":%s,"error":%s,"cached":%s,"model":%s}\n').__mod__
_PLAIN = (str, int, float, bool)


class Recorder:
    """Event subscriber: run events -> journal records."""

    critical = True       # if records cannot be written, the run must not go on silently
    wants_tokens = False  # streamed tokens are not stored (the full answer is)

    def __init__(self, writer: JournalWriter):
        self.w = writer

    def handle(self, ev) -> None:
        kind = ev.kind
        d = ev.data
        if kind == "step_started":  # the hot path first
            if not d.get("awaits"):  # a step about to hold the loop: what ended before it goes to disk first
                self.w.durable()
            self.w.write_line((_started, (ev.run_id, ev.step_id, ev.item, ev.attempt, ev.ts)))
        elif kind == "step_finished":
            out, err, model = d.get("output"), d.get("error"), d.get("model")
            started = d.get("started") or ev.ts
            if err is None and model is None and not d.get("cached") and (out is None or type(out) in _PLAIN):
                self.w.write_line(_ended((ev.run_id, ev.step_id, ev.item, ev.attempt, d["status"], started,
                                            ev.ts, out)), must=True)
            else:
                self.w.write_line(_FINISHED((
                    ev.run_id, ev.step_id, ev.item, ev.attempt, d["status"], started * 1e6, ev.ts * 1e6,
                    "null" if out is None else _capped(dumps(to_jsonable(out))),
                    "null" if err is None else dumps(str(err)), "true" if d.get("cached") else "false",
                    "null" if model is None else dumps(model))), must=True)
        elif kind != "token":  # streamed tokens are not stored
            self._record(kind, ev, d)

    def step_succeeded(self, run_id, step_id, attempt, output, started, ended, cached, model) -> None:
        """``handle`` of a step's success, from its fields (``Bus.step_succeeded``)."""
        if model is None and not cached and (output is None or type(output) in _PLAIN):
            self.w.write_line(_ended((run_id, step_id, -1, attempt, "succeeded", started, ended, output)), must=True)
        else:
            self.handle(Event("step_finished", run_id, step_id, -1, attempt, {
                "status": "succeeded", "output": output, "error": None, "started": started, "cached": cached,
                "model": model}, ended))

    def _record(self, kind, ev, d) -> None:
        """Every event but a step's start and end (rarer)."""
        w = self.w.write
        if kind == "llm_call":
            w(dict(d, t="llm_call", run_id=ev.run_id, step_id=ev.step_id, item_index=ev.item,
                   attempt=ev.attempt, created_at=ev.ts), urgent=True)
        elif kind == "approval":
            w({"t": "approval", "run_id": ev.run_id, "step_id": ev.step_id, "round": d["round"],
               "decision": d["decision"], "comment": d.get("comment"), "decided_by": d.get("decided_by"),
               "mode": d.get("mode"), "decided_at": d.get("decided_at") or ev.ts,
               "edited": d.get("edited"), "input": d.get("input")}, urgent=True)
        elif kind == "tool_call":
            w(dict(d, t="tool_call", run_id=ev.run_id, step_id=ev.step_id, item_index=ev.item, attempt=ev.attempt,
                   created_at=d.get("created_at") or ev.ts), urgent=True)
        elif kind == "artifact":
            w({"t": "artifact", "run_id": ev.run_id, "step_id": ev.step_id, "path": d["path"],
               "rel_path": d.get("rel_path"), "sha256": d["sha256"], "media_type": d.get("media_type"),
               "bytes": d.get("bytes"), "created_at": ev.ts}, urgent=True)
        elif kind == "run_started":
            rec = dict(d, t="run", run_id=ev.run_id, status="running", ended_at=None, error=None,
                       pid=os.getpid(), host=HOST)
            if not d.get("resumed"):
                rec["started_at"] = ev.ts
            self.w.write_line((_run_line, rec), must=True)
        elif kind == "run_finished":
            w({"t": "run", "run_id": ev.run_id, "status": d["status"], "ended_at": ev.ts, "error": d.get("error"),
               "cost_usd": d.get("cost_usd", 0.0), "tokens_in": d.get("tokens_in", 0),
               "tokens_out": d.get("tokens_out", 0)}, urgent=True)
        elif kind in ("log", "step_retry", "check_failed", "step_waiting"):
            if kind == "step_waiting":  # a live run's pending approval: visible to, and decidable by, others
                w({"t": "step", "run_id": ev.run_id, "step_id": ev.step_id, "item_index": ev.item,
                   "attempt": ev.attempt, "status": "waiting", "ended_at": ev.ts, "cached": False,
                   # what a decision is checked against (edits, the gate's form), as a stored wait records it
                   "output": {k: d.get(k) for k in ("question", "show", "round", "revise", "tool", "input_schema",
                                                    "editable", "edit_schema")
                              if k in ("question", "show", "round", "revise") or d.get(k) is not None},
                   "error": "waiting for approval"})
            w({"t": "event", "run_id": ev.run_id, "ts": ev.ts, "level": _level(kind, d), "step_id": ev.step_id,
               "message": _message(kind, d), "kind": kind, "item_index": ev.item, "attempt": ev.attempt})


def _level(kind, d) -> str:
    if kind == "log":
        return d.get("level", "info")
    return "warning" if kind in ("step_retry", "check_failed") else "info"


def _message(kind, d) -> str:
    if kind == "log":
        return str(d.get("message", ""))
    if kind == "step_retry":
        return f"retrying in {d.get('delay', 0):.2f} s after: {d.get('error')}"
    if kind == "check_failed":
        return f"check failed: {d.get('message')}"
    return f"waiting for approval (round {d.get('round')}): {d.get('question')}"


def normalize(rec: dict) -> dict:
    """A journal record as readers want it: step times in seconds (written as microseconds)."""
    if "started_us" in rec:
        rec["started_at"] = rec.pop("started_us") / 1e6
        if "ended_us" in rec:
            rec["ended_at"] = rec.pop("ended_us") / 1e6
    return rec


def read_new(path: str, offset: int) -> tuple[list[dict], int, bool, bool]:
    """Complete lines after ``offset`` -> (records, new offset, saw eof, more to read).

    At most a record's limit is read at a time (a file planted in the folder, or grown huge,
    is read piece by piece); a line longer than any record this writes is skipped."""
    size = int(_RECORD.value()) + _SLACK  # the longest line a writer writes, and one byte
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(min(size, max(os.fstat(f.fileno()).st_size - offset, 0)))  # (read(n) makes n bytes first)
        end = data.rfind(b"\n")
        if end < 0 and len(data) == size:  # no writer's line: skip it, without holding it
            return _skip_line(f, path, offset, offset + size)
    more = len(data) == size
    if end < 0:
        return [], offset, False, False
    records, eof, skipped = [], False, 0
    for raw in data[:end].split(b"\n"):
        if not raw:
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (a crash tears only the last line, never read here)
            skipped += 1
            continue
        if not isinstance(rec, dict):
            skipped += 1
        elif rec.get("t") == "eof":
            eof = True
        elif _well_formed(rec):
            records.append(normalize(rec))
        else:
            skipped += 1
    if skipped:  # a line written by something else (or edited): one bad line must not block every read
        _skipped(path, skipped)
    return records, offset + end + 1, eof, more


_RECORD = limit("record_bytes")
_SLACK = 1 << 16  # a record's other fields, beside its output


def _skipped(path: str, n: int) -> None:
    import logging
    logging.getLogger("orchestrator_nb").warning(
        "%s: skipped %d journal line(s) that are not records orchestrator-nb writes", path, n)


def _skip_line(f, path: str, offset: int, at: int) -> tuple[list, int, bool, bool]:
    """Past the end of an over-long line that starts at ``offset`` (read up to ``at``), reading and
    dropping a megabyte at a time."""
    while True:
        chunk = f.read(1 << 20)
        if not chunk:  # it does not end: nothing to take from it
            return [], offset, False, False
        cut = chunk.find(b"\n")
        if cut >= 0:
            _skipped(path, 1)
            return [], at + cut + 1, False, True
        at += len(chunk)


# what the merge reads of each record kind, and the type each must have
_KEYS = {"run": ("run_id",), "step": ("run_id", "step_id", "item_index", "attempt"), "llm_call": ("run_id",),
         "tool_call": ("run_id",), "event": ("run_id",), "approval": ("run_id", "step_id", "round", "decision"),
         "artifact": ("run_id", "path")}
_INTS = ("item_index", "attempt", "round")
_TIMES = ("started_at", "ended_at", "started_us", "ended_us", "ts", "decided_at", "created_at", "requested_at")


def _well_formed(rec: dict) -> bool:
    keys = _KEYS.get(rec.get("t"))
    if keys is None:
        return True  # a kind this version does not know: the merge ignores it
    for k in keys:
        v = rec.get(k)
        if (type(v) is not int) if k in _INTS else not isinstance(v, str):
            return False
    for k in _TIMES:
        v = rec.get(k)
        # a number of seconds (microseconds for *_us) from 1970 to the year 9999, which readers can show
        if v is not None and (type(v) not in (int, float) or not 0 <= v <= (_LAST_US if k[-3:] == "_us" else _LAST)):
            return False
    return True


_LAST = 253_402_300_799  # 9999-12-31 23:59:59 UTC, in seconds
_LAST_US = _LAST * 1_000_000


def run_ended(directory, run_id: str, pid: int) -> bool:
    """Whether the journal that process ``pid`` writes for ``run_id`` records the run's end (a
    cheap look at the file's tail, no store lock: a cancel watches it while the run stops)."""
    prefix = f"{run_id}.{HOST}.{pid}."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".jsonl")]
    except FileNotFoundError:
        return False
    for name in names:
        try:
            with open(os.path.join(directory, name), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - 8192))
                tail = f.read().split(b"\n")
        except OSError:
            continue
        for raw in reversed(tail):
            if b'"t":"run"' not in raw and b'"t": "run"' not in raw:
                continue
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if rec.get("run_id") == run_id and rec.get("status") not in (None, "running"):
                return True
    return False


def writer_alive(filename: str, directory=None) -> bool:
    """Is the process that writes this journal still running? (Same host only; else assume yes.)
    With ``directory``, a process that started after the journal's last write is not its writer
    but one the system gave the pid to since (the writer died: its run is not running for ever)."""
    parts = filename.split(".")
    if len(parts) < 5:
        return False
    host, pid = ".".join(parts[1:-3]), parts[-3]
    if host != HOST:
        return True
    if not pid_alive(pid):
        return False
    if directory is None or not pid.isdigit():
        return True
    begun = started(int(pid))
    try:
        return begun is None or begun <= os.stat(os.path.join(directory, filename)).st_mtime + SLACK
    except OSError:
        return True


