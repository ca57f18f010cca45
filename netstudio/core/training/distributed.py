"""Training on several processes or machines, started by ``torchrun``.

``torchrun --nproc_per_node=N -m netstudio train PROJECT`` starts N copies of the ordinary
``train`` command and tells each one its place through environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). :meth:`Distributed.from_env`
reads them; :meth:`Distributed.join` picks the process's device (``cuda:LOCAL_RANK`` with the
``nccl`` backend, or the CPU with ``gloo``) and joins the process group. The
:class:`~netstudio.core.training.trainer.Trainer` then uses a handful of methods and nothing else:

- :meth:`~Distributed.wrap` puts the model in ``DistributedDataParallel`` (gradients are averaged
  across ranks during ``backward``);
- :meth:`~Distributed.shard` takes this rank's part of the epoch's permutation, with the semantics
  of ``torch.utils.data.DistributedSampler`` (pad by repeating, then every ``world_size``-th index);
- :meth:`~Distributed.gather` shares one short row of numbers per rank (one ``all_reduce``): the
  trainer uses it at each epoch's end and every few dozen steps, so that every rank takes the same
  decisions (stop, diverged, best epoch) from the same values and none waits forever for another.

A run without ``torchrun`` uses :data:`SINGLE_PROCESS`, whose methods do nothing.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netstudio.core.errors import ConfigError, NetStudioError, TrainingError, first_line

#: How long a rank waits for the others in a collective before giving up. A dead process is
#: usually noticed much sooner (gloo sees the closed connection; torchrun stops the other
#: processes when one exits with an error); this bounds the rest, and leaves rank 0 time to
#: write the run folder and its exports while the others wait at the final barrier.
TIMEOUT = _dt.timedelta(minutes=30)


def shard_indices(perm, rank: int, world_size: int):
    """This rank's part of *perm* (a 1-D tensor), as ``DistributedSampler`` would choose it.

    *perm* is padded by repeating its start until its length is a multiple of *world_size*, then
    rank *r* takes the elements ``r, r + world_size, ...``: every rank gets the same number of
    indices (so every rank runs the same number of steps), and together they cover *perm* once
    plus the padding.
    """
    import torch

    n = perm.shape[0]
    total = math.ceil(n / world_size) * world_size
    if total != n:
        repeats = math.ceil((total - n) / n)
        perm = torch.cat([perm, perm.repeat(repeats)[:total - n]])
    return perm[rank:total:world_size]


class SingleProcess:
    """The trainer's view of an ordinary, one-process run: the data is not sharded and the model
    not wrapped (the trainer never asks it to ``gather``: with one rank there is nothing to agree)."""

    rank = 0
    local_rank = 0
    world_size = 1
    is_main = True

    def shard(self, perm):
        return perm

    def shard_size(self, n: int) -> int:
        return n

    def wrap(self, model):
        return model


SINGLE_PROCESS = SingleProcess()


@dataclass
class Distributed:
    """One process of a job started by ``torchrun``.

    Attributes
    ----------
    rank, world_size, local_rank : int
        This process's place in the job, and on its machine.
    backend : str or None
        ``nccl`` or ``gloo`` once :meth:`join` has run.
    device : torch.device or None
        This process's device once :meth:`join` has run.
    notes : list of str
        Things rank 0 should tell the user (a device setting that was adapted).
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str | None = None
    device: object = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Distributed | None:
        """The job this process belongs to, or None when it was not started by ``torchrun``
        (or was started as the only process, which trains exactly like a plain run).

        Raises
        ------
        ConfigError
            If the variables are present but inconsistent.
        """
        env = os.environ if environ is None else environ
        if "WORLD_SIZE" not in env:
            return None
        try:
            world_size, rank = int(env["WORLD_SIZE"]), int(env.get("RANK", ""))
            local_rank = int(env.get("LOCAL_RANK", rank))
        except ValueError:
            raise ConfigError("WORLD_SIZE is set but RANK or LOCAL_RANK is not a number: start several "
                              "processes with torchrun") from None
        if world_size <= 1:
            return None
        missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not env.get(name)]
        if missing:
            raise ConfigError(f"WORLD_SIZE is {world_size} but {' and '.join(missing)} not set: start several "
                              "processes with torchrun")
        if not 0 <= rank < world_size or local_rank < 0:
            raise ConfigError(f"RANK {rank} does not fit WORLD_SIZE {world_size}")
        return cls(rank, world_size, local_rank)

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes the run folder."""
        return self.rank == 0

    def describe(self) -> str:
        return f"{self.world_size} processes ({self.backend})"

    # -- joining and leaving ---------------------------------------------------------------------
    def join(self, device_setting: str, timeout: _dt.timedelta = TIMEOUT):
        """Choose this process's device for *device_setting* and join the process group.

        ``auto`` takes ``cuda:LOCAL_RANK`` where CUDA is available and the CPU otherwise;
        ``cuda`` and ``cuda:N`` both mean ``cuda:LOCAL_RANK`` (one GPU per process); ``mps`` is
        refused (PyTorch has no distributed backend for Apple GPUs).

        Returns
        -------
        torch.device

        Raises
        ------
        ConfigError
            An impossible device; TrainingError if the other processes cannot be reached.
        """
        import torch
        import torch.distributed as dist

        from netstudio.core.training.devices import resolve_device

        setting = (device_setting or "auto").strip().lower()
        if setting == "mps":
            raise ConfigError("device mps cannot train under torchrun (PyTorch has no distributed backend "
                              "for Apple GPUs): use --device cpu, or train without torchrun")
        if setting == "auto":
            use_cuda = torch.cuda.is_available()
        elif setting == "cpu":
            use_cuda = False
        else:  # what is left is cuda or cuda:N, or a name that is not a device
            resolve_device(setting)  # refuses non-devices, and CUDA where there is none
            use_cuda = True
        if use_cuda:
            count = torch.cuda.device_count()
            if self.local_rank >= count:
                raise ConfigError(f"LOCAL_RANK {self.local_rank} needs GPU cuda:{self.local_rank}, but this "
                                  f"machine has {count}: start at most {count} processes per node")
            device = torch.device("cuda", self.local_rank)
            if setting.startswith("cuda:"):
                self.notes.append(f"device {setting} is ignored under torchrun: each process uses the GPU of "
                                  "its local rank (cuda:LOCAL_RANK)")
            torch.cuda.set_device(device)
            backend = "nccl"
        else:
            device, backend = torch.device("cpu"), "gloo"
        try:
            dist.init_process_group(backend, init_method="env://", rank=self.rank, world_size=self.world_size,
                                    timeout=timeout, device_id=device if use_cuda else None)
        except (RuntimeError, ValueError) as exc:
            raise TrainingError(f"cannot join the other {self.world_size - 1} processes through "
                                f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')} "
                                f"({first_line(exc)})") from exc
        self.backend, self.device = backend, device
        return device

    def close(self, failed: bool = False) -> None:
        """Leave the process group (safe to call more than once, or before joining).

        After a *failed* collective, NCCL communicators can block while they are destroyed
        (their peer is gone), so they are left to the end of the process; gloo's are let go.
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return
        if failed and self.backend == "nccl":
            return
        dist.destroy_process_group()

    # -- what the trainer uses -------------------------------------------------------------------
    def shard_size(self, n: int) -> int:
        """How many of *n* training samples this rank sees per epoch (padding included)."""
        return math.ceil(n / self.world_size)

    def shard(self, perm):
        """This rank's part of the epoch's permutation (see :func:`shard_indices`)."""
        return shard_indices(perm, self.rank, self.world_size)

    def wrap(self, model):
        """*model* (already on :attr:`device`) in ``DistributedDataParallel``; it keeps the module
        itself as ``.module``, so the weights saved from the module carry no ``module.`` prefix."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def gather(self, row: Sequence[float]) -> list[list[float]]:
        """Every rank's *row* (numbers or 0-d tensors, the same length on every rank), in rank
        order, through one ``all_reduce`` of a ``world_size × len(row)`` float64 table in which
        each rank fills its own line. Non-finite values travel unchanged."""
        import torch
        import torch.distributed as dist

        table = torch.zeros((self.world_size, len(row)), dtype=torch.float64, device=self.device)
        table[self.rank] = torch.tensor([float(v) for v in row], dtype=torch.float64)
        dist.all_reduce(table)
        return table.tolist()

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        import torch.distributed as dist

        if self.backend == "nccl":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()


class DistributedError(NetStudioError):
    """An error in a distributed job, as one line that names the rank it comes from when it comes
    from one (``rank 1: out of memory ...``); ``exit_code`` follows the command-line contract."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def rank_failure(rank: int, exc: BaseException) -> DistributedError:
    """The one-line error that rank *rank* reports for *exc*.

    A :class:`DistributedError` is already worded for the job and passes unchanged; a
    NetStudio error keeps its message and exit status; a failed collective means that another
    process went away (it reports its own error); anything else is an internal error.
    """
    import torch.distributed as dist

    if isinstance(exc, DistributedError):
        return exc
    if isinstance(exc, NetStudioError):
        return DistributedError(f"rank {rank}: {exc}", exc.exit_code)
    if isinstance(exc, dist.DistError) or _looks_like_lost_peer(exc):
        return DistributedError(f"rank {rank}: stopped: lost contact with another process, which probably "
                                f"failed ({_backend_reason(exc)})")
    return DistributedError(f"rank {rank}: internal error: {type(exc).__name__}: {first_line(exc)} "
                            "(run with --debug for details)")


