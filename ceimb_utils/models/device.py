"""Device choice: ``auto`` takes CUDA when present and the CPU otherwise."""
from __future__ import annotations

from ..config import DEVICES, ConfigError


def resolve_device(name: str = "auto"):
    import torch  # late: checking a configuration should not import torch

    if name not in DEVICES:
        raise ConfigError(f"Unknown device {name!r}; choose one of {', '.join(DEVICES)}.")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("Device 'cuda' was asked for but torch sees no CUDA device; use 'auto' or 'cpu'.")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def describe(device) -> str:
    """A human description of the device, for run records and the book."""
    import platform

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' * (threads != 1)})"


def cpu_kernels() -> str:
    """The CPU kernels PyTorch and oneDNN use in this process. Networks trained in float32
    under two of them differ, so an image run records them and a comparison across back-ends
    (``benchmarks/verdict_stability.py``) reuses only runs built under the kernels it compares."""
    import os

    import torch

    return f"ATen {torch.backends.cpu.get_cpu_capability()}, oneDNN {os.environ.get('ONEDNN_MAX_CPU_ISA') or 'default'}"
