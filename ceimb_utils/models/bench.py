"""Training-speed benchmark through the study's own training step.

    python -m ceimb_utils.models.bench train --model resnet32 --batch 128 --steps 30 --json [--fp32]

Runs N training steps on synthetic CIFAR-shaped uint8 images with exactly the augmentation,
precision and update the study uses (``train_cnn.Trainer``) and prints one JSON line with
``images_per_s``. ``benchmarks/train_speed.py`` compares it with a conventional loop.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from ..config import PRECISIONS, check_arch
from ..errors import ConfigError
from ..seeding import seed_everything
from .device import describe, resolve_device
from .resnet import build_resnet
from .train_cnn import Precision, Trainer, make_optimizer


def synthetic_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, size=n)


def train_bench(model: str = "resnet32", batch: int = 128, steps: int = 30, warmup: int = 3, fast: bool = True,
                device: str = "auto", threads: int | None = None, remix_alpha: float | None = None,
                precision: str = "auto") -> dict:
    """Images per second of ``steps`` timed training steps (after ``warmup`` untimed ones);
    ``fast``: channels_last, ``precision``: one of ``config.PRECISIONS``."""
    seed_everything(0, threads)
    dev = resolve_device(device)
    images, labels = synthetic_images(batch * 8)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    chosen = Precision.choose(dev, fast, precision)
    net = build_resnet(model, 10, 3).to(device=dev, dtype=chosen.dtype)
    precision = chosen
    trainer = Trainer(net, make_optimizer(net, 0.1, 0.9, 2e-4), precision, dev, 10, remix_alpha)
    generator, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    net.train()

    def run(n_steps: int) -> torch.Tensor:
        total = torch.zeros((), device=dev)
        for step in range(n_steps):
            idx = torch.randint(0, len(y_all), (batch,), generator=generator)
            total += trainer.step(x_all[idx], y_all[idx], generator, rng)
        return total

    run(warmup)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    loss = float(run(steps))  # one host sync at the end, as in an epoch
    seconds = time.perf_counter() - started
    return {"model": model, "batch": batch, "steps": steps, "precision": precision.describe(),
            "device": describe(dev), "threads": torch.get_num_threads(), "seconds": round(seconds, 3),
            "images_per_s": round(batch * steps / seconds, 1), "mean_loss": round(loss / steps, 4)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ceimb_utils.models.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="time training steps of the study's fast path")
    train.add_argument("--model", default="resnet32")
    train.add_argument("--batch", type=int, default=128)
    train.add_argument("--steps", type=int, default=30)
    train.add_argument("--warmup", type=int, default=3)
    train.add_argument("--fp32", action="store_true", help="fp32 NCHW instead of the fast path")
    train.add_argument("--precision", default="auto", choices=PRECISIONS, help="precision of the fast path")
    train.add_argument("--device", default="auto")
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--json", action="store_true", help="print one JSON line (the default prints it too)")
    args = parser.parse_args(argv)
    try:
        check_arch(args.model)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = train_bench(args.model, args.batch, args.steps, args.warmup, not args.fp32, args.device, args.threads,
                         precision="fp32" if args.fp32 else args.precision)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