def _looks_like_lost_peer(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        mark in text for mark in ("Connection closed by peer", "Connection reset by peer", "gloo/transport", "NCCL"))


def _backend_reason(exc: BaseException) -> str:
    """The useful part of a backend error: gloo's starts with its source file and ends with advice."""
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", first_line(exc))
    return text.split(". This is typically")[0].rstrip(". ")


# ------------------------------------------------------------------------------------------------
# Command lines for the "Train on a cluster…" dialog


def cluster_commands(project_path: str | os.PathLike, nproc_per_node: int, nnodes: int = 2,
                     master_addr: str = "127.0.0.1", master_port: int = 29500) -> dict[str, str]:
    """The ``torchrun`` command lines that train *project_path* on several GPUs or machines.

    Parameters
    ----------
    project_path : path
        The saved project; written absolute, so that the command works from any folder (on a
        cluster, the project and its data must be at this path on every machine).
    nproc_per_node : int
        Processes per machine: usually its number of GPUs (or 1–4 on CPUs).
    nnodes : int
        Machines for the multi-node command.
    master_addr, master_port : str, int
        Where the machines meet (c10d rendezvous): an address of the first machine that the
        others can reach, and a free port on it.

    Returns
    -------
    dict
        ``single_node``: one machine, rendezvous on a free local port; ``multi_node``: the same
        command to run on each of the *nnodes* machines.

    Raises
    ------
    ConfigError
        For counts below 1, an empty address or a port outside 1–65535.
    """
    for name, value in (("nproc_per_node", nproc_per_node), ("nnodes", nnodes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive whole number, not {value!r}")
    if not isinstance(master_port, int) or isinstance(master_port, bool) or not 1 <= master_port <= 65535:
        raise ConfigError(f"master port must be between 1 and 65535, not {master_port!r}")
    addr = str(master_addr).strip()
    if not addr or any(c.isspace() for c in addr):
        raise ConfigError(f"master address {master_addr!r} is not a host name or address")
    path = Path(project_path).expanduser().absolute()
    train = f"-m netstudio train {shlex.quote(str(path))}"
    endpoint = f"[{addr}]:{master_port}" if ":" in addr else f"{addr}:{master_port}"
    from netstudio.core.strings import slug

    job = slug(path.stem).lower()
    return {
        "single_node": f"torchrun --standalone --nproc_per_node={nproc_per_node} {train}",
        "multi_node": (f"torchrun --nnodes={nnodes} --nproc_per_node={nproc_per_node} --rdzv_backend=c10d "
                       f"--rdzv_endpoint={endpoint} --rdzv_id={job} {train}"),
    }
