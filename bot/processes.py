"""The helpline's child processes end with it, and one data folder serves one helpline.

- On Linux every child (the private redis-server, the Rasa server) asks the kernel for a
  parent-death signal: when the process that started it ends - however it ends, kill -9
  included - the child gets SIGTERM (Redis then writes out its append-only file and
  exits). On other systems there is no such signal: a helpline that is killed leaves its
  children running, and the data-folder lock below finds and stops them at the next
  start.
- A data folder is locked (an advisory lock on a file in it) while a helpline uses it: a
  second one stops with a message naming the process that holds it. When nobody holds
  the lock but a server of a dead helpline still runs on the folder (an orphan), it is
  stopped cleanly first, so no write is lost and two servers never share one set of
  append-only files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PR_SET_PDEATHSIG = 1
LOCK_FILE = "helpline.lock"


class DataDirBusy(RuntimeError):
    """Another process holds the data folder's lock."""


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child end when this process ends (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os._exit(1)

    return preexec


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_HELD: dict[Path, int] = {}


@contextmanager
def locked(folder: Path, what: str) -> Iterator[None]:
    """Holds ``folder``'s lock while in use; DataDirBusy if another process holds it.
    Re-entrant within one process (a test restarts its own server on its own folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_FILE).resolve()
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            command = _command_of(int(holder)) if holder.isdigit() else "?"
            raise DataDirBusy(
                f"{folder} is in use by another {what} (process {holder or '?'}: {command}); "
                "stop it first, or use another data folder (HELPLINE_DATA_DIR)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[path] = 1
        try:
            yield
        finally:
            _HELD.pop(path, None)
    finally:
        os.close(fd)  # closing releases the lock


def stop_orphan(pid_file: Path, marker: str, say: Callable[[str], None]) -> bool:
    """Stops a process a dead helpline left running (its pid in ``pid_file`` and
    ``marker`` in its command line); True when there was one."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    if not alive(pid) or marker not in _command_of(pid):
        pid_file.unlink(missing_ok=True)
        return False
    say(f"==> stopping a {marker} (process {pid}) left running by a helpline that died")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def write_pid(pid_file: Path, pid: int) -> None:
    fd = os.open(pid_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{pid}\n")
