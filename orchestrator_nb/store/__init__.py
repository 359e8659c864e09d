"""The DuckDB store, shared safely by many processes.

DuckDB lets one process hold a database file at a time (no other process can even read it
meanwhile). So nobody holds it for long: every access is ``with store.connect() as con:``, which
takes an OS file lock (``<db>.lock``, so our processes queue instead of failing), opens the file,
migrates it once per process, merges pending journals (see ``journal``), runs the caller's
statements, and closes. Runs write to journals and never open DuckDB, so a run is never slowed
or failed by someone reading, and does not pay for opening the file: the next reader merges its
journal (or ``store.merger``, once the process is idle). If another program holds the file (a `duckdb` shell), we retry with
backoff and finally say which process holds it.

Paths: ``--db`` > ``ORC_DB`` > ``./.orc/orc.duckdb``; next to it ``orc.lock``, ``orc.journal/``
and ``orc.cache/``.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..core.policy import RetryPolicy
from ..errors import StoreError
# imported here, not in a first run's timed path: every run with a store writes a journal
from .journal import JournalWriter, Recorder

DEFAULT_DB = os.path.join(".orc", "orc.duckdb")
MERGE_BYTES = 64 << 20  # of journals read before their records are written (memory held by a merge)
LOCK_TIMEOUT = float(os.environ.get("ORC_STORE_TIMEOUT", "120"))
# waiting for our lock file (other orc processes), and for DuckDB's own lock (other programs)
LOCK_WAITS = RetryPolicy(attempts=10**9, backoff="exponential", delay=0.002, max_delay=0.05, jitter=0.2)
OPEN_WAITS = RetryPolicy(attempts=10**9, backoff="exponential", delay=0.01, max_delay=0.5, jitter=0.2)

_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()
_migrated: set[str] = set()


def default_db_path() -> str:
    return os.environ.get("ORC_DB") or DEFAULT_DB


def _unstorable(error) -> bool:
    """DuckDB refused the records themselves (a number out of range, a bad value): retrying cannot help."""
    import duckdb
    return isinstance(error, (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.ConstraintException,
                              duckdb.BinderException, duckdb.TypeMismatchException, duckdb.OutOfRangeException,
                              OverflowError, ValueError, TypeError))  # (e.g. a time past the year 9999)


def check_path(path) -> None:
    """Refuse, before a run records anything next to it, a store path that cannot be a store: a
    folder, a device, or a file that is not a DuckDB database (its runs would never be readable)."""
    import stat
    from ..errors import UsageError
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return  # made on first use
    except OSError as e:
        raise UsageError(f"cannot use {path} as the store: {e.strerror} (give another path with --db or ORC_DB)") \
            from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"the store path {path} is a folder: give a file in it, such as "
                         f"{os.path.join(path, 'orc.duckdb')} (--db or ORC_DB)")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"the store path {path} is not a regular file (a device or a pipe): give a .duckdb "
                         "file path (--db or ORC_DB)")
    if st.st_size >= 12:
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError:
            return  # the store's own open will say why
        if head[8:12] != b"DUCK":
            raise UsageError(f"{path} is not a DuckDB database, so it cannot be the store: give another path "
                             "(--db or ORC_DB), such as .orc/orc.duckdb")


def _thread_lock(path: str) -> threading.RLock:
    with _locks_guard:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = threading.RLock()
        return lock


class Store:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path or default_db_path()).absolute()
        base = self.path.with_suffix("")
        self.lock_path = base.with_name(base.name + ".lock")
        self.journal_dir = base.with_name(base.name + ".journal")
        self.cache_dir = base.with_name(base.name + ".cache")
        self.inbox_dir = base.with_name(base.name + ".inbox")
        self._cache = None
        self._local = threading.local()

    def owns(self, path) -> bool:
        """Whether ``path`` is one of the store's own files (the database, its WAL, lock, journals,
        cache, inbox or worker logs): a step must not write there."""
        path = Path(path).absolute()
        base = self.path.with_suffix("")
        mine = (self.lock_path, self.journal_dir, self.cache_dir, self.inbox_dir,
                base.with_name(base.name + ".workers"))
        return path.name.startswith(self.path.name) and path.parent == self.path.parent \
            or any(path == d or d in path.parents for d in mine)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def cache(self):
        if self._cache is None:
            from ..core.cache import Cache
            self._cache = Cache(self.cache_dir)
        return self._cache

    def exists(self) -> bool:
        """Anything recorded yet: the database file, or journals not merged into it yet."""
        if self.path.exists():
            return True
        try:
            return any(n.endswith(".jsonl") for n in os.listdir(self.journal_dir))
        except FileNotFoundError:
            return False

    # writing (runs) ---------------------------------------------------------------------------
    def recorder(self, run_id: str):
        """A critical event subscriber that journals one run (and its child runs)."""
        return Recorder(JournalWriter(str(self.journal_dir), run_id))

    def touch_inbox(self, run_id: str) -> None:
        """Tell a live run (in another process) that a decision is waiting in the store."""
        self.inbox_dir.mkdir(parents=True, exist_ok=True)
        p = self.inbox_dir / run_id
        p.write_text(str(time.time()))

    def inbox_mtime(self, run_id: str) -> float | None:
        try:
            return (self.inbox_dir / run_id).stat().st_mtime
        except OSError:
            return None

    # access -----------------------------------------------------------------------------------
    @contextmanager
    def connect(self, merge: bool = True):
        """An exclusive, short-lived read-write connection with journals merged in."""
        depth = getattr(self._local, "depth", 0)
        if depth:  # re-entrant use in one thread shares the open connection
            self._local.depth += 1
            try:
                yield self._local.con
            finally:
                self._local.depth -= 1
            return
        tlock = _thread_lock(str(self.path))
        with tlock:
            fd = self._flock()
            try:
                existed = self.path.exists()  # deleted since we migrated it (`rm -r .orc` in a live kernel)?
                con = self._open()
                self._local.con, self._local.depth = con, 1
                try:
                    key = str(self.path)
                    if key not in _migrated or not existed:
                        from .schema import migrate
                        migrate(con)
                        _migrated.add(key)
                    if merge:
                        self._merge(con)
                    yield con
                finally:
                    self._local.depth = 0
                    self._local.con = None
                    con.close()
            finally:
                import fcntl
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _flock(self) -> int:
        import fcntl
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        waits = LOCK_WAITS.waits(deadline=time.monotonic() + LOCK_TIMEOUT)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                delay = next(waits, None)
                if delay is None:
                    os.close(fd)
                    raise StoreError(f"the store {self.path} stayed busy for {LOCK_TIMEOUT:.0f} s "
                                     "(another orc process holds it); try again, or raise ORC_STORE_TIMEOUT") from None
                time.sleep(delay)

    def _open(self):
        import duckdb
        self.path.parent.mkdir(parents=True, exist_ok=True)
        waits = OPEN_WAITS.waits(deadline=time.monotonic() + LOCK_TIMEOUT)
        while True:
            try:
                con = duckdb.connect(str(self.path))
                con.execute("SET TimeZone = 'UTC'")  # TIMESTAMP columns hold UTC
                return con
            except duckdb.IOException as e:  # held by a program outside our lock (a duckdb shell)
                locked = "lock" in str(e).lower()
                delay = next(waits, None) if locked else None
                if delay is None:
                    raise StoreError(f"cannot open the store {self.path}: {str(e).splitlines()[0]} "
                                     f"({_open_fix(str(e), locked)})") from None
                time.sleep(delay)
            except duckdb.Error as e:
                raise StoreError(f"cannot open the store {self.path}: {str(e).splitlines()[0]}") from None

    # journals -> tables ----------------------------------------------------------------------
    def sync(self) -> None:
        """Merge pending journals now (the idle merger of ``store.merger`` calls this; so can anyone)."""
        if self.journal_dir.is_dir() and any(self.journal_dir.iterdir()):
            with self.connect():
                pass

    def _merge(self, con) -> None:
        """Merge what is new in the journals, a bounded amount at a time."""
        while self._merge_some(con):
            pass

    def _merge_some(self, con) -> bool:
        """One pass over the journals, reading up to about MERGE_BYTES; True when more is left."""
        from .journal import _abandoned, finish_abandoned, read_new, writer_alive
        if _abandoned:
            finish_abandoned()
        try:
            names = [n for n in os.listdir(self.journal_dir) if n.endswith(".jsonl")]
        except FileNotFoundError:
            return False
        if not names:
            return False
        offsets = dict(con.execute('SELECT file, "offset" FROM journal_offsets').fetchall())
        names.sort(key=lambda n: _mtime(self.journal_dir / n))
        batch: list[tuple[str, list, int]] = []   # (file, new records, new offset)
        ended: list[str] = []                      # files complete (eof) or whose writer died
        dead: list[str] = []
        budget, left = MERGE_BYTES, False
        for name in names:
            if budget <= 0:  # the rest in the next pass, after these are written
                left = True
                break
            offset = offsets.get(name, 0)
            # asked before reading: a writer found dead then wrote all it ever will before this read
            # (asked after, a writer that appended its last records and exited meanwhile would be
            # taken for dead, its file retired with those records unread)
            alive = writer_alive(name, self.journal_dir)
            try:
                records, new_offset, eof, more = read_new(str(self.journal_dir / name), offset)
            except FileNotFoundError:
                continue
            budget -= new_offset - offset
            if records or new_offset != offset:
                batch.append((name, records, new_offset))
            if eof:  # (the last line a writer writes)
                ended.append(name)
            elif more:
                left = left or new_offset != offset
            elif not alive:
                dead.append(name)
                ended.append(name)
        # many runs' journals (a burst of small runs) go in together: one transaction, not one each
        if len(batch) > 1:
            try:
                self._apply(con, batch, dead)
            except StoreError:
                pass  # one by one below, so that the error names the journal that fails
            else:
                batch, dead = [], []
        for one in batch:
            try:
                self._apply(con, [one], [n for n in dead if n == one[0]])
            except StoreError as e:
                if not _unstorable(getattr(e, "cause", None)):
                    raise  # a disk or lock problem: the journal stays, for the next read
                self._set_aside(one[0], e)  # its data never fits: keep it aside, not in every read's way
                ended = [n for n in ended if n != one[0]]
        for name in dead:  # a dead writer's journal with nothing new in it
            if all(one[0] != name for one in batch):
                self._mark_crashed(con, name)
        self._retire(con, ended)
        return left

    def _apply(self, con, batch, dead) -> None:
        """Records and their files' new offsets in one transaction (each line lands exactly once)."""
        from .merge import apply
        con.execute("BEGIN TRANSACTION")
        try:
            apply(con, [r for _, records, _ in batch for r in records])
            con.execute('INSERT INTO journal_offsets VALUES ' + ", ".join("(?, ?, current_timestamp)" for _ in batch)
                        + ' ON CONFLICT (file) DO UPDATE SET "offset" = excluded."offset", '
                          'updated_at = excluded.updated_at', [v for name, _, offset in batch for v in (name, offset)])
            for name in dead:
                self._mark_crashed(con, name)
            con.execute("COMMIT")
        except Exception as e:
            try:
                con.execute("ROLLBACK")
            except Exception:
                pass  # a failed COMMIT ended the transaction already: its error is the one to tell
            names = ", ".join(name for name, _, _ in batch)
            error = StoreError(self._damaged(e) or
                               f"could not merge journal {names} into the store: {type(e).__name__}: {e}")
            error.cause = e
            raise error from None

    def _damaged(self, e: Exception) -> str | None:
        """The message for a store file DuckDB cannot read back (cut short, overwritten), if that is it."""
        import duckdb
        text = str(e).splitlines()[0] if str(e) else ""
        if not isinstance(e, duckdb.IOException) or str(self.path) not in text or "could not read" not in text.lower():
            return None
        return (f"the store {self.path} is damaged ({text}): restore it from a backup, or move it away to start a "
                f"new store; runs not merged into it yet are kept in {self.journal_dir} and go into the new one")

    def _set_aside(self, name: str, error: StoreError) -> None:
        """A journal whose records DuckDB refuses (written by something else, or edited) is renamed
        ``.jsonl.bad`` beside the others, with a warning: the store stays readable."""
        import logging
        try:
            os.replace(self.journal_dir / name, self.journal_dir / (name + ".bad"))
        except OSError:
            raise error from None
        logging.getLogger("orchestrator_nb").warning(
            "%s; set aside as %s.bad (the other runs are merged)", error, self.journal_dir / name)

    def _retire(self, con, names: list[str]) -> None:
        """Remove merged journals. The files go first: a crash in between leaves stale offset rows
        (harmless), never a merged file without its offset (it would be merged again)."""
        gone = []
        for name in names:
            try:
                (self.journal_dir / name).unlink()
            except FileNotFoundError:
                pass
            except OSError as e:  # a read-only folder: the records are merged; its offset row stays, so
                _warn_kept(self.journal_dir / name, e)  # it is not merged again, and the next read retries
                continue
            gone.append(name)
        if gone:
            con.execute(f"DELETE FROM journal_offsets WHERE file IN ({', '.join('?' for _ in gone)})", gone)

    def _mark_crashed(self, con, name: str) -> None:
        run_id = name.split(".", 1)[0]
        pid = int(name.split(".")[-3])
        rows = con.execute("SELECT run_id FROM runs WHERE (run_id = ? OR parent_run_id = ?) AND status = 'running' "
                           "AND pid = ?", [run_id, run_id, pid]).fetchall()
        from .merge import ts
        # it ended about when its journal was last written (not when this read noticed)
        last = _mtime(self.journal_dir / name) or time.time()
        ended = ts(last)
        for (rid,) in rows:
            msg = (f"the process running it (pid {pid}) ended without finishing (crashed or killed); "
                   f"`orc resume {rid}` continues it")
            con.execute("UPDATE runs SET status = 'failed', error = ?, ended_at = greatest(?, started_at) "
                        "WHERE run_id = ?", [msg, ended, rid])
            con.execute("UPDATE steps SET status = 'failed', error = 'interrupted: the process ended', "
                        "ended_at = greatest(?, started_at) WHERE run_id = ? AND status = 'running'", [ended, rid])
            con.execute("INSERT INTO events VALUES (?, ?, 'error', NULL, ?, 'run_crashed', -1, 0)",
                        [rid, ended, msg])


    # queries runs need (Services.store; the rest live in store.queries) --------------------------
    def find_decision(self, run_id: str, step_id: str, round_: int):
        from .queries import find_decision
        return find_decision(self, run_id, step_id, round_)

    def load_run(self, ref: str):
        """(the run's record, its step rows): what a resume starts from."""
        from .queries import resume_state
        return resume_state(self, ref)


_warned: set = set()


def _warn_kept(path, error: OSError) -> None:
    if str(path) in _warned:
        return
    _warned.add(str(path))
    import logging
    logging.getLogger("orchestrator_nb").warning(
        "could not remove the merged journal %s (%s): its records are in the store; make its folder writable "
        "to have it removed", path, error.strerror or error)


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def _open_fix(message: str, locked: bool) -> str:
    """What to do about a store DuckDB would not open."""
    if locked:
        return "close other programs using it, e.g. a duckdb shell"
    if "not a valid DuckDB database" in message:
        return "it is not a store: move it away, or put the store elsewhere with --db or ORC_DB"
    from .journal import storage_fix
    return storage_fix(message)
