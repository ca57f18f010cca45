"""Atomic file and folder writes: a crash or a full disk never leaves a half-written file or folder behind."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
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


#: The file inside a folder being assembled that says which process assembles it (host, pid):
#: a folder whose process is gone is a leftover of a killed save, removed by the next one.
PARTIAL_MARK = ".netstudio-partial"
#: The file inside a claimed, still empty folder that says which process will fill it.
CLAIM_MARK = ".netstudio-claim"


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike, error: Callable[[str], Exception], what: str = "",
                  claimed: bool = False) -> Iterator[Path]:
    """A new temporary folder beside *target* to fill; when the block ends without an error it
    becomes *target* in one step, else it is removed and *target* is left as it was.

    *target* must be absent or an empty folder (the caller checks, before it starts the work), or
    (*claimed*) a folder this process claimed with :func:`claim_folder`, whose mark it replaces.
    The finished folder and the files in it get the modes ``mkdir`` and ``open`` would have given
    them (``mkdtemp`` makes 0700 and safetensors writes 0600). An OSError, making the folder or
    in the block, is raised as ``error("cannot write <what ><target>: <reason>")``. Temporary
    folders that a killed process left beside *target* (SIGKILL, SIGTERM, a power cut) are
    removed first (:func:`remove_stale_partials`).
    """
    target = Path(target)
    said = f"cannot write {what + ' ' if what else ''}{target}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(target.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        (tmp / PARTIAL_MARK).write_text(_owner(), encoding="utf-8")
    except OSError as exc:
        raise error(f"{said}: {exc.strerror or exc}") from None
    try:
        yield tmp
        (tmp / PARTIAL_MARK).unlink()
        mask = umask()
        for item in tmp.iterdir():
            if item.is_file() and not item.is_symlink():
                os.chmod(item, 0o666 & ~mask)
        os.chmod(tmp, 0o777 & ~mask)
        if claimed:
            (target / CLAIM_MARK).unlink(missing_ok=True)
        if target.exists():
            target.rmdir()  # empty (checked by the caller): replaced by the finished one
        os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise error(f"{said}: {exc.strerror or exc}") from None
        raise


def _owner() -> str:
    return f"{socket.gethostname()} {os.getpid()}\n"


def _owner_gone(mark: Path) -> bool:
    """Whether the process named in *mark* (``host pid``) is no longer running on this host.

    A mark from another host (a shared network folder) or one that cannot be read is kept.
    """
    try:
        host, pid = mark.read_text(encoding="utf-8").split()
        pid = int(pid)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, under another user
        return False
    return False


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the hidden folders under *folder* that a killed :func:`atomic_folder` left (their
    ``PARTIAL_MARK`` names a process that is gone), and claimed folders whose claimant is gone
    and that hold nothing else; returns what it removed."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_symlink() or not entry.is_dir():
                continue
            if entry.name.startswith(".") and _owner_gone(entry / PARTIAL_MARK):
                shutil.rmtree(entry)
                removed.append(entry)
            elif (entry / CLAIM_MARK).is_file() and _owner_gone(entry / CLAIM_MARK):
                (entry / CLAIM_MARK).unlink()
                with contextlib.suppress(OSError):
                    entry.rmdir()  # only when nothing else is in it
                removed.append(entry)
    return removed


class FolderClaim:
    """A folder taken for one writer before its long work starts (see :func:`claim_folder`)."""

    def __init__(self, path: Path, created: bool):
        self.path, self.created, self.released = path, created, False

    def release(self) -> None:
        """Give the folder back when nothing was written into it (an error, an abort)."""
        if self.released:
            return
        self.released = True
        with contextlib.suppress(OSError):
            (self.path / CLAIM_MARK).unlink()
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only if still empty

    def filled(self) -> None:
        """The folder now holds the finished work (the claim mark went with the rename)."""
        self.released = True


def claim_folder(target: str | os.PathLike, error: Callable[[str], Exception], what: str = "",
                 flag: str = "--out") -> FolderClaim:
    """Take *target* (absent or an empty folder) for this process, in one step no other process
    can take at the same time: a ``CLAIM_MARK`` file created with ``O_EXCL``.

    A second writer with the same target is refused at once, as is a target that is a file or a
    folder that holds anything. A claim whose process is gone is taken over. Errors are
    ``error(...)`` with one line.
    """
    target = Path(target).absolute()
    said = f"cannot write {what + ' ' if what else ''}{target}"
    taken = f"{target} already exists and is not empty: choose another {flag} folder"
    created = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.mkdir()
            created = True
        except FileExistsError:
            if not target.is_dir():
                raise error(f"{target} already exists and is a file, not a folder: choose another {flag} folder") from None
        mark = target / CLAIM_MARK
        if mark.exists() and _owner_gone(mark):
            mark.unlink(missing_ok=True)
        try:
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise error(f"{target} is being written by another NetStudio process: choose another {flag} folder") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_owner())
    except OSError as exc:
        raise error(f"{said}: {exc.strerror or exc}") from None
    claim = FolderClaim(target, created)
    if any(entry.name != CLAIM_MARK for entry in target.iterdir()):
        claim.release()
        raise error(taken)
    return claim


#: Files no output may replace: a project is the user's work, never a command's result.
PROTECTED_SUFFIXES = (".nsproj",)


def refuse_overwriting_inputs(out: str | os.PathLike, inputs, error: Callable[[str], Exception],
                              flag: str = "--out") -> None:
    """Refuse *out* when it is one of the files the command reads (*inputs*: paths, the same
    file under any name or link counts) or an existing project file: an output written over its
    own input, or over a project, loses it silently."""
    out = Path(out).expanduser()
    if not out.exists() or out.is_dir():
        return
    for source in inputs:
        if source is None:
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(out, source):
                what = "one of this command's inputs" if str(source) == str(out) else f"the same file as {source}"
                raise error(f"{flag} {out} is {what}: writing there would replace it; choose another file")
    if out.suffix.lower() in PROTECTED_SUFFIXES:
        raise error(f"{flag} {out} is a NetStudio project file: writing there would replace it; choose another file")


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
