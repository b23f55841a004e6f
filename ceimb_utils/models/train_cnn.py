"""Training a CIFAR ResNet in Cao et al.'s regime, fast on the hardware at hand.

The training set is one uint8 tensor and every batch is augmented on tensors (random crop
with 4-pixel padding, horizontal flip); the fast path adds the channels_last memory format;
the loss stays on the device until the end of the epoch (no per-step host synchronisation).
The precision is a setting of its own (``PRECISIONS``): fp32 by default, so that every CPU
trains the same network; ``auto`` takes bf16 autocast on CPUs with native bf16 and fp16 AMP
on CUDA. A checkpoint is written after
every epoch, so a killed run resumes where it stopped and ends with the same numbers.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import PRECISIONS, SCHEDULES
from ..files import atomic_path
from ..progress import bar
from .losses import Objective
from .remix import remix_indices, remix_lambda

PAD = 4


@dataclass(frozen=True)
class Schedule:
    """SGD with linear warm-up, scaled with the epoch count (200 in the paper), then either the
    paper's two decays (``step``: x0.01 at 80% and x0.0001 at 90% of the epochs) or a cosine
    from the full rate down to near zero in the last epoch (``cosine``)."""

    epochs: int
    lr: float = 0.1
    warmup_epochs: float = 5
    reference_epochs: int = 200
    shape: str = "step"

    def __post_init__(self):
        if self.shape not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.shape!r}; choose one of {', '.join(SCHEDULES)}.")

    @property
    def warmup(self) -> int:
        return max(1, round(self.warmup_epochs * self.epochs / self.reference_epochs))

    @property
    def decays(self) -> tuple[int, int]:
        return round(0.8 * self.epochs), round(0.9 * self.epochs)

    def lr_at(self, epoch: int) -> float:
        first, second = self.decays
        if epoch < self.warmup:
            return self.lr * (epoch + 1) / self.warmup
        if self.shape == "cosine":  # one value per epoch; the first after warm-up is the full rate
            return self.lr * 0.5 * (1 + math.cos(math.pi * (epoch - self.warmup) / max(1, self.epochs - self.warmup)))
        if epoch >= second:
            return self.lr * 1e-4
        if epoch >= first:
            return self.lr * 1e-2
        return self.lr


@dataclass
class TrainLog:
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    resumed_at: int = 0


def cpu_has_bf16() -> bool:
    return torch.backends.cpu.get_cpu_capability() in ("AVX512", "AVX512_BF16", "AMX") and (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )


def resolve_precision(precision: str, device: torch.device) -> str:
    """What ``auto`` means on this device: fp16 AMP on CUDA, bf16 on a CPU with native bf16,
    else fp32; any other value is itself."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 training needs CUDA (its loss scaling runs there); on a CPU use bf16, fp32 or fp64.")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "fp16"
    return "bf16" if cpu_has_bf16() else "fp32"


@dataclass(frozen=True)
class Precision:
    """How a training step is computed on a device."""

    channels_last: bool
    autocast_dtype: torch.dtype | None
    device_type: str
    dtype: torch.dtype = torch.float32

    @classmethod
    def choose(cls, device: torch.device, fast: bool, precision: str = "fp32") -> "Precision":
        """``fast``: channels_last; ``precision``: one of ``PRECISIONS`` (fp64 trains a float64
        model, bf16 and fp16 autocast a float32 one)."""
        name = resolve_precision(precision, device)
        if name == "fp64":
            return cls(fast, None, device.type, torch.float64)
        return cls(fast, {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name], device.type)

    @property
    def name(self) -> str:
        """The precision used (fp32, bf16, fp16 or fp64)."""
        if self.autocast_dtype is not None:
            return {torch.bfloat16: "bf16", torch.float16: "fp16"}[self.autocast_dtype]
        return "fp64" if self.dtype == torch.float64 else "fp32"

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.autocast_dtype)

    def describe(self) -> str:
        kind = {"bf16": "bf16 autocast", "fp16": "fp16 AMP"}.get(self.name, self.name)
        return f"{kind}, {'channels_last' if self.channels_last else 'NCHW'}"


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random crop of the 4-pixel zero-padded batch at the images' own size, and a random horizontal flip."""
    n, _, h, w = images.shape
    padded = F.pad(images, (PAD, PAD, PAD, PAD))
    offsets = torch.randint(0, 2 * PAD + 1, (2, n), generator=generator).to(images.device)
    flips = torch.rand(n, generator=generator).to(images.device) < 0.5
    rows = offsets[0, :, None] + torch.arange(h, device=images.device)
    cols = offsets[1, :, None] + torch.arange(w, device=images.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=images.device)[:, None, None]
    crops = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return crops.permute(0, 3, 1, 2)


