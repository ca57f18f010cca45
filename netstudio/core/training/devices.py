"""Which devices PyTorch can train on here, and turning a device setting into a ``torch.device``."""

from __future__ import annotations

from dataclasses import dataclass

from netstudio.core.errors import ConfigError


@dataclass(frozen=True)
class DeviceInfo:
    """One device the user can pick: ``name`` as in the project (``cuda:0``) and a label for menus."""

    name: str
    label: str
    memory_bytes: int | None = None


def available_devices() -> list[DeviceInfo]:
    """CPU, then every CUDA device (by name and memory), then MPS where present."""
    import torch

    devices = [DeviceInfo("cpu", "CPU")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gib = props.total_memory / 2**30
            devices.append(DeviceInfo(f"cuda:{index}", f"cuda:{index} — {props.name} ({gib:.0f} GiB)", props.total_memory))
    if _mps_available():
        devices.append(DeviceInfo("mps", "MPS (Apple GPU)"))
    return devices


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str):
    """The ``torch.device`` for a setting: ``auto`` takes CUDA, then MPS, then the CPU.

    Raises
    ------
    ConfigError
        If the device is not available here; the message lists the ones that are.
    """
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if _mps_available():
            return torch.device("mps")
        raise ConfigError(_unavailable("mps"))
    if name == "cuda" or name.startswith("cuda:"):
        index_text = name.partition(":")[2]
        if index_text and not index_text.isdigit():
            raise ConfigError(f"device {name!r} is not a device name (use cpu, cuda, cuda:N or mps)")
        if not torch.cuda.is_available():
            raise ConfigError(_unavailable(name))
        index = int(index_text) if index_text else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise ConfigError(_unavailable(name))
        return torch.device("cuda", index)
    raise ConfigError(f"device {name!r} is not a device name (use auto, cpu, cuda, cuda:N or mps)")


def _unavailable(name: str) -> str:
    names = ", ".join(d.name for d in available_devices())
    return f"device {name} is not available on this machine (available: {names})"
