"""Atomic file and folder writes: a crash or a full disk never leaves a half-written file or folder behind."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                check: Callable[[Path], None] | None = None) -> Iterator[IO]:
    """Open a temporary file beside *path*; on success it replaces *path* in one step.

    If the block raises, the temporary file is removed and *path* is left exactly as it was.
    *check*, if given, gets the temporary file once it is written and synced to disk, before it
    replaces *path*: raising there keeps *path* as it was too.
    """
    path = Path(path)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(Path(tmp))
        _keep_permissions(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _keep_permissions(path: Path, tmp: str) -> None:
    """Give the new file the old one's mode (mkstemp creates 0600), or the usual 0644."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~umask()
    os.chmod(tmp, mode)


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike, error: Callable[[str], Exception], what: str = "") -> Iterator[Path]:
    """A new temporary folder beside *target* to fill; when the block ends without an error it
    becomes *target* in one step, else it is removed and *target* is left as it was.

    *target* must be absent or an empty folder (the caller checks, before it starts the work).
    The finished folder and the files in it get the modes ``mkdir`` and ``open`` would have given
    them (``mkdtemp`` makes 0700 and safetensors writes 0600). An OSError, making the folder or
    in the block, is raised as ``error("cannot write <what ><target>: <reason>")``.
    """
    target = Path(target)
    said = f"cannot write {what + ' ' if what else ''}{target}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise error(f"{said}: {exc.strerror or exc}") from None
    try:
        yield tmp
        mask = umask()
        for item in tmp.iterdir():
            if item.is_file() and not item.is_symlink():
                os.chmod(item, 0o666 & ~mask)
        os.chmod(tmp, 0o777 & ~mask)
        if target.exists():
            target.rmdir()  # empty (checked by the caller): replaced by the finished one
        os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise error(f"{said}: {exc.strerror or exc}") from None
        raise


_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """The process' file-creation mask.

    Read from ``/proc/self/status`` where Linux gives it. Elsewhere reading it means setting it
    and back, so a file another thread creates meanwhile could get mode 0666: the lock keeps two
    readers from leaving 0 behind, at least.
    """
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


def read_failure(name: object, exc: OSError, what: str = "file") -> str:
    """Why *name* could not be read, in a few words: ``<name>: no such <what>``, ``permission
    denied`` or ``cannot read (<reason>)``."""
    if isinstance(exc, FileNotFoundError):
        return f"{name}: no such {what}"
    if isinstance(exc, PermissionError):
        return f"{name}: permission denied"
    return f"{name}: cannot read ({exc.strerror or exc})"


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", *, verify: bool = False) -> None:
    """Write *text* to *path* atomically; with *verify*, read it back (once synced) first and keep
    *path* as it was (raising OSError) unless it reads back exactly as *text*."""
    expected = text.encode(encoding)

    def read_back(written: Path) -> None:
        if written.read_bytes() != expected:
            raise OSError(errno.EIO, "what was written did not read back the same (a full disk or a failing drive?)")

    with atomic_open(path, "w", encoding=encoding, check=read_back if verify else None) as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write *data* to *path* atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
