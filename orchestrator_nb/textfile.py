"""Reading a text file someone named (a pipeline, an input, a settings file) within bounds.

A path can name something that is not a file: a named pipe blocks ``open()`` until a writer comes
(a FIFO in a JupyterLab root hung the server's pipeline listing), and ``/dev/zero`` never ends.
Here the file is opened without blocking, must be a regular file, and is read to at most
``max_bytes`` (a file that grows meanwhile is still cut off there).
"""
from __future__ import annotations

import errno
import os
import stat
import sys


class NotARegularFile(OSError):
    def __init__(self, path):
        super().__init__(errno.EINVAL, "not a regular file (a pipe, a device or a socket)", str(path))


class TooLarge(OSError):
    def __init__(self, path, size: int, max_bytes: int):
        super().__init__(errno.EFBIG, f"larger than {max_bytes:,} bytes", str(path))
        self.size, self.max_bytes = size, max_bytes


def open_regular(path) -> int:
    """A descriptor of the regular file ``path`` (opened without waiting on a pipe's writer)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
        raise NotARegularFile(path)
    return fd


def read_bytes(path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``; NotARegularFile, TooLarge or another OSError."""
    max_bytes = int(min(max_bytes, sys.maxsize))  # a limit set to 1e999 means none
    fd = open_regular(path)
    try:
        st = os.fstat(fd)
        if st.st_size > max_bytes:
            raise TooLarge(path, st.st_size, max_bytes)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(path, size, max_bytes)
    finally:
        os.close(fd)


def read_text(path, max_bytes: int) -> str:
    """``read_bytes`` decoded as UTF-8 (a BOM dropped); UnicodeDecodeError if it is not."""
    return read_bytes(path, max_bytes).decode("utf-8-sig")


def read_named(path, limit: str = "input_file_bytes") -> str:
    """A file a user named (``-p key=@file``, ``--edit FILE``): UTF-8 text within ``limit`` (a name
    in ``limits.LIMITS``); UsageError-ready OSError / UnicodeDecodeError otherwise, with the
    limit's own message (naming the variable that raises it) for a file too large."""
    from .limits import LIMITS
    max_bytes = LIMITS[limit].value()
    if str(path) in ("-", "/dev/stdin"):  # piped in on purpose: read it, within the limit
        data = sys.stdin.buffer.read(int(min(max_bytes, sys.maxsize - 1)) + 1)
        if len(data) > max_bytes:
            raise TooLarge(path, len(data), max_bytes)
        return data.decode("utf-8-sig")
    return read_text(path, max_bytes)


def why(error: BaseException, limit: str = "input_file_bytes") -> str:
    """What went wrong reading a named file, in words (for a one-line error)."""
    from .limits import LIMITS
    if isinstance(error, TooLarge):
        return LIMITS[limit].message(error.size)
    if isinstance(error, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {error.start})"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)
