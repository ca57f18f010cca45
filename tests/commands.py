"""``python -m netstudio ARGS`` for the tests, in a new process each time, without paying for
``import torch`` each time.

The command-line tests check what a command does as a process: its exit status, its stdout and
stderr, the files it leaves. That needs a process of its own per command, and the suite starts
hundreds; a fresh interpreter spends 2-4 s of CPU importing torch, its export machinery, numpy and
pandas before NetStudio starts, most of what those processes cost. So commands run in processes
forked from a server (``multiprocessing``'s forkserver, one per test process) that has imported
those libraries and nothing else: each command's process starts from that state and then runs
exactly what ``python -m netstudio`` runs (``runpy`` of the ``netstudio`` package as ``__main__``,
the command's folder first on ``sys.path``), NetStudio and everything else imported fresh, in its
own folder, environment and standard streams, ending the way the interpreter ends (atexit
handlers, a failed flush of stdout exits 120).

Where the preloaded libraries would change the outcome, a command runs in a fresh interpreter:
``fresh=True`` (what a test of imports or start-up needs), an environment that changes what they
read at import (threads, devices, paths), a wrapping command line (``unshare``), or
``NETSTUDIO_TESTS_FRESH_PROCESSES=1`` for the whole suite (to check that the two ways agree).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Imported once by the server: what every command that trains, exports or predicts imports (torch's
# export machinery alone is ~1 s), nothing of NetStudio (a test's prelude must find it unimported,
# as in a fresh interpreter) and nothing a test hides (onnx, onnxscript, onnxruntime).
PRELOADED = ["numpy", "pandas", "torch", "torch.export", "torch.export._trace", "torch._dynamo",
             "torch._functorch.aot_autograd"]

# Environment variables that torch, numpy or pandas read when they are imported, or that decide
# what the interpreter imports: a command whose environment changes one starts afresh.
_READ_AT_IMPORT = ("PYTHON", "OMP_", "MKL_", "KMP_", "OPENBLAS", "CUDA", "TORCH", "PYTORCH", "LD_", "NUMEXPR")

_context = None


def _server():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOADED)
    return _context


def _environment(env: dict | None) -> dict:
    """*env* (the tests' own by default) with this checkout first on PYTHONPATH, so that a command runs
    this code whatever is installed."""
    base = dict(os.environ if env is None else env)
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), base.get("PYTHONPATH")]))
    return base


def _needs_a_fresh_interpreter(env: dict) -> bool:
    if os.environ.get("NETSTUDIO_TESTS_FRESH_PROCESSES"):
        return True
    server_env = _environment(None)
    changed = {key for key in set(env) | set(server_env) if env.get(key) != server_env.get(key)}
    return any(key.startswith(_READ_AT_IMPORT) for key in changed)


def netstudio(*args, cwd=None, env: dict | None = None, timeout: float = 300, prelude: str | None = None,
              wrap: list[str] | None = None, fresh: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m netstudio ARGS`` (*prelude*: Python run first in the same process, to inject a
    fault, with NetStudio not yet imported; *wrap*: a command line to run it under; *env*: the whole
    environment, the tests' own by default) and return its exit status, stdout and stderr as
    :func:`subprocess.run` would."""
    argv = [str(a) for a in args]
    env = _environment(env)
    cwd = str(cwd) if cwd is not None else os.getcwd()
    if fresh or wrap or _needs_a_fresh_interpreter(env):
        if prelude is None:
            command = [sys.executable, "-m", "netstudio", *argv]
        else:
            command = [sys.executable, "-c", _after(prelude, argv)]
        return subprocess.run([*(wrap or []), *command], capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, env=env)
    return _forked(argv, cwd, env, timeout, prelude)


def _after(prelude: str, argv: list[str]) -> str:
    """The script that runs *prelude*, then the command (``python -c`` of it is the fresh way)."""
    return prelude + f"\nimport sys\nfrom netstudio.cli import main\nsys.exit(main({argv!r}))"


def _forked(argv, cwd, env, timeout, prelude) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="netstudio-command-") as streams:
        out, err, status = Path(streams, "stdout"), Path(streams, "stderr"), Path(streams, "status")
        process = _server().Process(target=_command, args=(argv, cwd, env, prelude, str(out), str(err),
                                                           str(status)))
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["netstudio", *argv], timeout, _read(out), _read(err))
        # The status the command ended with, as it wrote it; the forkserver's own report of it can
        # come back as 255 when its pipe closes first. Killed by a signal: none written, -signal.
        code = int(status.read_text()) if status.exists() else process.exitcode
        return subprocess.CompletedProcess(["netstudio", *argv], code, _read(out), _read(err))


def _read(path: Path) -> str:
    # As subprocess.run(text=True) decodes a child's output.
    return path.read_bytes().decode(errors="strict").replace("\r\n", "\n") if path.exists() else ""


def _command(argv, cwd, env, prelude, out, err, status):
    """In the forked process: become ``python -m netstudio ARGV`` and end as the interpreter would."""
    import atexit
    import runpy
    import threading
    import traceback

    os.chdir(cwd)
    sys.path.insert(0, cwd)  # as python -m and python -c put the current folder first
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stdin = open(os.devnull, encoding="utf-8")
    code = 0
    try:
        if prelude is None:
            sys.argv = [str(REPO / "netstudio" / "__main__.py"), *argv]
            runpy.run_module("netstudio", run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *argv]
            exec(compile(_after(prelude, argv), "<string>", "exec"), {"__name__": "__main__",
                                                                       "__builtins__": __builtins__})
    except SystemExit as exc:
        code = _exit_status(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    threading._shutdown()  # the interpreter waits for the threads that are not daemons
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except Exception as exc:
        print(f"Exception ignored on flushing sys.stdout:\n{type(exc).__name__}: {exc}", file=sys.stderr)
        code = code or 120
    sys.stderr.flush()
    Path(status).write_text(str(code))
    os._exit(code)


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