def at_least_fp32(logits: torch.Tensor) -> torch.Tensor:
    """Losses are computed in fp32 under autocast and in float64 for a float64 model."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return -(targets * F.log_softmax(at_least_fp32(logits), dim=1)).sum(1).mean()


class Trainer:
    """One training step as the study (and the benchmark) runs it."""

    def __init__(self, model, optimizer, precision: Precision, device: torch.device,
                 num_classes: int, remix_alpha: float | None = None, objective: Objective = Objective()):
        self.model, self.optimizer, self.precision, self.device = model, optimizer, precision, device
        self.num_classes, self.remix_alpha, self.objective = num_classes, remix_alpha, objective
        self.scaler = torch.amp.GradScaler("cuda") if precision.autocast_dtype == torch.float16 else None
        if precision.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def step(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
             rng: np.random.Generator, epoch: int = 0) -> torch.Tensor:
        """Augment, (ReMix,) forward, backward, update; returns the loss on the device."""
        x = augment(images.to(self.device, non_blocking=True), generator)
        y = labels.to(self.device, non_blocking=True)
        if self.remix_alpha is not None:
            first, second = remix_indices(labels.numpy(), rng)  # labels live on the host: no sync
            lam = remix_lambda(self.remix_alpha, rng)
            first_t, second_t = torch.from_numpy(first).to(self.device), torch.from_numpy(second).to(self.device)
            x = x.to(self.precision.dtype).div_(255)
            x = lam * x[first_t] + (1 - lam) * x[second_t]
            onehot = F.one_hot(y, self.num_classes).to(self.precision.dtype)
            target = lam * onehot[first_t] + (1 - lam) * onehot[second_t]
        if self.precision.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with self.precision.autocast():
            logits = self.model(x)
        loss = (soft_cross_entropy(logits, target) if self.remix_alpha is not None
                else self.objective(at_least_fp32(logits), y, epoch))
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return loss.detach()


def make_optimizer(model, lr: float, momentum: float, weight_decay: float):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def train_network(model, images: np.ndarray, labels: np.ndarray, *, schedule: Schedule, batch_size: int,
                  momentum: float, weight_decay: float, seed: int, device: torch.device, fast: bool = True,
                  precision: str = "fp32", remix_alpha: float | None = None, checkpoint: Path | None = None,
                  desc: str = "train", objective: Objective = Objective()) -> TrainLog:
    """Train ``model`` in place (in ``precision``, one of ``PRECISIONS``; a float64 model
    needs fp64); resumes from ``checkpoint`` when one is there."""
    chosen = Precision.choose(device, fast, precision)
    if next(model.parameters()).dtype != chosen.dtype:
        raise ValueError(f"A {next(model.parameters()).dtype} model cannot be trained in {chosen.name}; "
                         f"build it in {chosen.dtype}.")
    model.to(device)
    precision = chosen
    optimizer = make_optimizer(model, schedule.lr, momentum, weight_decay)
    trainer = Trainer(model, optimizer, precision, device, int(labels.max()) + 1 if remix_alpha else 0, remix_alpha,
                      objective)
    x_all = torch.from_numpy(np.ascontiguousarray(images))
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    if device.type == "cuda":
        x_all = x_all.pin_memory()
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    log, start = TrainLog(), 0
    if checkpoint is not None and checkpoint.exists():
        start = _resume(checkpoint, model, optimizer, generator, rng, log)
    model.train()
    epochs = bar(range(start, schedule.epochs), desc=desc, unit="epoch", initial=start, total=schedule.epochs)
    for epoch in epochs:
        began = time.perf_counter()
        lr = schedule.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        order = torch.randperm(len(y_all), generator=generator)
        total = torch.zeros((), device=device)
        for batch in order.split(batch_size):
            total += trainer.step(x_all[batch], y_all[batch], generator, rng, epoch) * len(batch)
        log.losses.append(float(total) / len(y_all))  # the one host sync of the epoch
        log.lrs.append(lr)
        log.epoch_seconds.append(time.perf_counter() - began)
        epochs.set_postfix(loss=f"{log.losses[-1]:.3f}", lr=f"{lr:.2g}")
        if checkpoint is not None:
            _save(checkpoint, epoch + 1, model, optimizer, generator, rng, log)
    model.eval()
    return log


def _save(path: Path, epoch: int, model, optimizer, generator, rng, log: TrainLog) -> None:
    state = {"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "generator": generator.get_state(), "rng": rng.bit_generator.state,
             "log": {"losses": log.losses, "lrs": log.lrs, "epoch_seconds": log.epoch_seconds}}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _resume(path: Path, model, optimizer, generator, rng, log: TrainLog) -> int:
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # a damaged checkpoint is no checkpoint: start over
        path.unlink(missing_ok=True)
        return 0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    rng.bit_generator.state = state["rng"]
    log.losses, log.lrs, log.epoch_seconds = (list(state["log"][k]) for k in ("losses", "lrs", "epoch_seconds"))
    log.resumed_at = state["epoch"]
    return state["epoch"]
