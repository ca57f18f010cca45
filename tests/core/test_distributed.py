"""The pieces of torchrun training that need no second process: sharding, the environment,
device choice, error wording and the cluster command lines."""

import shlex
from collections import Counter

import pytest
import torch
from torch.utils.data import DistributedSampler

from netstudio.core.errors import ConfigError, DataError, TrainingError
from netstudio.core.training.distributed import (
    SINGLE_PROCESS,
    Distributed,
    DistributedError,
    cluster_commands,
    rank_failure,
    shard_indices,
)

SIZES = [(1, 2), (5, 2), (6, 2), (7, 3), (10, 4), (3, 4), (2, 5), (100, 8), (101, 7)]


@pytest.mark.parametrize("n, world", SIZES)
def test_shards_are_what_distributed_sampler_picks(n, world):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    for rank in range(world):
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=False)
        expected = perm[list(sampler)]  # the sampler's positions, applied to our permutation
        assert shard_indices(perm, rank, world).tolist() == expected.tolist()


@pytest.mark.parametrize("n, world", SIZES)
def test_shards_cover_the_permutation_once_plus_padding(n, world):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0)) + 1000  # values unlike positions
    shards = [shard_indices(perm, rank, world).tolist() for rank in range(world)]
    size = -(-n // world)
    assert all(len(s) == size for s in shards)  # same number of steps on every rank
    counts = Counter(v for s in shards for v in s)
    assert set(counts) == set(perm.tolist())  # nothing left out
    padding = size * world - n
    assert sum(c - 1 for c in counts.values()) == padding  # repeated only to pad...
    repeated = {v for v, c in counts.items() if c > 1}
    assert repeated <= set(perm[:padding].tolist())  # ...and only the permutation's start


def test_shard_size_matches_shards_and_one_process_keeps_everything():
    job = Distributed(rank=1, world_size=3, local_rank=1)
    perm = torch.arange(10)
    assert job.shard_size(10) == len(job.shard(perm)) == 4
    assert SINGLE_PROCESS.shard(perm) is perm and SINGLE_PROCESS.shard_size(10) == 10
    model = torch.nn.Linear(2, 1)
    assert SINGLE_PROCESS.wrap(model) is model and SINGLE_PROCESS.world_size == 1 and SINGLE_PROCESS.is_main


ENV = {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}


def test_from_env_reads_torchrun_variables():
    job = Distributed.from_env(ENV)
    assert (job.rank, job.world_size, job.local_rank, job.is_main) == (1, 4, 1, False)
    assert Distributed.from_env({**ENV, "RANK": "0"}).is_main


@pytest.mark.parametrize("env", [{}, {"PATH": "/bin"}, {**ENV, "WORLD_SIZE": "1", "RANK": "0"}])
def test_without_torchrun_or_alone_there_is_no_job(env):
    assert Distributed.from_env(env) is None


@pytest.mark.parametrize("env, words", [
    ({**ENV, "RANK": "x"}, "not a number"),
    ({k: v for k, v in ENV.items() if k != "MASTER_ADDR"}, "MASTER_ADDR"),
    ({**ENV, "RANK": "4"}, "does not fit"),
])
def test_inconsistent_variables_are_refused(env, words):
    with pytest.raises(ConfigError, match=words):
        Distributed.from_env(env)


def test_join_refuses_mps_and_unavailable_devices_before_joining():
    job = Distributed(rank=0, world_size=2, local_rank=0)
    with pytest.raises(ConfigError, match="mps cannot train under torchrun"):
        job.join("mps")
    with pytest.raises(ConfigError, match="not a device name"):
        job.join("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="not available"):
            job.join("cuda")
    assert not torch.distributed.is_initialized()


def test_rank_failures_are_one_line_with_the_rank_and_the_right_exit_status():
    data = rank_failure(3, DataError("data.csv: no such file"))
    assert str(data) == "rank 3: data.csv: no such file" and data.exit_code == 2
    failed = rank_failure(1, TrainingError("out of memory on cuda:1"))
    assert str(failed) == "rank 1: out of memory on cuda:1" and failed.exit_code == 1
    bug = rank_failure(0, ValueError("boom\nmore"))
    assert str(bug) == "rank 0: internal error: ValueError: boom (run with --debug for details)"
    gloo = RuntimeError("[/src/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection closed by peer "
                        "[127.0.0.1]:1234. This is typically caused by a remote worker crashing. GLHF!")
    lost = rank_failure(0, gloo)
    assert str(lost) == ("rank 0: stopped: lost contact with another process, which probably failed "
                         "(Connection closed by peer [127.0.0.1]:1234)") and lost.exit_code == 1
    agreed = DistributedError("rank 1: training diverged at epoch 3 (loss nan)")
    assert rank_failure(0, agreed) is agreed  # already worded for the whole job


def test_cluster_commands_single_and_multi_node(tmp_path):
    project = tmp_path / "my project.nsproj"
    commands = cluster_commands(project, nproc_per_node=4, nnodes=3, master_addr="10.0.0.1", master_port=29400)
    assert commands["single_node"] == f"torchrun --standalone --nproc_per_node=4 -m netstudio train {shlex.quote(str(project))}"
    assert commands["multi_node"] == (
        "torchrun --nnodes=3 --nproc_per_node=4 --rdzv_backend=c10d --rdzv_endpoint=10.0.0.1:29400 "
        f"--rdzv_id=my-project -m netstudio train {shlex.quote(str(project))}")
    # The path survives the shell: the argument after "train" is the project, spaces included.
    assert shlex.split(commands["multi_node"])[-1] == str(project)


def test_cluster_commands_relative_path_becomes_absolute_and_ipv6_is_bracketed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = cluster_commands("p.nsproj", 2, 2, "fe80::1", 29500)
    assert shlex.split(commands["single_node"])[-1] == str(tmp_path / "p.nsproj")
    assert "--rdzv_endpoint=[fe80::1]:29500" in commands["multi_node"]


@pytest.mark.parametrize("kwargs", [{"nproc_per_node": 0}, {"nnodes": 0}, {"master_port": 70000},
                                    {"master_addr": " "}, {"nproc_per_node": 1.5}])
def test_cluster_commands_refuse_impossible_values(kwargs):
    args = {"project_path": "p.nsproj", "nproc_per_node": 2, "nnodes": 2, "master_addr": "h", "master_port": 1, **kwargs}
    with pytest.raises(ConfigError):
        cluster_commands(**args)
